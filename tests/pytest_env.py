"""The few test overrides of the one settings module, applied before Django starts.

Loaded by `-p tests.pytest_env` in pyproject's pytest options. The real environment wins
(CI passes DATABASE_URL and CELERY_BROKER_URL), except where a test must not depend on it.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)
os.environ.setdefault("DEBUG", "false")
os.environ["EMAIL_URL"] = "consolemail://"  # pytest-django swaps in the locmem backend
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("PORTAL_BASE_URL", "https://support.rxhealth.example")
os.environ.setdefault("SUPPORT_QUEUE_EMAIL", "queue@rxhealth.example")
os.environ.setdefault(
    "MEDIA_ROOT", os.path.join(os.path.dirname(__file__), "..", "var", "test-media")
)
