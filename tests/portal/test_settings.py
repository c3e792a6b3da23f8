"""The settings module refuses to start on a missing or wrong setting, with one clear line, and
a production-like configuration passes Django's deployment checks. Each case starts a fresh
interpreter, since settings are read once per process."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_mode_refuses_to_start_without_secret_key():
    # An empty SECRET_KEY in the environment also wins over a local .env file.
    result = manage("check", DEBUG="false", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_mode_starts_without_secret_key():
    result = manage("check", DEBUG="true", SECRET_KEY="")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("SUPPORT_QUEUE_EMAIL", "support queue", "SUPPORT_QUEUE_EMAIL='support queue'"),
        ("DEFAULT_FROM_EMAIL", "Rx.Health <nowhere>", "DEFAULT_FROM_EMAIL"),
        ("PORTAL_BASE_URL", "support.rxhealth.example", "PORTAL_BASE_URL"),
        (
            "CELERY_BROKER_URL",
            "kafka://user:hunter2@broker:9092",
            "CELERY_BROKER_URL='kafka://...'",
        ),
        ("DATABASE_URL", "mysqlx://user:hunter2@db/portal", "DATABASE_URL='mysqlx://...'"),
        ("EMAIL_URL", "pigeon://loft", "EMAIL_URL is not valid"),
        ("ATTACHMENT_MAX_BYTES", "10MB", "ATTACHMENT_MAX_BYTES is not valid"),
        ("CELERY_TASK_SOFT_TIME_LIMIT", "5000", "below CELERY_TASK_TIME_LIMIT (960)"),
        ("SLA_SCAN_BATCH_SIZE", "0", "SLA_SCAN_BATCH_SIZE=0 is not valid"),
        ("SLA_SCAN_LANES", "40", "SLA_SCAN_LANES=40 is not valid: give 1 to 8"),
    ],
)
def test_a_wrong_setting_stops_the_process_with_a_clear_message(name, value, shown):
    result = manage("check", **{name: value})
    assert result.returncode != 0
    assert shown in result.stderr
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr  # passwords in URLs are never echoed


def test_production_like_settings_pass_the_deployment_checks():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        HTTPS="true",
        ALLOWED_HOSTS="support.rxhealth.example",
        DATABASE_URL="postgres://portal:secret@db.internal:5432/portal",
        CELERY_BROKER_URL="redis://redis.internal:6379/0",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_every_task_has_a_soft_and_a_hard_time_limit_from_the_environment():
    shown = "from portal.celery import app; c = app.conf; "
    shown += "print(c.task_soft_time_limit, c.task_time_limit)"
    result = manage(
        "shell",
        "-v",
        "0",
        "-c",
        shown,
        CELERY_TASK_SOFT_TIME_LIMIT="100",
        CELERY_TASK_TIME_LIMIT="130",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["100", "130"]
    result = manage("shell", "-v", "0", "-c", shown)
    assert result.stdout.split() == ["900", "960"]


def test_installed_apps_are_djangos_then_third_party_then_ours():
    shown = "from django.conf import settings as s; "
    shown += "print(s.INSTALLED_APPS == s.DJANGO_APPS + s.THIRD_PARTY_APPS + s.LOCAL_APPS)"
    result = manage("shell", "-v", "0", "-c", shown)
    assert result.stdout.split() == ["True"], result.stderr
