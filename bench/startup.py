"""Benchmark: how fast a process of the portal starts, as cron or beat starts them.

    DATABASE_URL=postgres://... CELERY_BROKER_URL=redis://... python bench/startup.py

In a throwaway database (test_<name>) that it creates, migrates and drops, it times, each the
median of seven runs in fresh processes: the interpreter alone, `django.setup()`, and
`manage.py run_sla_scan` with nothing due (the pass, delivery of nothing, its seal published
to CELERY_BROKER_URL, the seal). The last line is
`startup_setup_s=… run_sla_scan_noop_s=…`. The environment should be byte-compiled, as
`make venv` leaves it: without bytecode every process compiles its dependencies and the
project again.
"""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from bench._throwaway import throwaway_database  # noqa: E402

RUNS = 7
SETUP = "import django; django.setup()"


def seconds(args: list[str], env: dict[str, str]) -> float:
    """The median wall time of `args` over RUNS fresh processes (each must succeed)."""
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/startup.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    url = os.environ["DATABASE_URL"]
    with throwaway_database():
        name = connection.settings_dict["NAME"]
        env = dict(os.environ, DATABASE_URL=urlunsplit(urlsplit(url)._replace(path=f"/{name}")))
        connection.close()
        python = sys.executable
        bare = seconds([python, "-c", "pass"], env)
        setup = seconds([python, "-c", SETUP], env)
        scan = seconds([python, "manage.py", "run_sla_scan"], env)
    print(f"interpreter alone: {bare:.2f} s (median of {RUNS})")
    print(f"django.setup(): {setup:.2f} s")
    print(f"run_sla_scan, nothing due: {scan:.2f} s")
    print(f"startup_setup_s={setup:.2f} run_sla_scan_noop_s={scan:.2f}")


if __name__ == "__main__":
    main()
