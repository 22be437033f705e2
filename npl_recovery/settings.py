"""Settings, read from the environment.

Defaults give a self-contained developer setup (SQLite, Celery on a filesystem broker);
DATABASE_URL and CELERY_BROKER_URL switch to PostgreSQL and Redis.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("NPL_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
# Off unless asked for: a process started without DEBUG serves no debug pages (they list every URL
# and show settings). `make run` and the test suite (npl_recovery/test_settings.py) turn it on.
DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET = "dev-only-insecure-secret-key-change-me"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])

if not DEBUG:
    # Refuse to start a production process with development defaults.
    if SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "DEBUG is off: set the SECRET_KEY environment variable to a random string of 32+ characters "
            "(or DEBUG=1 for the development defaults)."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DEBUG is off: set the ALLOWED_HOSTS environment variable (comma-separated host names) "
            "(or DEBUG=1 for the development defaults)."
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "import_export",
    "rules.apps.AutodiscoverRulesConfig",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "loans",
    "collections_app",
    "accountability",
    "ledger",
    "reconciliation",
    "legal",
    "notifications",
    "audit",
    "accounts",
    "evidence",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's language (Accept-Language) or the language cookie; the user's saved choice
    # overrides both once they are known (npl_recovery.i18n.UserLanguageMiddleware below).
    "django.middleware.locale.LocaleMiddleware",
    "npl_recovery.middleware.RequestSizeLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.two_factor.TwoFactorMiddleware",
    "npl_recovery.sessions.IdleSessionMiddleware",
    "npl_recovery.i18n.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "npl_recovery.middleware.TooManyRequestsMiddleware",
]

ROOT_URLCONF = "npl_recovery.urls"
WSGI_APPLICATION = "npl_recovery.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "npl_recovery.context_processors.navigation",
                "django.template.context_processors.i18n",
            ],
            # Every template may translate and format amounts and dates without a {% load %}.
            "builtins": ["django.templatetags.i18n", "npl_recovery.templatetags.formatting"],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3's pool inside each process; DATABASE_POOL=0 turns it off (e.g. behind PgBouncer).
    if env.bool("DATABASE_POOL", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=1),
            "max_size": env.int("DATABASE_POOL_MAX", default=10),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
else:
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "loans.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
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
# Two-factor login (TOTP) for these roles, e.g. NPL_2FA_ROLES=manager,admin; empty: nobody.
NPL_2FA_ROLES = env.list("NPL_2FA_ROLES", default=[])
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="NPL Recovery")

# Login against the bank's directory (LDAP), off unless LDAP_SERVER_URI is set. Group DNs map to
# roles and branch codes (JSON objects); only members of a role group may log in.
LDAP_SERVER_URI = env.str("LDAP_SERVER_URI", default="")
NPL_LDAP_ROLE_GROUPS: dict = json.loads(env.str("NPL_LDAP_ROLE_GROUPS", default="{}"))
NPL_LDAP_BRANCH_GROUPS: dict = json.loads(env.str("NPL_LDAP_BRANCH_GROUPS", default="{}"))
if LDAP_SERVER_URI:
    from accounts.directory import check_mapping, ldap_settings

    check_mapping(NPL_LDAP_ROLE_GROUPS, NPL_LDAP_BRANCH_GROUPS)
    globals().update(
        ldap_settings(
            server_uri=LDAP_SERVER_URI,
            bind_dn=env.str("LDAP_BIND_DN", default=""),
            bind_password=env.str("LDAP_BIND_PASSWORD", default=""),
            user_search_base=env.str("LDAP_USER_SEARCH_BASE"),
            user_filter=env.str("LDAP_USER_FILTER", default="(uid=%(user)s)"),
            group_search_base=env.str("LDAP_GROUP_SEARCH_BASE"),
            role_groups=NPL_LDAP_ROLE_GROUPS,
            start_tls=env.bool("LDAP_START_TLS", default=False),
        )
    )
    # After axes (which counts the failures), before the local accounts.
    AUTHENTICATION_BACKENDS.insert(1, "accounts.backends.DirectoryBackend")

# Login lockout (npl_recovery/lockout.py): failures count per account, and per account and
# address; never per address alone (a bank's users share its load balancer's address). A
# successful login resets the count of the account that logged in, not of any other.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=60))
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "npl_recovery.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "npl_recovery.lockout.client_ip"
# The header the reverse proxy puts the client's address in (docker-compose: HTTP_X_REAL_IP).
NPL_CLIENT_IP_HEADER = env.str("NPL_CLIENT_IP_HEADER", default="")

# The fallback when neither the user's choice, the cookie nor the browser names a language we have.
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Our own date and number formats per language (npl_recovery/formats/<lang>/formats.py).
FORMAT_MODULE_PATH = ["npl_recovery.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
    # Evidence files and document templates (evidence/): private, no URL serves them; they are read
    # only through the evidence views, which check the user's scope. Replace the backend here (e.g.
    # an S3-compatible storage) and name it in NPL_EVIDENCE_STORAGE.
    "evidence": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.str("NPL_EVIDENCE_ROOT", default=str(VAR_DIR / "evidence")), "base_url": None},
    },
}
# The STORAGES alias evidence files are kept in.
NPL_EVIDENCE_STORAGE = env.str("NPL_EVIDENCE_STORAGE", default="evidence")
# The largest evidence file, in bytes (also bounded by NPL_UPLOAD_MAX_BYTES for the whole request).
NPL_EVIDENCE_MAX_BYTES = env.int("NPL_EVIDENCE_MAX_BYTES", default=20 * 1024 * 1024)
# The types accepted as evidence, by the extension filetype gives the content (not the file's name).
NPL_EVIDENCE_TYPES = env.list("NPL_EVIDENCE_TYPES", default=["pdf", "jpg", "png", "tif", "heic", "docx", "xlsx"])
# The bank's name at the head of generated documents (evidence/document_services.py).
NPL_BANK_NAME = env.str("NPL_BANK_NAME", default="")
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Form fields other than files (files are limited by NPL_UPLOAD_MAX_BYTES below).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # Django's default

# --- What the importer accepts (loans/importing/limits.py) ----------------------------------
# An uploaded file's size: larger requests are refused before they are read (npl_recovery
# .middleware, the reverse proxy's client_max_body_size), larger files by the forms.
NPL_UPLOAD_MAX_BYTES = env.int("NPL_UPLOAD_MAX_BYTES", default=50 * 1024 * 1024)
# A workbook's sheets: python-calamine holds rows x columns cells of 32 bytes (205 MB at these
# defaults); larger sheets are refused before they are read (save them as CSV, read as a stream).
NPL_IMPORT_XLSX_MAX_ROWS = env.int("NPL_IMPORT_XLSX_MAX_ROWS", default=200_000)
NPL_IMPORT_XLSX_MAX_COLUMNS = env.int("NPL_IMPORT_XLSX_MAX_COLUMNS", default=32)
# All parts of a workbook unzipped, and how much more than its compressed size one part may be.
NPL_IMPORT_XLSX_MAX_UNCOMPRESSED_MB = env.int("NPL_IMPORT_XLSX_MAX_UNCOMPRESSED_MB", default=256)
NPL_IMPORT_XLSX_MAX_RATIO = env.int("NPL_IMPORT_XLSX_MAX_RATIO", default=100)
# Exports a person may make in an hour (each one is audited; loans/exporting.py).
NPL_EXPORTS_PER_HOUR = env.int("NPL_EXPORTS_PER_HOUR", default=20)
# Exports of more rows than this run on a Celery worker (loans/export_jobs.py); their files are
# kept NPL_EXPORT_KEEP_DAYS days for their owner to download, then deleted by a daily task.
NPL_EXPORT_SYNC_MAX_ROWS = env.int("NPL_EXPORT_SYNC_MAX_ROWS", default=5000)
NPL_EXPORT_KEEP_DAYS = env.int("NPL_EXPORT_KEEP_DAYS", default=7)
# Writer threads of a whole-book reclassification on PostgreSQL, each with its own database connection
# (loans/services/classification.py): more cores on the database server can take more.
NPL_RECLASSIFY_WRITERS = env.int("NPL_RECLASSIFY_WRITERS", default=2)
if NPL_RECLASSIFY_WRITERS < 1:
    raise ImproperlyConfigured("NPL_RECLASSIFY_WRITERS must be 1 or more")
# The Celery queue export jobs are sent to (default: Celery's default queue).
NPL_EXPORT_QUEUE = env.str("NPL_EXPORT_QUEUE", default="") or None

if not DEBUG:
    # HTTPS only. TLS ends at the reverse proxy (docker-compose.yml, service proxy), which says so
    # in X-Forwarded-Proto, a header it sets itself (gunicorn is reachable only through it).
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A session ends after NPL_SESSION_IDLE_MINUTES without a request (npl_recovery/sessions.py
# moves its expiry on as the user works; the notification bell's polling does not count).
NPL_SESSION_IDLE_MINUTES = env.int("NPL_SESSION_IDLE_MINUTES", default=30)
SESSION_COOKIE_AGE = NPL_SESSION_IDLE_MINUTES * 60
NPL_SESSION_IDLE_EXEMPT_VIEWS = ["notifications:bell"]

# Content-Security-Policy (django-csp): scripts, styles, images and fonts from our own static
# files only; no inline script or style, no eval (templates keep them in static/), no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Without a mail server: the demo prints each e-mail (console); a production process logs only
# which notifications' e-mails were not sent (npl_recovery/mail.py). Set EMAIL_BACKEND and
# EMAIL_* for SMTP.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend" if DEBUG else "npl_recovery.mail.LogIdsEmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="npl-recovery@localhost")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Celery -------------------------------------------------------------------------------
# Default: kombu's filesystem transport, an embedded broker that needs no server.
_BROKER_DIR = VAR_DIR / "celery-broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Longer than the longest task (a full-book import or the daily checks), so Redis does not
    # hand an unacknowledged long task to a second worker while the first still runs it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=4 * 3600)}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A late-acknowledged task whose broker connection drops is redelivered by the broker; stop this
# copy rather than let two run (every daily check is idempotent either way).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Django's cache holds what several processes share (the task delivery counts): Redis when the
# broker is Redis, else files under var/ (the development setup).
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("CACHE_URL", default=CELERY_BROKER_URL),
            "KEY_PREFIX": "npl",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Business rules (one place; see loans/policy.py) --------------------------------------
# Any key of loans.classification.ClassificationPolicy / collections rules may be overridden
# with the JSON object in NPL_RULES, e.g. NPL_RULES='{"technical_delay_days": 0}'.
NPL_RULES: dict = json.loads(env.str("NPL_RULES", default="{}"))
# Demo data, seeded in this order by `manage.py seed_demo` (modules that do not exist are skipped).
NPL_DEMO_SEEDERS = [
    "loans.demo.seed_demo",
    "collections_app.demo.seed_demo",
    "accountability.demo.seed_demo",
    # Last: the book of the day lowers and raises a few balances (falls to classify, a rise).
    "reconciliation.demo.seed_demo",
]
# Time of day (HH:MM, TIME_ZONE) at which Celery beat starts the daily checks.
NPL_DAILY_CHECKS_AT = env.str("NPL_DAILY_CHECKS_AT", default="02:30")
# Rows the daily checks handle per transaction: a killed run keeps every finished batch.
NPL_DAILY_CHECKS_BATCH_SIZE = env.int("NPL_DAILY_CHECKS_BATCH_SIZE", default=1000)
# Jobs a gone worker left behind (npl_recovery/jobs.py): a queued job no worker took within
# NPL_JOB_STALE_MINUTES is sent again; a job is started or sent at most NPL_JOB_MAX_ATTEMPTS times.
# The same bound stops a task the broker keeps delivering because its worker process dies
# (npl_recovery/celery.py, BoundedTask: the base of every task).
NPL_JOB_STALE_MINUTES = env.int("NPL_JOB_STALE_MINUTES", default=30)
NPL_JOB_MAX_ATTEMPTS = env.int("NPL_JOB_MAX_ATTEMPTS", default=3)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "filters": {"forbidden_in_one_line": {"()": "npl_recovery.log_filters.ForbiddenInOneLine"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # A 403 is one line (path and reason), not a traceback.
        "django.request": {"filters": ["forbidden_in_one_line"]},
        # The filesystem broker's URL has no host by design: kombu's "No hostname was supplied"
        # warning was a stray line in every `seed_demo` and command run (issue 10).
        **({"kombu.connection": {"level": "ERROR"}} if CELERY_BROKER_URL.startswith("filesystem://") else {}),
    },
}
AXES_VERBOSE = False
WHITENOISE_AUTOREFRESH = DEBUG
