"""Settings, read from the environment (see the table in README.md).

`QUANYI_ENV` is `development` (default), `test` or `production`. Outside production, an unset
`DATABASE_URL` / `REDIS_URL` starts the embedded fallbacks of `platform.embedded`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"environment variable {name} must be set")
    return value


def env_bool(name: str, default: bool) -> bool:
    return env(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


QUANYI_ENV = env("QUANYI_ENV", "development")
PRODUCTION = QUANYI_ENV == "production"
TESTING = QUANYI_ENV == "test"
DEBUG = env_bool("DEBUG", QUANYI_ENV == "development")

_DEV_SECRET = "dev-only-secret-key-not-for-production-use-0123456789abcdef"  # noqa: S105
SECRET_KEY = env("SECRET_KEY") if PRODUCTION else env("SECRET_KEY", _DEV_SECRET)
# Keys for personal data (phone numbers, codes, card secrets): a comma-separated list of
# 32-byte url-safe base64 keys, the first one encrypts, all of them decrypt (rotation).
PII_ENCRYPTION_KEYS = (
    env_list("PII_ENCRYPTION_KEYS")
    if PRODUCTION
    else env_list("PII_ENCRYPTION_KEYS", "ZGV2LW9ubHktcGlpLWtleS1ub3QtZm9yLXByb2R1Y3Q=")
)
# Keyed digests for look-ups of phone numbers and codes, and derivation of API signing secrets.
PII_DIGEST_KEY = env("PII_DIGEST_KEY") if PRODUCTION else env("PII_DIGEST_KEY", "dev-only-digest-key")
API_KEY_PEPPER = env("API_KEY_PEPPER") if PRODUCTION else env("API_KEY_PEPPER", "dev-only-api-key-pepper")

# The platform's own host; each bank gets `<slug>.<PLATFORM_HOST>`.
PLATFORM_HOST = env("PLATFORM_HOST", "quanyi.localhost")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", f".{PLATFORM_HOST},{PLATFORM_HOST},localhost,127.0.0.1")
# Custom domains of banks are checked by the tenant middleware; production adds them here.
if not PRODUCTION:
    ALLOWED_HOSTS = ["*"]

# --- database -------------------------------------------------------------------------------
# a type checker imports these settings too: it must not start servers
TYPE_CHECKING_RUN = "mypy" in sys.modules
if "DATABASE_URL" not in os.environ and not PRODUCTION and not TYPE_CHECKING_RUN:
    from platform import embedded

    embedded.database_url()
DATABASES = {
    "default": {
        **dj_database_url.parse(
            env("DATABASE_URL", "postgres://localhost/typecheck" if TYPE_CHECKING_RUN else None),
            conn_max_age=int(env("DB_CONN_MAX_AGE", "60")),
        ),
        "ENGINE": "django_tenants.postgresql_backend",
    }
}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- tenancy --------------------------------------------------------------------------------
SHARED_APPS = [
    "django_tenants",
    "platform.apps.PlatformConfig",
    "tenants",
    "accounts",
    "rights_catalog",
    "billing",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "accounts",
    "campaigns",
    "fulfillment",
    "messaging",
    "h5_templates",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]
TENANT_MODEL = "tenants.Bank"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "platform.urls_public"
ROOT_URLCONF = "platform.urls_tenant"
# New banks are cloned from this migrated template schema (tenants.provisioning).
TENANT_TEMPLATE_SCHEMA = "bank_template"
# set the search_path once per connection use, not before every query (half the round trips)
TENANT_LIMIT_SET_CALLS = True
AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    "tenants.middleware.BankMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "platform.i18n.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenants.middleware.SuspendedBankMiddleware",
    "platform.errors.ApplicationErrorMiddleware",
    "billing.middleware.PastDueWarningMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "platform" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]
WSGI_APPLICATION = "platform.wsgi.application"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- language -------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static and files -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# outside production, static files are served from the apps' folders without collectstatic
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
STORAGE_BACKEND = env("STORAGE_BACKEND", "local")  # local | s3
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if STORAGE_BACKEND == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("S3_BUCKET"),
            "endpoint_url": env("S3_ENDPOINT_URL", "") or None,
            "region_name": env("AWS_REGION", "ap-east-1"),
            "default_acl": None,
            "querystring_expire": 600,
        },
    }

# --- redis, cache, celery -------------------------------------------------------------------
if "REDIS_URL" not in os.environ and not PRODUCTION and not TYPE_CHECKING_RUN:
    from platform import embedded

    embedded.redis_url()
REDIS_URL = env("REDIS_URL", "redis://localhost:6379/0" if TYPE_CHECKING_RUN else None)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}
# sessions in Redis: the cache key function carries the bank's schema, so a session of one bank is
# unknown on another's host; no session row is read or written per request (decision 0006)
SESSION_ENGINE = "django.contrib.sessions.backends.cache"


def _celery_broker(url: str) -> str:
    # kombu spells a Redis unix socket `redis+socket://<path>`
    return "redis+socket://" + url.removeprefix("unix://") if url.startswith("unix://") else url


CELERY_BROKER_URL = env("CELERY_BROKER_URL", _celery_broker(REDIS_URL))
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
# keep a worker's database connection across tasks (Celery's Django fix-up closes it after every
# task otherwise: a new PostgreSQL session, ~20 ms, per task)
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TIMEZONE = TIME_ZONE
# Longer than the longest countdown we schedule, so a delayed task is not redelivered early.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULER = "platform.beat:BankAwareScheduler"
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "var" / "celerybeat-schedule")
# bank-wide periodic jobs: beat sends each to every active bank (platform.beat)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "campaigns-tick": {"task": "campaigns.tick", "schedule": 60.0},
}
# heavy jobs go to the `bulk` queue so they never delay redemptions, fulfilment or SMS
CELERY_TASK_ROUTES: dict[str, dict[str, str]] = {
    "campaigns.code_batch_generate": {"queue": "bulk"},
    "campaigns.whitelist_import": {"queue": "bulk"},
}
# billing: each copy (one per active bank) reports every bank's pending usage; leases split the work
CELERY_BEAT_SCHEDULE["billing-usage-report"] = {
    "task": "billing.usage_report",
    "schedule": 60.0,
    "options": {"queue": "billing"},
}
CELERY_BEAT_SCHEDULE["billing-statement-previous-month"] = {
    "task": "billing.statement_previous_month",
    "schedule": crontab(minute="30", hour="2", day_of_month="1"),
    "options": {"queue": "billing"},
}
# messaging: re-hand lost or held texts, flag texts stuck in `sending` (each active bank, every minute)
CELERY_BEAT_SCHEDULE["messaging-sweep"] = {"task": "messaging.sweep", "schedule": 60.0, "options": {"queue": "sms"}}
# suppliers: balance refresh and alerts (public rows; the first bank's copy takes a lease, the rest return)
CELERY_BEAT_SCHEDULE["suppliers-health-check"] = {
    "task": "rights_catalog.suppliers_health_check",
    "schedule": 300.0,
    "options": {"queue": "queries"},
}

# fulfilment: move on orders stuck in any non-terminal state (each active bank, every minute)
CELERY_BEAT_SCHEDULE["fulfilment-sweep"] = {
    "task": "fulfillment.sweep",
    "schedule": 60.0,
    "options": {"queue": "queries"},
}
# fulfilment: yesterday's supplier statements against our orders (each active bank, daily 03:10)
CELERY_BEAT_SCHEDULE["fulfilment-reconcile"] = {
    "task": "fulfillment.reconcile",
    "schedule": crontab(minute="10", hour="3"),
    "options": {"queue": "queries"},
}

# --- security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", f"https://*.{PLATFORM_HOST},https://{PLATFORM_HOST}")

# Cardholder redemption: failed attempts allowed per phone, address and campaign within the window.
H5_FAILURES_PER_PHONE = int(env("H5_FAILURES_PER_PHONE", "5"))
H5_FAILURES_PER_IP = int(env("H5_FAILURES_PER_IP", "20"))
H5_FAILURES_PER_CAMPAIGN = int(env("H5_FAILURES_PER_CAMPAIGN", "500"))
H5_FAILURE_WINDOW_S = int(env("H5_FAILURE_WINDOW_S", "600"))

# bench/redeem.py's baseline view (a bare SELECT + UPDATE); never set in production
BENCH_BASELINE_VIEW = env_bool("BENCH_BASELINE_VIEW", False)

# API request signing: how far a timestamp may be from our clock, and how long nonces are kept.
API_SIGNATURE_MAX_SKEW_S = int(env("API_SIGNATURE_MAX_SKEW_S", "300"))

# --- integrations ---------------------------------------------------------------------------
STRIPE_API_KEY = env("STRIPE_API_KEY", "" if PRODUCTION else "sk_test_quanyi_local")
# the local fake Stripe (`manage.py run_fake_stripe`, started by the demo) outside production
FAKE_STRIPE_PORT = int(env("FAKE_STRIPE_PORT", "12111"))
STRIPE_API_BASE = env("STRIPE_API_BASE", "" if PRODUCTION else f"http://127.0.0.1:{FAKE_STRIPE_PORT}")
# billing: webhook timestamp tolerance, usage rows per report batch, days past due before the bank
# is warned in its console and may be suspended by platform staff
BILLING_WEBHOOK_TOLERANCE_S = int(env("BILLING_WEBHOOK_TOLERANCE_S", "300"))
BILLING_USAGE_BATCH_SIZE = int(env("BILLING_USAGE_BATCH_SIZE", "200"))
BILLING_PAST_DUE_GRACE_DAYS = int(env("BILLING_PAST_DUE_GRACE_DAYS", "7"))
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", "" if PRODUCTION else "whsec_quanyi_local")
AWS_ENDPOINT_URL = env("AWS_ENDPOINT_URL", "")  # a local S3/SNS server in development and tests
SMS_DEFAULT_BACKEND = env("SMS_DEFAULT_BACKEND", "console")

# --- logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"bank": {"()": "tenants.logging.BankContextFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s [%(schema_name)s] %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["bank"], "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- reports (issue #9): dashboards' rollups and exports in every bank schema (decision 0500) ---
TENANT_APPS.append("reports")
INSTALLED_APPS.append("reports")
# fold new event/state rows into the rollups (each active bank, every minute)
CELERY_BEAT_SCHEDULE["reports-fold"] = {"task": "reports.fold", "schedule": 60.0, "options": {"queue": "queries"}}
CELERY_TASK_ROUTES["reports.export"] = {"queue": "bulk"}
