"""Settings for the support portal: one module, every machine-specific value from the environment.

A `.env` file beside manage.py is read when present. See the README's settings table.
"""

from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import URLValidator, validate_email

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


class _Env(environ.Env):
    """django-environ that reports a value it cannot read (ATTACHMENT_MAX_BYTES=10MB) as a
    configuration error naming the variable, rather than a bare ValueError."""

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{var} is not valid: {exc}.") from None


env = _Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)

# GENERAL
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment or in .env "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=true for local development."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"  # noqa: S105
# Loopback only unless told otherwise: safe, and the local demo works with DEBUG off.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
TIME_ZONE = "UTC"
USE_TZ = True
# One date format everywhere ("Wed 25 Nov 2026, 14:30 EST"): portal/formats/en/formats.py.
FORMAT_MODULE_PATH = ["portal.formats"]
USE_I18N = True
LANGUAGE_CODE = "en-us"
ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# DATABASES
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file on the embedded setup: WAL and immediate
    # transactions keep them from failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# CACHES
# API throttles and login lockouts count in the cache: give every process the same one in
# production (CACHE_URL=redis://127.0.0.1:6379/1); the default is per process.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# APPS
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_celery_beat",
    "tickets",
    "sla",
    "escalation",
    "portal",
    "portal.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.backoffice.middleware.StaffTimezoneMiddleware",
]

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

# AUTHENTICATION
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# STATIC AND MEDIA (served locally: hospitals run air-gapped networks)
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
if Path(STATIC_ROOT).is_relative_to(VAR_DIR):
    # Before the first collectstatic, so WhiteNoise does not warn about a missing folder.
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# SECURITY
HTTPS = env.bool("HTTPS", default=False)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): everything from this host only, never inline script.
# Inline style attributes are allowed for Django admin's widgets; no other host is ever named
# (hospitals run air-gapped networks).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Browser features no page here uses (portal.headers).
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# EMAIL
try:
    vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
except ImproperlyConfigured as exc:
    raise ImproperlyConfigured(
        f"EMAIL_URL is not valid ({exc}): use smtp://user:password@host:587, "
        "smtp+tls://..., smtp+ssl://..., or consolemail:// (the default)."
    ) from None
