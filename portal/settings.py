"""Settings for the support portal: one module, every machine-specific value from the environment,
each declared once, by section. A `.env` file beside manage.py is read when present. See the
README's settings table; the environment reader and the start-up checks are in settings_support.
"""

from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from portal.settings_support import (
    API_DOCS_SETTINGS,
    Env,
    filesystem_broker_options,
    logging_config,
    settings_check,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


env = Env()
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
DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_celery_beat",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]
LOCAL_APPS = [
    "tickets",
    "history",
    "sla",
    "escalation",
    "satisfaction",
    "evidence",
    "portal",
    "portal.api",
    "inbound",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "history.middleware.HistoryActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.backoffice.middleware.StaffTimezoneMiddleware",
    "portal.web.middleware.SessionTimeoutMiddleware",
    "axes.middleware.AxesMiddleware",
    "portal.web.two_factor.TwoFactorRequiredMiddleware",
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
                "portal.web.context.nav",
            ],
        },
    },
]

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

# AUTHENTICATION
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out sign-in is refused before any password is checked.
    "portal.web.auth.ThrottledBackend",
    # Site contacts sign in with their email; usernames still work (staff in admin).
    "portal.web.auth.EmailBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Two-factor sign-in (django-otp: an authenticator app plus recovery codes). Required for every
# staff account when on; on by default where HTTPS is (production), optional for site members.
TWO_FACTOR_REQUIRED_FOR_STAFF = env.bool("TWO_FACTOR_REQUIRED_FOR_STAFF", default=HTTPS)
OTP_TOTP_ISSUER = "Rx.Health support"
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

# EMAIL
try:
    _email = env.email_url("EMAIL_URL", default="consolemail://")
except ImproperlyConfigured as exc:
    raise ImproperlyConfigured(
        f"EMAIL_URL is not valid ({exc}): use smtp://user:password@host:587, "
        "smtp+tls://..., smtp+ssl://..., or consolemail:// (the default)."
    ) from None
# Unset: one console line per email (the full message is in the notification ledger).
EMAIL_BACKEND = (
    _email["EMAIL_BACKEND"]
    if env.str("EMAIL_URL", default="")
    else "portal.mail.OneLineConsoleBackend"
)
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Rx.Health Support <support@rxhealth.example>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# PORTAL
_WORD, _EXCEL = "wordprocessingml.document", "spreadsheetml.sheet"
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
SUPPORT_PHONE = env.str("SUPPORT_PHONE", default="(646) 969-9939 option 2")
SUPPORT_QUEUE_EMAIL = env.str("SUPPORT_QUEUE_EMAIL", default="support-queue@rxhealth.example")
TICKET_REFERENCE_PREFIX = "RX-"
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENT_ALLOWED_TYPES = env.list(
    "ATTACHMENT_ALLOWED_TYPES",
    default=["application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain"]
    + ["text/csv", "application/zip"]
    + [f"application/vnd.openxmlformats-officedocument.{t}" for t in (_WORD, _EXCEL)],
)
SLA_SCAN_INTERVAL_SECONDS = env.int("SLA_SCAN_INTERVAL_SECONDS", default=60)
PORTAL_DASHBOARD_PAGE_SIZE = 25

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

# EVIDENCE (tamper-evident SLA chains, who looked, the monthly evidence pack)
# How long evidence is kept after a ticket is done; the purge command removes nothing unless
# asked (`purge_evidence --confirm`). Seven years by default.
EVIDENCE_RETENTION_DAYS = env.int("EVIDENCE_RETENTION_DAYS", default=7 * 365 + 2)
# How often beat seals new facts into the chains (they are also sealed after every scan and
# delivery pass).
EVIDENCE_SEAL_INTERVAL_SECONDS = env.int("EVIDENCE_SEAL_INTERVAL_SECONDS", default=300)

# ESCALATION
# How long the acknowledgement link in an escalation email works.
ESCALATION_ACK_MAX_AGE_HOURS = env.int("ESCALATION_ACK_MAX_AGE_HOURS", default=72)
# How long the good/bad rating links in a "resolved" email work.
RATING_LINK_MAX_AGE_DAYS = env.int("RATING_LINK_MAX_AGE_DAYS", default=30)

# NOTIFICATIONS (the outbox) AND THE SLA SCAN
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
NOTIFICATION_GROUP_MAX = env.int("NOTIFICATION_GROUP_MAX", default=500)
# How many due tickets one scan transaction claims at a time.
SLA_SCAN_BATCH_SIZE = env.int("SLA_SCAN_BATCH_SIZE", default=1000)
# How many batches a scan pass works on at once on PostgreSQL (forked processes, or threads
# beside other threads; one connection each).
SLA_SCAN_LANES = env.int("SLA_SCAN_LANES", default=2)

# CELERY
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded broker: web, worker and beat need nothing else running.
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(VAR_DIR / "broker")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Every task ends: a warning (SoftTimeLimitExceeded) after the soft limit, killed at the hard
# one. Longer than a delivery pass's lease and a scan's batches, so only a stuck task meets them.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=900)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=960)

# REST FRAMEWORK AND THE API
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
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
# The interactive API docs (drf-spectacular), served from this host only.
SPECTACULAR_SETTINGS = API_DOCS_SETTINGS
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

# LOGGING (plain lines on the console; database and 4xx noise kept out)
LOGGING = logging_config(level=env.str("LOG_LEVEL", default="INFO"))


# VALIDATION: a typo stops the process at start with one clear line, not later in a request.
settings_check(
    SUPPORT_QUEUE_EMAIL=SUPPORT_QUEUE_EMAIL,
    DEFAULT_FROM_EMAIL=DEFAULT_FROM_EMAIL,
    INBOUND_REPLY_ADDRESS=INBOUND_REPLY_ADDRESS,
    INBOUND_IMAP_URL=INBOUND_IMAP_URL,
    PORTAL_BASE_URL=PORTAL_BASE_URL,
    DATABASE_ENGINE=DATABASES["default"]["ENGINE"],
    DATABASE_URL=env.str("DATABASE_URL", default=""),
    CELERY_BROKER_URL=CELERY_BROKER_URL,
    CELERY_TASK_SOFT_TIME_LIMIT=CELERY_TASK_SOFT_TIME_LIMIT,
    CELERY_TASK_TIME_LIMIT=CELERY_TASK_TIME_LIMIT,
    EVIDENCE_RETENTION_DAYS=EVIDENCE_RETENTION_DAYS,
    SLA_SCAN_BATCH_SIZE=SLA_SCAN_BATCH_SIZE,
    SLA_SCAN_LANES=SLA_SCAN_LANES,
)
