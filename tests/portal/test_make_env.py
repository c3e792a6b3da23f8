import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def make_env() -> dict[str, str]:
    output = subprocess.run(
        [sys.executable, "scripts/make_env.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    pairs = (line.split("=", 1) for line in output.splitlines() if line and line[0] != "#")
    return dict(pairs)


def test_make_env_writes_a_fresh_strong_key_for_a_local_non_debug_demo():
    first, second = make_env(), make_env()
    assert len(first["SECRET_KEY"]) >= 50
    assert first["SECRET_KEY"] != second["SECRET_KEY"]
    assert first["DEBUG"] == "false"
    assert first["HTTPS"] == "false"
    assert first["ALLOWED_HOSTS"] == "127.0.0.1,localhost"