if not env.str("EMAIL_URL", default=""):
    # Unset: one console line per email (the full message is in the notification ledger).
    EMAIL_BACKEND = "portal.mail.OneLineConsoleBackend"
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Rx.Health Support <support@rxhealth.example>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# PORTAL
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
SUPPORT_PHONE = env.str("SUPPORT_PHONE", default="(646) 969-9939 option 2")
SUPPORT_QUEUE_EMAIL = env.str("SUPPORT_QUEUE_EMAIL", default="support-queue@rxhealth.example")
TICKET_REFERENCE_PREFIX = "RX-"
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENT_ALLOWED_TYPES = env.list(
    "ATTACHMENT_ALLOWED_TYPES",
    default=[
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "text/plain",
        "text/csv",
        "application/zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ],
)
SLA_SCAN_INTERVAL_SECONDS = env.int("SLA_SCAN_INTERVAL_SECONDS", default=60)


# INBOUND MAIL (replies by email)
# The support mailbox replies are read from: imaps://user:password@host[:port]/FOLDER (or
# imap:// on a trusted network). Off when unset.
INBOUND_IMAP_URL = env.str("INBOUND_IMAP_URL", default="")
# The address replies go to; outgoing email carries its signed plus-address per ticket.
INBOUND_REPLY_ADDRESS = env.str("INBOUND_REPLY_ADDRESS", default=parseaddr(DEFAULT_FROM_EMAIL)[1])
INBOUND_FETCH_INTERVAL_SECONDS = env.int("INBOUND_FETCH_INTERVAL_SECONDS", default=60)
# At most this many answers (refusals, "use the portal") to one sender per hour.
INBOUND_ANSWERS_PER_SENDER_PER_HOUR = env.int("INBOUND_ANSWERS_PER_SENDER_PER_HOUR", default=3)
# Messages one pass reads at most; the rest wait for the next pass.
INBOUND_FETCH_BATCH_SIZE = env.int("INBOUND_FETCH_BATCH_SIZE", default=100)
INBOUND_IMAP_TIMEOUT_SECONDS = env.int("INBOUND_IMAP_TIMEOUT_SECONDS", default=30)
INSTALLED_APPS += ["inbound"]

# ESCALATION
# How long the acknowledgement link in an escalation email works.
ESCALATION_ACK_MAX_AGE_HOURS = env.int("ESCALATION_ACK_MAX_AGE_HOURS", default=72)

# PORTAL WEB (the client portal: sign-in, sessions, login throttling)
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["portal.web.middleware.SessionTimeoutMiddleware", "axes.middleware.AxesMiddleware"]
# Two-factor sign-in (django-otp: an authenticator app plus recovery codes). Required for every
# staff account when on; on by default where HTTPS is (production), optional for site members.
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_otp.middleware.OTPMiddleware",
)
MIDDLEWARE += ["portal.web.two_factor.TwoFactorRequiredMiddleware"]
TWO_FACTOR_REQUIRED_FOR_STAFF = env.bool("TWO_FACTOR_REQUIRED_FOR_STAFF", default=HTTPS)
OTP_TOTP_ISSUER = "Rx.Health support"
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out sign-in is refused before any password is checked.
    "portal.web.auth.ThrottledBackend",
    # Site contacts sign in with their email; usernames still work (staff in admin).
    "portal.web.auth.EmailBackend",
]
# Signed out after this many minutes without a request, and this many hours after signing in.
SESSION_IDLE_TIMEOUT_MINUTES = env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=30)
SESSION_ABSOLUTE_TIMEOUT_HOURS = env.int("SESSION_ABSOLUTE_TIMEOUT_HOURS", default=12)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT_HOURS * 3600
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Failures count per account (however the email is spelled, or by username) at every door:
# the portal's sign-in, admin's and the two-factor step; a locked account is locked from any
# address until the cool-off ends. Failures also count per client address over all accounts
# (one password tried against many accounts).
AXES_USERNAME_CALLABLE = "portal.web.auth.sign_in_identity"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = 1 if env.bool("BEHIND_TLS_PROXY", default=False) else None
PORTAL_DASHBOARD_PAGE_SIZE = 25
TEMPLATES[0]["OPTIONS"]["context_processors"].append("portal.web.context.nav")


# SLA
# The outbox: a failed delivery is retried after BASE, 2*BASE, 4*BASE... seconds (at most
# MAX_DELAY), and marked failed after MAX_ATTEMPTS attempts.
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=5)
NOTIFICATION_RETRY_BASE_SECONDS = env.int("NOTIFICATION_RETRY_BASE_SECONDS", default=60)
NOTIFICATION_RETRY_MAX_DELAY_SECONDS = env.int("NOTIFICATION_RETRY_MAX_DELAY_SECONDS", default=3600)
# A delivery pass claims up to BATCH_SIZE due rows for LEASE_SECONDS (it stops sending before
# the lease runs out; rows of a pass that died are claimed again after it); one message lists
# at most GROUP_MAX tickets for one recipient.
NOTIFICATION_BATCH_SIZE = env.int("NOTIFICATION_BATCH_SIZE", default=200)
NOTIFICATION_LEASE_SECONDS = env.int("NOTIFICATION_LEASE_SECONDS", default=300)
NOTIFICATION_GROUP_MAX = env.int("NOTIFICATION_GROUP_MAX", default=200)
# How many due tickets one scan transaction claims at a time.
SLA_SCAN_BATCH_SIZE = env.int("SLA_SCAN_BATCH_SIZE", default=500)

