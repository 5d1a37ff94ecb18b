"""Settings for the video platform, read once from the environment.

With nothing set the platform runs on one machine: SQLite and media files under DATA_DIR,
the django-q2 ORM broker, and the built-in provider emulator. Production sets DEBUG=false,
SECRET_KEY, DATABASE_URL and the S3_* variables; README.md lists every variable.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from project.env import (
    database_from_url,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_str,
    redis_url_is_valid,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data"))).resolve()

DEBUG = env_bool("DEBUG", True)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    # Development: a random key kept in the data folder, so sessions survive restarts.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / ".dev-secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
SITE_NAME = env_str("SITE_NAME", "Video Platform")
PUBLIC_URL = env_str("PUBLIC_URL", "").rstrip("/")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [PUBLIC_URL] if PUBLIC_URL else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "axes",
    "accounts",
    "videos",
    "videos.emulator",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Database errors raised by views and templates answer 503 instead of 500.
    "project.middleware.DatabaseUnavailableMiddleware",
    "project.middleware.ApiRequestLimitsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

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
                "project.context_processors.site",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
# A database host that drops packets fails a request after this many seconds (psycopg waits 130).
DATABASE_CONNECT_TIMEOUT = env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=2)
# SQLite reads pages through a memory map: any write (each API request counts itself) makes every
# other connection drop its page cache, and mapped pages come back without a read and a copy.
_sqlite_mmap = "PRAGMA mmap_size=268435456;"
if DATABASE_URL:
    _database = database_from_url(DATABASE_URL)
    if _database["ENGINE"].endswith("postgresql"):
        _database["OPTIONS"].setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
    if _database["ENGINE"].endswith("sqlite3"):
        _database["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": _sqlite_mmap,
            **_database["OPTIONS"],
        }
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    _database = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "db.sqlite3"),
        # The web server and the cluster share the file: wait for locks instead of failing.
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;" + _sqlite_mmap,
        },
        # A file, not memory, so the end-to-end tests' cluster processes share the test database.
        # (one per test run, so parallel runs do not share it; removed when the run ends).
        "TEST": {"NAME": str(DATA_DIR / f"test-db-{os.getpid()}.sqlite3")},
    }
_database["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60 if DATABASE_URL else 0, minimum=0)
_database["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "videos:list"
LOGOUT_REDIRECT_URL = "home"
SIGNUP_ENABLED = env_bool("SIGNUP_ENABLED", True)
API_TOKEN_PREFIX = "vp_"  # noqa: S105 (a public prefix, not a secret)
# last_used_at is written at most this often per token, so reads do not write on every call.
API_TOKEN_LAST_USED_RESOLUTION = 60
# Live (unrevoked, unexpired) tokens one account may hold; new tokens never add to the rate limit.
API_TOKENS_PER_USER = env_int("API_TOKENS_PER_USER", 20, minimum=1)
# Password-reset e-mails sent per account and per client address (N/min, N/hour, N/day).
PASSWORD_RESET_RATE_PER_ACCOUNT = env_str("PASSWORD_RESET_RATE_PER_ACCOUNT", "3/hour")
PASSWORD_RESET_RATE_PER_ADDRESS = env_str("PASSWORD_RESET_RATE_PER_ADDRESS", "10/hour")

# Brute-force protection: lock by account and, separately, by client address.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_float("LOGIN_LOCKOUT_MINUTES", 15, minimum=0.1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_USERNAME_FORM_FIELD = "username"
# The client address is REMOTE_ADDR unless the platform sits behind that many trusted proxies.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=5)
if TRUSTED_PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT
    AXES_IPWARE_META_PRECEDENCE_ORDER: tuple[str, ...] = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)

# --- E-mail -------------------------------------------------------------------------------
EMAIL_URL = env_str("EMAIL_HOST")
if EMAIL_URL:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = EMAIL_URL
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "videos@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Static files and storage -------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from the finders meanwhile
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = DATA_DIR / "media"
# Stored videos are private: MEDIA_URL is never routed; users get files through the API.
MEDIA_URL = "/private-media/"

S3_BUCKET = env_str("S3_BUCKET")
if S3_BUCKET:
    from botocore.config import Config
S3_SIGNED_URL_TTL = env_int("S3_SIGNED_URL_TTL", 300, minimum=10, maximum=3600)
if S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env_str("S3_ENDPOINT_URL") or None,
            "region_name": env_str("S3_REGION") or None,
            "access_key": env_str("S3_ACCESS_KEY_ID") or None,
            "secret_key": env_str("S3_SECRET_ACCESS_KEY") or None,
            # boto3 >= 1.36 adds checksums that several S3-compatible servers reject, so by
            # default they are sent only when an operation requires them.
            "client_config": Config(
                s3={"addressing_style": env_choice("S3_ADDRESSING_STYLE", "path", ("path", "virtual", "auto"))},
                signature_version="s3v4",
                request_checksum_calculation=env_choice(
                    "S3_CHECKSUMS", "when_required", ("when_required", "when_supported")
                ),
                response_checksum_validation="when_required",
                connect_timeout=10,
                read_timeout=60,
                retries={"max_attempts": 5, "mode": "standard"},
            ),
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": S3_SIGNED_URL_TTL,
            "file_overwrite": True,
            "object_parameters": {"CacheControl": "private, no-store"},
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Task cluster (django-q2) -------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and not redis_url_is_valid(REDIS_URL):
    raise ImproperlyConfigured(f"REDIS_URL must start with redis://, rediss:// or unix://, got {REDIS_URL!r}")
Q_TIMEOUT = env_int("Q_TIMEOUT", 600, minimum=10)
Q_MAX_RSS_KB = env_int("Q_MAX_RSS_KB", 1024 * 1024, minimum=0)
if 0 < Q_MAX_RSS_KB < 128 * 1024:
    raise ImproperlyConfigured(f"Q_MAX_RSS_KB is in KiB (1048576 is 1 GiB); {Q_MAX_RSS_KB} would recycle every worker")
Q_CLUSTER = {
    "name": env_str("Q_CLUSTER_NAME", "videos"),
    "workers": env_int("Q_WORKERS", 4, minimum=1, maximum=64),
    "timeout": Q_TIMEOUT,
    # retry must exceed timeout, or a long task is handed to a second worker while it runs.
    "retry": Q_TIMEOUT + env_int("Q_RETRY_MARGIN", 120, minimum=30),
    "max_attempts": env_int("Q_MAX_ATTEMPTS", 3, minimum=1),
    "queue_limit": 50,
    "bulk": 10,
    "save_limit": 1000,
    "ack_failures": True,
    "catch_up": False,
    "label": "Task cluster",
    # A worker whose resident memory passed this (KiB, as getrusage reports it) is replaced
    # after its task, so a slow leak never grows into an out-of-memory kill.
    "max_rss": Q_MAX_RSS_KB or None,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Pipeline ----------------------------------------------------------------------------
PIPELINE_FIRST_POLL_SECONDS = env_float("PIPELINE_FIRST_POLL_SECONDS", 2, minimum=0.1)
PIPELINE_POLL_BACKOFF = env_float("PIPELINE_POLL_BACKOFF", 1.25, minimum=1)
PIPELINE_MAX_POLL_SECONDS = env_float("PIPELINE_MAX_POLL_SECONDS", 10, minimum=1)
PIPELINE_LOOP_SECONDS = env_float("PIPELINE_LOOP_SECONDS", 55, minimum=1)
PIPELINE_LEASE_SECONDS = env_int("PIPELINE_LEASE_SECONDS", 60, minimum=5)
PIPELINE_MAX_ATTEMPTS = env_int("PIPELINE_MAX_ATTEMPTS", 5, minimum=1)
PIPELINE_MAX_RETRIES = env_int("PIPELINE_MAX_RETRIES", 120, minimum=1)
PIPELINE_URGENT_MINUTES = env_int("PIPELINE_URGENT_MINUTES", 20, minimum=1)
PIPELINE_PART_BYTES = env_int("PIPELINE_PART_BYTES", 8 * 1024 * 1024, minimum=5 * 1024 * 1024)
PIPELINE_MAX_ASSET_BYTES = env_int("PIPELINE_MAX_ASSET_BYTES", 4 * 1024**3, minimum=1024 * 1024)
PIPELINE_STALL_SECONDS = env_int("PIPELINE_STALL_SECONDS", 180, minimum=30)
# Wait between look-ups for a create whose answer was lost (it may still be in flight).
PIPELINE_RECONCILE_SECONDS = env_float("PIPELINE_RECONCILE_SECONDS", 15, minimum=0.5)

# --- Health (/healthz and manage.py pipeline_status) ---------------------------------------
# The sweeper runs every minute; no sweep for this long means no cluster is working.
HEALTH_HEARTBEAT_SECONDS = env_int("HEALTH_HEARTBEAT_SECONDS", 300, minimum=90)
# An archive is overdue once the provider's deadline is this close, or it has run this long.
HEALTH_ARCHIVE_MARGIN_SECONDS = env_int("HEALTH_ARCHIVE_MARGIN_SECONDS", 300, minimum=0)
HEALTH_ARCHIVE_OVERDUE_SECONDS = env_int("HEALTH_ARCHIVE_OVERDUE_SECONDS", 1800, minimum=60)

# --- What users may ask for -------------------------------------------------------------
MAX_INPUT_IMAGE_BYTES = env_int("MAX_INPUT_IMAGE_BYTES", 10 * 1024 * 1024, minimum=1024)
MAX_INPUT_IMAGE_PIXELS = env_int("MAX_INPUT_IMAGE_PIXELS", 4096 * 4096, minimum=64 * 64)
# Requests whose body is larger than this are refused with 413 before they are read.
MAX_REQUEST_BYTES = env_int("MAX_REQUEST_BYTES", MAX_INPUT_IMAGE_BYTES + 1024 * 1024, minimum=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
USER_MAX_ACTIVE_VIDEOS = env_int("USER_MAX_ACTIVE_VIDEOS", 5, minimum=1)
USER_DAILY_SECONDS = env_int("USER_DAILY_SECONDS", 600, minimum=1)
# Per account (all its tokens and its session together), or per client address without a token.
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "120/min")
# Keep stored videos this many days after they are ready (0: until the user deletes them).
VIDEO_RETENTION_DAYS = env_int("VIDEO_RETENTION_DAYS", 0, minimum=0)
# Lifetime of the token-free download links the query API hands out.
SIGNED_DOWNLOAD_TTL = env_int("SIGNED_DOWNLOAD_TTL", 3600, minimum=60, maximum=7 * 86400)
# /content answers with the bytes ("stream") or, on S3, a redirect to a signed URL ("redirect").
CONTENT_DELIVERY = env_choice("CONTENT_DELIVERY", "stream", ("stream", "redirect"))

# --- Webhooks ----------------------------------------------------------------------------
# Users' endpoints must be https on public addresses; on, plain http and private or loopback
# addresses are allowed too, for a receiver on this machine or network. Off in development too.
WEBHOOKS_ALLOW_PRIVATE_URLS = env_bool("WEBHOOKS_ALLOW_PRIVATE_URLS", False)
# How long a receiver has to answer a delivery (connect, send, answer, all told).
WEBHOOKS_TIMEOUT_SECONDS = env_float("WEBHOOKS_TIMEOUT_SECONDS", 10, minimum=1, maximum=30)

# --- Providers and the built-in emulator -------------------------------------------------
PORT = env_int("PORT", 8000, minimum=1, maximum=65535)
# Encrypts provider API keys at rest; defaults to SECRET_KEY (rotate both together).
PROVIDER_KEYS_SECRET = env_str("PROVIDER_KEYS_SECRET", SECRET_KEY)
# Largest provider answer read, downloads aside; past it the call fails and is retried later.
PROVIDER_MAX_RESPONSE_BYTES = env_int("PROVIDER_MAX_RESPONSE_BYTES", 4 * 1024 * 1024, minimum=64 * 1024)
EMULATOR_ENABLED = env_bool("EMULATOR_ENABLED", DEBUG)
EMULATOR_API_KEY = env_str("EMULATOR_API_KEY", "emulator-dev-key" if DEBUG else "")
if EMULATOR_ENABLED and not EMULATOR_API_KEY:
    raise ImproperlyConfigured("EMULATOR_API_KEY must be set when EMULATOR_ENABLED is on with DEBUG off")
EMULATOR_BASE_URL = env_str("EMULATOR_BASE_URL", f"http://127.0.0.1:{PORT}/emulator").rstrip("/")
EMULATOR_QUEUE_SECONDS = env_float("EMULATOR_QUEUE_SECONDS", 2, minimum=0)
EMULATOR_GENERATION_SECONDS = env_float("EMULATOR_GENERATION_SECONDS", 8, minimum=0)
EMULATOR_PROGRESS_STEPS = env_int("EMULATOR_PROGRESS_STEPS", 5, minimum=1, maximum=100)
EMULATOR_FAILURE_RATE = env_float("EMULATOR_FAILURE_RATE", 0, minimum=0, maximum=1)
EMULATOR_OPENAI_RETENTION_SECONDS = env_int("EMULATOR_OPENAI_RETENTION_SECONDS", 3600, minimum=1)
EMULATOR_AZURE_RETENTION_SECONDS = env_int("EMULATOR_AZURE_RETENTION_SECONDS", 86400, minimum=1)
EMULATOR_GEMINI_RETENTION_SECONDS = env_int("EMULATOR_GEMINI_RETENTION_SECONDS", 2 * 86400, minimum=1)
# How long the emulated Runway output URLs stay signed (a fresh GET of the task signs new ones).
EMULATOR_RUNWAY_URL_SECONDS = 86400
EMULATOR_ARK_RETENTION_SECONDS = env_int("EMULATOR_ARK_RETENTION_SECONDS", 86400, minimum=1)
EMULATOR_REQUESTS_PER_MINUTE = env_int("EMULATOR_REQUESTS_PER_MINUTE", 0, minimum=0)
# Public keys (PEM) of the service accounts the emulator's OAuth token endpoint trusts (tests).
EMULATOR_VERTEX_PUBLIC_KEYS: list[str] = []
EMULATOR_MAX_CONCURRENT_JOBS = env_int("EMULATOR_MAX_CONCURRENT_JOBS", 0, minimum=0)
EMULATOR_VIDEO_BYTES = env_int("EMULATOR_VIDEO_BYTES", 0, minimum=0)

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "project.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": f"{SITE_NAME} API",
    "DESCRIPTION": "OpenAI-compatible video generation API. Authenticate with `Authorization: Bearer <token>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Rate-limit counters (accounts/ratelimit.py) use the "ratelimit" cache when there is one: Redis,
# whose INCR is atomic across hosts. Without Redis they live in the database (an atomic upsert),
# because the file cache's incr is a read then a write that concurrent processes can undo.
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "ratelimit",
        },
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# --- Security -----------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Load balancers probe over plain HTTP; the answer holds nothing private.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if not SECURE_HSTS_PRELOAD:
        # Turning preload off is a deliberate choice, so its deploy warning is silenced.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))},
    # httpx logs every request's whole URL at INFO: signed download URLs and users' webhook URLs
    # carry credentials in their query strings.
    "loggers": {"axes": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}
