"""Vafa settings: one module, every value from the environment.

The embedded default (no environment at all) is SQLite in ``var/`` and a filesystem
Celery broker; production sets ``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY``,
``ALLOWED_HOSTS`` and ``DEBUG=0``. See docs/configuration.md for every variable.
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

from config.env import filesystem_broker_options, redis_db_url, xdist_worker_number

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAFA_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
if "PYTEST_VERSION" in os.environ:
    # The suite runs on the development profile (plain HTTP, no manifest); Django's test
    # runner switches DEBUG itself off while tests run.
    os.environ.setdefault("DEBUG", "1")

DEBUG = env.bool("DEBUG", default=False)
if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-dev-only-not-for-production")
else:
    SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_ID = 1

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "config",
    "allauth",
    "allauth.account",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_celery_beat",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "accounts",
    "loyalty",
    "rewards",
    "referrals",
    "portal",
]

MIDDLEWARE = [
    "config.security_headers.SecurityHeadersMiddleware",
    "config.health.HealthCheckMiddleware",
    "config.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "config.api.ApiErrorShapeMiddleware",  # errors under /api/ as JSON, in the language set
    "config.input.HostileInputMiddleware",  # NUL, lone surrogates: after the language is set
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.MemberLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            # Django's default loaders (cached, filesystem, app directories), except that every
            # ``*.txt`` template (plain-text emails, subjects) renders with autoescape off.
            "loaders": [
                (
                    "django.template.loaders.cached.Loader",
                    [
                        "config.template_loaders.FilesystemLoader",
                        "config.template_loaders.AppDirectoriesLoader",
                    ],
                )
            ],
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASES = {
    # An empty DATABASE_URL (``DATABASE_URL= make test``) means the default, not an error.
    "default": env.db_url_config(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'vafa.sqlite3'}"
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE takes the write
    # lock at BEGIN, which serializes ledger writes the way row locks do on PostgreSQL.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Parameters travel apart from the SQL text instead of being quoted into it in Python,
    # and a statement run a few times on a connection is prepared once and then only
    # executed (measured: less CPU per API event, docs/benchmarks.md). Behind pgbouncer in
    # transaction mode, use pgbouncer >= 1.21 with max_prepared_statements set, or turn
    # these off (DB_SERVER_SIDE_BINDING=0, DB_PREPARE_THRESHOLD=0).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["server_side_binding"] = env.bool("DB_SERVER_SIDE_BINDING", default=True)
    _prepare = env.int("DB_PREPARE_THRESHOLD", default=5)
    _options["prepare_threshold"] = _prepare if _prepare > 0 else None
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery -------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_DIR = VAR_DIR / "celery"
# A hung Redis (stopped process, full network buffer) must not hang requests: every Redis
# client of a request (cache, sessions, task publish) gives up after these many seconds and
# then leaves Redis alone for REDIS_RETRY_AFTER seconds (config/breaker.py).
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=0.25)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.25)
REDIS_RETRY_AFTER = env.float("REDIS_RETRY_AFTER", default=5.0)
# Tasks go through an outbox (config/outbox.py): a task whose publish failed is published
# by the outbox_drain job once it is this many seconds old.
TASK_OUTBOX_DELAY = env.int("TASK_OUTBOX_DELAY", default=60)
if REDIS_URL:
    # pytest-xdist runs workers side by side: each gets its own Redis database so that
    # clearing one worker's cache never touches another's.
    _cache_db = 1 + xdist_worker_number()
    CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": env.str("CACHE_URL", default=redis_db_url(REDIS_URL, _cache_db)),
            "KEY_PREFIX": "vafa",
            "OPTIONS": {
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
                "retry_on_timeout": False,
            },
        }
    }
    # Sessions read from Redis, written through to the database: one query less on every
    # signed-in page. Only with a shared cache: a per-process cache would keep a signed-out
    # session alive in the other processes.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # An unacknowledged task (its worker died) is handed to another worker after this many
    # seconds; keep it above the longest task (CELERY_TASK_TIME_LIMIT below).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        # How often workers look for such orphaned tasks (kombu's default is ~100 s).
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_SECONDS", default=10),
        "unacked_restore_throttle": 1
        if env.int("CELERY_UNACKED_RESTORE_SECONDS", default=0)
        else 10,
        "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
        "socket_timeout": REDIS_SOCKET_TIMEOUT,
        "retry_on_timeout": False,
    }
    CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_CONNECT_TIMEOUT
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_CONNECT_TIMEOUT
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(CELERY_DIR)
    CELERY_RESULT_BACKEND = f"file://{CELERY_DIR / 'results'}"
    (CELERY_DIR / "results").mkdir(parents=True, exist_ok=True)

CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Below the Redis visibility timeout (1 h), so a long task is never redelivered mid-run.
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish retries this often (Celery's default, 3 retries up to 1 s apart, can hold a
# request for seconds); a publish that still fails stays in the task outbox.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": env.int("CELERY_PUBLISH_MAX_RETRIES", default=1),
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through LOGGING below (JSON, redacted)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Campaign announcement emails sent by each worker (Celery rate limit, e.g. "20/s",
# "600/m"); empty: no limit. Not CELERY_-prefixed: it is ours, not a Celery setting.
ANNOUNCEMENT_EMAIL_RATE_LIMIT = env.str("ANNOUNCEMENT_EMAIL_RATE_LIMIT", default="20/s")

# --- Auth and allauth -------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:dashboard"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {"signup": "referrals.forms.ReferralSignupForm"}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
# allauth's rate limits (per IP and per key, i.e. the email typed); only failed logins
# are tightened here, the others keep allauth's defaults.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("LOGIN_FAILED_RATE_LIMIT", default="10/m/ip,5/5m/key"),
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# Tell members when their password or email address changes (templates/account/email/).
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
# Rate limits are keyed on the client IP. Behind a reverse proxy, set the number of
# proxies you control; the raw X-Forwarded-For header is never trusted otherwise.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Email ------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
globals().update(EMAIL_CONFIG)  # EMAIL_BACKEND, EMAIL_HOST, ...
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Vafa Club <club@vafa.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalization ---------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("fa", _("Persian")),
    ("ar", _("Arabic")),
    ("ru", _("Russian")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env.bool("STATIC_MANIFEST", default=True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Security (production values unless DEBUG) -----------------------------
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy and Permissions-Policy on every response
# (config/security_headers.py; docs/configuration.md#security-headers).
CSP_DIRECTIVES = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
# Extra sources, e.g. "img-src https://cdn.shop.example; connect-src https://sentry.example".
CSP_EXTRA = env.str("CSP_EXTRA", default="")
# Send the policy as Content-Security-Policy-Report-Only (browsers report, block nothing).
CSP_REPORT_ONLY = env.bool("CSP_REPORT_ONLY", default=False)
PERMISSIONS_POLICY_DISABLED = [
    "accelerometer",
    "autoplay",
    "camera",
    "display-capture",
    "geolocation",
    "gyroscope",
    "hid",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "serial",
    "usb",
    "xr-spatial-tracking",
]
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- REST API ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["loyalty.api_auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["loyalty.api_auth.HasApiKey"],
    "DEFAULT_THROTTLE_CLASSES": ["loyalty.api_auth.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env.str("API_RATE_LIMIT", default="6000/min"),
        "voucher_lookup": env.str("VOUCHER_LOOKUP_RATE_LIMIT", default="60/min"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.input.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.api_exception_handler",
    "NUM_PROXIES": env.int("TRUSTED_PROXY_COUNT", default=0),
    "UNAUTHENTICATED_USER": None,
}
API_FAILED_KEYS_PER_MINUTE = env.int("API_FAILED_KEYS_PER_MINUTE", default=20)
# Unknown voucher codes (guessing), in sliding windows: per API key, and per key and end
# customer when the shop sends Vafa-Customer-IP (rewards/guessing.py, docs/api.md).
VOUCHER_MISS_WINDOW = env.int("VOUCHER_MISS_WINDOW", default=600)
VOUCHER_MISSES_PER_KEY = env.int("VOUCHER_MISSES_PER_KEY", default=100)
VOUCHER_MISSES_PER_CUSTOMER = env.int("VOUCHER_MISSES_PER_CUSTOMER", default=10)
MAX_EVENT_AMOUNT = env.int("MAX_EVENT_AMOUNT", default=1_000_000)
# CSV import: chunks written in parallel, each by its own connection (PostgreSQL only)
IMPORT_WORKERS = env.int("IMPORT_WORKERS", default=2)
SPECTACULAR_SETTINGS = {
    "TITLE": "Vafa API",
    "DESCRIPTION": "Loyalty and referral club API for shops and integrations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc are served from our own static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # <id:...> in API paths (config.input.AsciiIdConverter): 1 to 18 ASCII digits
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "maximum": 999_999_999_999_999_999}},
}

# --- Logging ----------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "config.logs.RedactFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "vafa.access": {"level": env.str("ACCESS_LOG_LEVEL", default="INFO")},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- Vafa program defaults --------------------------------------------------
MONEY_MAX_DIGITS = 12
MONEY_DECIMAL_PLACES = 2
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="EUR")
# What one point is worth in DEFAULT_CURRENCY, for the liability shown to staff.
POINT_VALUE = Decimal(env.str("POINT_VALUE", default="0.01"))
POINTS_EXPIRY_DAYS = env.int("POINTS_EXPIRY_DAYS", default=365)
RETURN_WINDOW_DAYS = env.int("RETURN_WINDOW_DAYS", default=14)
REDEMPTION_CANCEL_HOURS = env.int("REDEMPTION_CANCEL_HOURS", default=24)
EXPIRY_REMINDER_DAYS = env.int("EXPIRY_REMINDER_DAYS", default=14)
# The club's name in pages, emails and the Site row. PROGRAM_NAME is its older name, still
# read when CLUB_NAME is not set; code reads either (they are the same value).
CLUB_NAME = env.str("CLUB_NAME", default=env.str("PROGRAM_NAME", default="Vafa Club"))
PROGRAM_NAME = CLUB_NAME