# CELERY
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded broker: kombu's filesystem transport, one folder for in and out,
    # so web, worker and beat need nothing else running.
    # Messages and the exchange table in folders of their own under var/ (kombu would put
    # the table in ./control, relative to whatever folder a process was started from).
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("messages", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "messages"),
        "data_folder_out": str(_broker_dir / "messages"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"


# VALIDATION: values from outside are checked here, so a typo stops the process at start
# with one clear line instead of failing later inside a request or a worker.
def _refuse(name: str, value: object, expected: str) -> None:
    raise ImproperlyConfigured(f"{name}={value!r} is not valid: {expected}.")


for _name in ("SUPPORT_QUEUE_EMAIL", "DEFAULT_FROM_EMAIL"):
    # DEFAULT_FROM_EMAIL may carry a display name: "Rx.Health Support <support@...>".
    _address = parseaddr(vars()[_name])[1]
    try:
        validate_email(_address)
    except ValidationError:
        _refuse(_name, vars()[_name], "give an email address such as support@example.org")

_address = parseaddr(INBOUND_REPLY_ADDRESS)[1]
try:
    validate_email(_address)
except ValidationError:
    _refuse("INBOUND_REPLY_ADDRESS", INBOUND_REPLY_ADDRESS, "give an address such as support@...")
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
    _refuse("PORTAL_BASE_URL", PORTAL_BASE_URL, "give the portal's address, https://host[:port]")

if DATABASES["default"]["ENGINE"] not in (
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
):
    _refuse(
        "DATABASE_URL",
        env.str("DATABASE_URL", default="").split("://", 1)[0] + "://...",
        "use postgres://user:password@host:5432/name or sqlite:////absolute/path.sqlite3",
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

# REST FRAMEWORK
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Rx.Health support portal API",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# API
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=25)
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=100)
# Lists count at most this many results (then `count_capped` is true), so a page costs the
# same however many tickets there are; every page stays reachable.
API_COUNT_LIMIT = env.int("API_COUNT_LIMIT", default=1_000)
# DRF rate strings ("120/min"): per API token, per user (all their tokens and the session),
# and invalid bearer tokens per client address (past it: 429 with Retry-After).
API_THROTTLE_RATES = {
    "token": env.str("API_THROTTLE_TOKEN_RATE", default="600/min"),
    "user": env.str("API_THROTTLE_USER_RATE", default="1200/min"),
    "token_failure": env.str("API_THROTTLE_TOKEN_FAILURE_RATE", default="20/min"),
}
API_WEBHOOK_TIMEOUT_SECONDS = env.int("API_WEBHOOK_TIMEOUT_SECONDS", default=10)
REST_FRAMEWORK.update(
    {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "portal.api.authentication.BearerTokenAuthentication",
            "rest_framework.authentication.SessionAuthentication",
        ],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "DEFAULT_THROTTLE_CLASSES": [
            "portal.api.throttling.TokenRateThrottle",
            "portal.api.throttling.UserRateThrottle",
        ],
        "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.ApiPagination",
        "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
        "DEFAULT_PARSER_CLASSES": [
            "portal.api.parsers.JSONBodyParser",
            "rest_framework.parsers.FormParser",
            "rest_framework.parsers.MultiPartParser",
        ],
        "EXCEPTION_HANDLER": "portal.api.exceptions.api_exception_handler",
        "DEFAULT_RENDERER_CLASSES": [
            "rest_framework.renderers.JSONRenderer",
            "rest_framework.renderers.BrowsableAPIRenderer",
        ],
        "TEST_REQUEST_DEFAULT_FORMAT": "json",
    }
)
SPECTACULAR_SETTINGS.update(
    {
        "DESCRIPTION": (
            "The Rx.Health support portal for integrators: file and follow tickets, comment, "
            "attach files and read SLA state. Authenticate with `Authorization: Bearer <token>`."
        ),
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
)

# LOGGING
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A refused or missing page (403, 404) is the portal working as meant, not a fault:
        # log server errors only, so operators see what needs them.
        "django.request": {"level": "ERROR"},
    },
}
