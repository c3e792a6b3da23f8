"""What portal/settings.py needs besides declarations: the environment reader, the embedded
broker's folders, the logging and API-docs dictionaries, and the checks of values from
outside, run once as the settings load: a value that cannot work stops the process at start
with one line naming the variable and what it takes (never the value itself where it may hold
a password: only its scheme is shown)."""

from email.utils import parseaddr
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import URLValidator, validate_email


class Env(environ.Env):
    """django-environ that reports a value it cannot read (ATTACHMENT_MAX_BYTES=10MB) as a
    configuration error naming the variable, rather than a bare ValueError."""

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{var} is not valid: {exc}.") from None


def filesystem_broker_options(broker_dir: Path) -> dict:
    """kombu's filesystem transport, one folder for in and out, and the exchange table in a
    folder of its own (kombu would put it in ./control, relative to where a process started)."""
    for folder in ("messages", "control"):
        (broker_dir / folder).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(broker_dir / "messages"),
        "data_folder_out": str(broker_dir / "messages"),
        "control_folder": str(broker_dir / "control"),
        "store_processed": False,
    }


def _refuse(name: str, value: object, expected: str) -> None:
    raise ImproperlyConfigured(f"{name}={value!r} is not valid: {expected}.")


def settings_check(
    *,
    SUPPORT_QUEUE_EMAIL: str,  # named as the settings they check
    DEFAULT_FROM_EMAIL: str,
    INBOUND_REPLY_ADDRESS: str,
    INBOUND_IMAP_URL: str,
    PORTAL_BASE_URL: str,
    DATABASE_ENGINE: str,
    DATABASE_URL: str,
    CELERY_BROKER_URL: str,
    CELERY_TASK_SOFT_TIME_LIMIT: int,
    CELERY_TASK_TIME_LIMIT: int,
    EVIDENCE_RETENTION_DAYS: int,
    SLA_SCAN_BATCH_SIZE: int,
    SLA_SCAN_LANES: int,
) -> None:
    """Raise ImproperlyConfigured for the first value that cannot work."""
    # DEFAULT_FROM_EMAIL may carry a display name: "Rx.Health Support <support@...>".
    for _name, _value in (
        ("SUPPORT_QUEUE_EMAIL", SUPPORT_QUEUE_EMAIL),
        ("DEFAULT_FROM_EMAIL", DEFAULT_FROM_EMAIL),
    ):
        try:
            validate_email(parseaddr(_value)[1])
        except ValidationError:
            _refuse(_name, _value, "give an email address such as support@example.org")

    _address = parseaddr(INBOUND_REPLY_ADDRESS)[1]
    try:
        validate_email(_address)
    except ValidationError:
        _refuse(
            "INBOUND_REPLY_ADDRESS", INBOUND_REPLY_ADDRESS, "give an address such as support@..."
        )
    if "+" in _address.split("@", 1)[0]:
        _refuse("INBOUND_REPLY_ADDRESS", INBOUND_REPLY_ADDRESS, "give the address without a +tag")

    if INBOUND_IMAP_URL:
        _imap_scheme, _, _imap_rest = INBOUND_IMAP_URL.partition("://")
        if _imap_scheme not in ("imap", "imaps") or not _imap_rest.rpartition("@")[2].strip("/"):
            _refuse(
                "INBOUND_IMAP_URL",
                # Only the scheme: the rest may hold a password.
                (_imap_scheme if _imap_rest else INBOUND_IMAP_URL[:8]) + "://...",
                "use imaps://user:password@host[:port]/INBOX, or leave it unset to turn it off",
            )

    try:
        URLValidator(schemes=["http", "https"])(PORTAL_BASE_URL)
    except ValidationError:
        _refuse(
            "PORTAL_BASE_URL", PORTAL_BASE_URL, "give the portal's address, https://host[:port]"
        )

    if DATABASE_ENGINE not in (
        "django.db.backends.postgresql",
        "django.db.backends.sqlite3",
    ):
        _refuse(
            "DATABASE_URL",
            DATABASE_URL.split("://", 1)[0] + "://...",
            "use postgres://user:password@host:5432/name or sqlite:////absolute/path.sqlite3",
        )

    if SLA_SCAN_BATCH_SIZE < 1:
        _refuse("SLA_SCAN_BATCH_SIZE", SLA_SCAN_BATCH_SIZE, "give a number of tickets, 1 or more")
    if not 1 <= SLA_SCAN_LANES <= 8:
        _refuse(
            "SLA_SCAN_LANES",
            SLA_SCAN_LANES,
            "give 1 to 8 (each lane holds a database connection during a scan pass)",
        )

    if EVIDENCE_RETENTION_DAYS < 1:
        _refuse(
            "EVIDENCE_RETENTION_DAYS", EVIDENCE_RETENTION_DAYS, "give a number of days, 1 or more"
        )

    _broker_scheme = CELERY_BROKER_URL.split("://", 1)[0] if "://" in CELERY_BROKER_URL else ""
    if _broker_scheme not in ("filesystem", "redis", "rediss", "amqp", "amqps", "pyamqp", "memory"):
        _refuse(
            "CELERY_BROKER_URL",
            # Only the scheme: the rest may hold a password.
            (_broker_scheme or CELERY_BROKER_URL[:20]) + "://...",
            "use redis://host:6379/0, amqp://user:password@host:5672//, or leave it unset "
            "for the embedded on-disk broker",
        )

    if not 0 < CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT:
        _refuse(
            "CELERY_TASK_SOFT_TIME_LIMIT",
            CELERY_TASK_SOFT_TIME_LIMIT,
            f"give seconds above 0 and below CELERY_TASK_TIME_LIMIT ({CELERY_TASK_TIME_LIMIT})",
        )


# drf-spectacular's settings for the API schema and its interactive docs (SPECTACULAR_SETTINGS).
API_DOCS_SETTINGS: dict[str, Any] = {
    "TITLE": "Rx.Health support portal API",
    "VERSION": "1.0.0",
    "DESCRIPTION": (
        "The Rx.Health support portal for integrators: file and follow tickets, comment, "
        "attach files and read SLA state. Authenticate with `Authorization: Bearer <token>`."
    ),
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    # No validator badge: Swagger UI would fetch it from another host (air-gapped sites).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "tickets.models.Status",
        "MajorIncidentStatusEnum": "tickets.models.MajorIncident.Status",
    },
}


def logging_config(*, level: str) -> dict[str, Any]:
    """LOGGING: plain lines on the console at `level`; SQL and refused pages stay quiet."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # A refused or missing page (403, 404) is the portal working as meant, not a fault:
            # log server errors only, so operators see what needs them.
            "django.request": {"level": "ERROR"},
        },
    }
