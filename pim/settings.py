"""PIM settings: one module, configured by the environment (django-environ).

Without any environment the portal runs on embedded parts: SQLite under var/ (WAL, IMMEDIATE
transactions), Celery on kombu's filesystem transport under var/, e-mail to the console.
DATABASE_URL, CELERY_BROKER_URL, EMAIL_URL, CACHE_URL, SECRET_KEY, ALLOWED_HOSTS and DEBUG switch
to production parts.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("PIM_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost", "[::1]"]),
)

DEBUG = env("DEBUG")
# HTTPS=true (the default when DEBUG is off) turns on secure cookies, HSTS and the SSL redirect.
HTTPS = env.bool("HTTPS", default=not DEBUG)
# Demo mode shows the demo logins on the login page; on by default only with DEBUG.
DEMO_MODE = env.bool("DEMO_MODE", default=DEBUG)

SECRET_KEY = env("SECRET_KEY", default="django-insecure-dev-only-change-me")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "pim",
    "tickets",
    "sla",
    "escalation",
    "changes",
    "intake",
    "problems",
    "maintenance",
    "reviews",
    "billing",
    "privacy",
    "demo",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # full-text search (tickets.queries); inert on SQLite
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    # one read of the configuration's generation per request (pim/config_cache.py)
    "pim.config_cache.ConfigCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "pim.security.headers.PermissionsPolicyMiddleware",
    "pim.middleware.CookieBoundaryMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "pim.middleware.UserLanguageMiddleware",
    "pim.security.middleware.TwoFactorMiddleware",
    "pim.middleware.TenantScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # The input boundary (pim/inputs.py): last, so a refusal is a page in the user's layout and
    # language; nothing above reads the body or looks anything up by the path.
    "pim.middleware.RequestSizeLimitMiddleware",
    "pim.middleware.InputBoundaryMiddleware",
]

ROOT_URLCONF = "pim.urls"
WSGI_APPLICATION = "pim.wsgi.application"
AUTH_USER_MODEL = "pim.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "pim.context_processors.portal",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------------------
# DATABASE_POOLER=pgbouncer: PgBouncer in transaction mode between the app and PostgreSQL (no
# session state may outlive a transaction): no server-side cursors, no persistent connections
# (Django's documentation), and no prepared statements (psycopg prepares repeated ones).
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")


def _database(url):
    config = env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config.setdefault("OPTIONS", {}).update(
            {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
            }
        )
    else:
        config.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
        config.setdefault("CONN_HEALTH_CHECKS", True)
    if DATABASE_POOLER == "pgbouncer":
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
        config["CONN_MAX_AGE"] = 0
        config.setdefault("OPTIONS", {})["prepare_threshold"] = None
    return config


_database_url = env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'pim.sqlite3'}")
# DATABASE_REPLICA_URL: a read replica of it; reads under pim.routers.replica_reads() (reports,
# dashboards, exports) go there. Without one the `replica` alias is the primary's settings and
# nothing is routed to it; the tests mirror it onto the test database.
DATABASE_REPLICA = bool(env.str("DATABASE_REPLICA_URL", default=""))
DATABASES = {
    "default": _database(_database_url),
    "replica": {
        **_database(env.str("DATABASE_REPLICA_URL", default=_database_url)),
        "TEST": {"MIRROR": "default"},
    },
}
DATABASE_ROUTERS = ["pim.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The embedded default is a file cache under var/ so web, worker and beat share it (the beat
# heartbeat in /healthz, the configuration generation); production sets CACHE_URL to Redis.
CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}
if CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache":
    # Redis down must not take the portal down: the cache holds nothing the portal cannot do
    # without (the configuration generation, the beat heartbeat, throttle counters), so a Redis
    # error is a logged miss (django-redis IGNORE_EXCEPTIONS) and tickets are still written
    # (configuration is then read from the database each time); throttles do not count while
    # Redis is away (tests/integration/test_faults.py).
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 2}
    )
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

# --- auth ---------------------------------------------------------------------------------
# How many reverse proxies of our own stand in front of the application. 0 (the default): the
# client address is REMOTE_ADDR and X-Forwarded-For is ignored; n: the address the outermost of
# our n proxies saw (the n-th entry from the right of X-Forwarded-For). Every throttle and
# sign-in limit counts by that address (pim.security.clientip), DRF's through NUM_PROXIES.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Brute force (pim.security.bruteforce): after this many wrong passwords for one account from one
# address (or for any accounts from one address), or password-reset requests from one address,
# the next try waits a minute, doubling with every further failure up to an hour.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env.int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", default=50)
PASSWORD_RESET_LIMIT = env.int("PASSWORD_RESET_LIMIT", default=10)
# Two-factor login (pim.security.twofactor): TOTP apps name the account "PIM:<username>".
OTP_TOTP_ISSUER = "PIM"
# Nobody reads a TOTP secret back, admins neither: the admin shows no key and no QR code.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
AUTHENTICATION_BACKENDS = [
    "pim.security.bruteforce.BruteForceBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- i18n ---------------------------------------------------------------------------------
LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", _("Dutch")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True

# --- static and uploaded files ------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# static/ minus what only the browser tests use (pim/staticfiles.py): never collected or served.
STATICFILES_FINDERS = [
    "pim.staticfiles.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on a missing root before collectstatic
STORAGES = {
    # Attachments live under var/ (outside the web root) and are only served by an
    # access-checked view; MEDIA_URL is deliberately not routed.
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.str("MEDIA_ROOT", default=str(VAR_DIR / "attachments"))},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Production serves what collectstatic put in STATIC_ROOT (hashed names, compressed, cached
# for ever); pim.E001 in `check --deploy` reports a release without it. With DEBUG, WhiteNoise
# finds the files in place (its default WHITENOISE_USE_FINDERS = DEBUG).
WHITENOISE_MANIFEST_STRICT = False

ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=20 * 1024 * 1024)
# Any request body above this is refused with 413 before it is read (an upload plus a margin).
MAX_REQUEST_BYTES = env.int("MAX_REQUEST_BYTES", default=ATTACHMENT_MAX_BYTES + 1024 * 1024)
ATTACHMENT_ALLOWED_EXTENSIONS = env.list(
    "ATTACHMENT_ALLOWED_EXTENSIONS",
    default=[
        "pdf", "png", "jpg", "jpeg", "gif", "webp", "txt", "log", "csv", "json", "xml",
        "eml", "msg", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "zip",
    ],
)  # fmt: skip
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- e-mail -------------------------------------------------------------------------------
# EMAIL_URL (smtp://user:pass@host:587/?tls=True, consolemail://, filemail:///path …) becomes
# Django 6.1's MAILERS setting.
_email = env.email_url("EMAIL_URL", default="consolemail://")
_mail_options = {
    key: _email[f"EMAIL_{key.upper()}"]
    for key in ("host", "port", "host_user", "host_password", "use_tls", "use_ssl", "file_path")
    if _email.get(f"EMAIL_{key.upper()}")
}
for _old, _new in (("host_user", "username"), ("host_password", "password")):
    if _old in _mail_options:
        _mail_options[_new] = _mail_options.pop(_old)
MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"], "OPTIONS": _mail_options}}
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="PIM Servicedesk <servicedesk@pim.local>"
)
SERVICE_DESK_PHONE = env.str("SERVICE_DESK_PHONE", default="+31 88 123 4567")
# The on-call service (storingsdienst): P1/P2 outside office hours for 24/7 contracts (SPEC §2).
ONCALL_PHONE = env.str("ONCALL_PHONE", default="+31 88 123 4599")

# --- e-mail intake (intake app) -------------------------------------------------------------
# Mail to this address becomes tickets; mail *from* it is ignored (no loops).
SERVICE_DESK_ADDRESS = env.str("SERVICE_DESK_ADDRESS", default="servicedesk@pim.local")
# imaps://user:password@host[:port]/INBOX (imap:// uses STARTTLS); empty: no IMAP polling.
IMAP_URL = env.str("IMAP_URL", default="")
IMAP_POLL_SECONDS = env.float("IMAP_POLL_SECONDS", default=60.0)
IMAP_BATCH = env.int("IMAP_BATCH", default=50)
# A larger message is rejected (headers kept, raw not stored): the attachment limit + base64.
INTAKE_MAX_MESSAGE_BYTES = env.int(
    "INTAKE_MAX_MESSAGE_BYTES", default=ATTACHMENT_MAX_BYTES * 2 + 1024 * 1024
)

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The sweep finds every due deadline in the database (DESIGN §2 step 3); the relay re-enqueues
# notifications whose delivery task was lost (broker down, worker killed). Both are idempotent.
# SLA_SWEEP_SECONDS / NOTIFICATION_RELAY_SECONDS shorten the period (the integration test).
SLA_SWEEP_SECONDS = env.float("SLA_SWEEP_SECONDS", default=60.0)
NOTIFICATION_RELAY_SECONDS = env.float("NOTIFICATION_RELAY_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "pim.tasks.heartbeat", "schedule": 60.0},
    "sla-sweep": {
        "task": "sla.tasks.sweep",
        "schedule": SLA_SWEEP_SECONDS,
        "options": {"expires": SLA_SWEEP_SECONDS},
    },
    "notification-relay": {
        "task": "escalation.tasks.relay",
        "schedule": NOTIFICATION_RELAY_SECONDS,
        "options": {"expires": NOTIFICATION_RELAY_SECONDS},
    },
}

# --- escalation, reminders and notifications (SPEC §3.2, §5) --------------------------------
# Unacknowledged escalations go to the 1st, then the 2nd deputy after this many minutes (a
# matrix row may set its own).
ESCALATION_DEPUTY_MINUTES = env.int("ESCALATION_DEPUTY_MINUTES", default=30)
# Resolved tickets close by themselves after this many working days.
AUTO_CLOSE_WORKING_DAYS = env.int("AUTO_CLOSE_WORKING_DAYS", default=5)
# A large change in progress without a progress update for this many working days: a reminder.
CHANGE_PROGRESS_INTERVAL_WORKING_DAYS = env.int("CHANGE_PROGRESS_INTERVAL_WORKING_DAYS", default=5)
# The relay re-enqueues notifications still unsent this many seconds after they were written.
NOTIFICATION_RELAY_AFTER_SECONDS = env.int("NOTIFICATION_RELAY_AFTER_SECONDS", default=60)
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=8)
# A delivery claimed this long ago by a worker that died is handed out again by the relay.
NOTIFICATION_STALE_CLAIM_SECONDS = env.int("NOTIFICATION_STALE_CLAIM_SECONDS", default=300)
# Absolute links in e-mails (acknowledge, ticket page).
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- personal data (privacy app) -------------------------------------------------------------
# A closed ticket's personal data (and e-mail that never became a ticket) is anonymised this
# many days after it closed (was received); beat checks daily at 03:30.
PERSONAL_DATA_RETENTION_DAYS = env.int("PERSONAL_DATA_RETENTION_DAYS", default=730)
CELERY_BEAT_SCHEDULE["privacy-retention"] = {
    "task": "privacy.tasks.anonymise_expired",
    "schedule": crontab(hour=3, minute=30),
    "options": {"expires": 3600},
}

# The SLA document's Major Change deadlines and the reminders before a version takes effect
# (sla.majorchange, SPEC §11): hourly, idempotent.
CELERY_BEAT_SCHEDULE["sla-document-route"] = {
    "task": "sla.tasks.sla_document_route",
    "schedule": crontab(minute=5),
    "options": {"expires": 3600},
}

# The open-problem report to the provider's managers, monthly (SPEC §7).
CELERY_BEAT_SCHEDULE["problems-monthly-report"] = {
    "task": "problems.tasks.mail_open_problem_report",
    "schedule": crontab(day_of_month=1, hour=7, minute=0),
    "options": {"expires": 3600},
}

# The monthly SLA report per organisation (issue 17): made and mailed on the provider's first
# working day of the month; the task does nothing on the other days (sla.monthly_reports.run).
CELERY_BEAT_SCHEDULE["sla-monthly-reports"] = {
    "task": "sla.tasks.monthly_reports",
    "schedule": crontab(hour=7, minute=30, day_of_week="mon-fri"),
    "options": {"expires": 3600},
}

# Hour bundles bought from 2024 on are recalculated 12 months after purchase (seed 004), daily.
CELERY_BEAT_SCHEDULE["billing-recalculate-bundles"] = {
    "task": "billing.tasks.recalculate_bundles",
    "schedule": crontab(hour=6, minute=15),
    "options": {"expires": 3600},
}

# Exports of the ticket lists (tickets/exports.py): up to EXPORT_DIRECT_MAX_ROWS rows the
# download is answered at once (streamed); above it a background task writes the file in chunks
# of EXPORT_CHUNK_ROWS, kept EXPORT_KEEP_DAYS days (beat deletes older ones daily). A user has
# at most EXPORT_MAX_ACTIVE exports waiting or being written at once.
EXPORT_DIRECT_MAX_ROWS = env.int("EXPORT_DIRECT_MAX_ROWS", default=5000)
EXPORT_CHUNK_ROWS = env.int("EXPORT_CHUNK_ROWS", default=1000)
EXPORT_KEEP_DAYS = env.int("EXPORT_KEEP_DAYS", default=7)
EXPORT_MAX_ACTIVE = env.int("EXPORT_MAX_ACTIVE", default=3)
# The export relay (tickets.export_jobs.relay), every EXPORT_RELAY_SECONDS: a waiting export is
# sent again EXPORT_RELAY_AFTER_SECONDS after it was sent (doubling with every attempt), a running
# one whose progress stood still for EXPORT_STALLED_SECONDS (its worker died) is restarted; after
# EXPORT_MAX_ATTEMPTS sendings it fails, with the reason on the owner's /exports/.
EXPORT_RELAY_SECONDS = env.float("EXPORT_RELAY_SECONDS", default=60.0)
EXPORT_RELAY_AFTER_SECONDS = env.int("EXPORT_RELAY_AFTER_SECONDS", default=120)
EXPORT_STALLED_SECONDS = env.int("EXPORT_STALLED_SECONDS", default=600)
EXPORT_MAX_ATTEMPTS = env.int("EXPORT_MAX_ATTEMPTS", default=5)
CELERY_BEAT_SCHEDULE["tickets-export-relay"] = {
    "task": "tickets.tasks.relay_exports",
    "schedule": EXPORT_RELAY_SECONDS,
    "options": {"expires": EXPORT_RELAY_SECONDS},
}
CELERY_BEAT_SCHEDULE["tickets-delete-expired-exports"] = {
    "task": "tickets.tasks.delete_expired_exports",
    "schedule": crontab(hour=4, minute=20),
    "options": {"expires": 3600},
}

if IMAP_URL:
    CELERY_BEAT_SCHEDULE["intake-poll-imap"] = {
        "task": "intake.tasks.poll_imap",
        "schedule": IMAP_POLL_SECONDS,
        "options": {"expires": IMAP_POLL_SECONDS},
    }

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "pim.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        # ?ordering= on documented fields only (unknown: 400), the id as the tiebreaker
        "pim.pagination.StrictOrderingFilter",
    ],
    # JSON depth and control characters are checked before a view sees the data (pim/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "pim.parsers.JSONParser",
        "pim.parsers.FormParser",
        "pim.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "pim.api.Pagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "pim.api.exception_handler",
    # Throttles count in the default cache (Redis in production) and answer 429 + Retry-After;
    # they count by pim.security.clientip.client_ip (TRUSTED_PROXY_COUNT, as NUM_PROXIES below).
    "DEFAULT_THROTTLE_CLASSES": [
        "pim.security.throttling.AnonRateThrottle",
        "pim.security.throttling.UserRateThrottle",
    ],
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_RATE_ANON", default="60/min"),
        "user": env.str("API_RATE_USER", default="600/min"),
        "auth": env.str("API_RATE_AUTH", default="10/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PIM API",
    "DESCRIPTION": "Service desk API: tickets, updates, attachments and SLA clocks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets that share a field name get stable component names (else W001 and a hash).
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.Status",
        "WorkaroundStatusEnum": "tickets.models.WORKAROUND_STATUS_CHOICES",
        # a maintenance notice's initiator and a change approval's side: the same two parties
        "PartyEnum": "maintenance.models.Initiator",
        # a link as one ticket reads it (the ticket's own kind is KindEnum)
        "LinkKindEnum": "tickets.models.LinkRole",
        # a problem's impact and urgency: one high/medium/low scale
        "ProblemLevelEnum": "problems.models.Level",
        # a time entry's category (what decides billing)
        "TimeEntryCategoryEnum": "billing.models.Category",
        # a step of an SLA document's Major Change route (to take, or that the caller may take)
        "SlaRouteActionEnum": "sla.majorchange.ACTIONS",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "pim.schema.add_error_responses",
    ],
}

# --- security -----------------------------------------------------------------------------
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Over HTTPS the cookies carry the __Host- prefix: Secure, host-only, path / (ASVS 3.4.4).
SESSION_COOKIE_NAME = "__Host-pim-session" if HTTPS else "pim-session"
CSRF_COOKIE_NAME = "__Host-pim-csrf" if HTTPS else "pim-csrf"
SESSION_COOKIE_AGE = 8 * 3600  # a login session lasts one working day
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (Django's ContentSecurityPolicyMiddleware) on every response: scripts,
# styles, images and fonts from our own origin only, no inline code and no eval. The portal has
# no inline scripts or styles; the nonce is only for the Django admin's few nonce'd tags (it is
# left out of the header on pages that do not use it). Swagger UI loads its script from a URL
# (SpectacularSwaggerSplitView) and its page style from static/css/swagger.css.
SECURE_CSP = {
    "default-src": [CSP.NONE],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],  # Pico and Swagger UI draw icons as data: SVGs
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "manifest-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Browser features no page of the portal uses (pim.security.headers.PermissionsPolicyMiddleware).
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media",
        "geolocation", "gyroscope", "magnetometer", "microphone", "midi", "payment",
        "screen-wake-lock", "usb", "xr-spatial-tracking",
    )
}  # fmt: skip

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
