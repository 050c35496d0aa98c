"""Settings shared by every environment. Every knob has a working embedded default."""

from pathlib import Path

import environ

from halobestie.api_docs import API_DESCRIPTION

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

SECRET_KEY = env("SECRET_KEY", default="dev-insecure-halobestie-secret-key-change-me-0123456789")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "accounts",
    "pricing",
    "pairing",
    "chat",
    "billing",
    "notifications",
    "control_center",
    "webchat",
]

MIDDLEWARE = [
    "halobestie.middleware.ApiJsonErrorsMiddleware",
    "halobestie.middleware.AsyncFileStreamMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "halobestie.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "halobestie.middleware.ApiNoStoreMiddleware",
]

# The public app's URLconf; the internal entrypoint swaps in urls_internal per request.
ROOT_URLCONF = "halobestie.urls"
INTERNAL_URLCONF = "halobestie.urls_internal"

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
            ],
        },
    },
]

ASGI_APPLICATION = "halobestie.asgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Under ASGI a connection must never outlive a request or a socket handler.
DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool("DB_POOL", default=True):
    # Django's psycopg pool: closing a connection hands it back instead of ending the
    # PostgreSQL backend, so a socket frame does not pay connect + auth + fork (measured
    # in bench/: without it PostgreSQL spent most of its CPU forking backends).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN", default=2),
        "max_size": env.int("DB_POOL_MAX", default=16),
        "timeout": env.float("DB_POOL_TIMEOUT", default=3.0),  # fail fast (503) when PostgreSQL is gone
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded mode runs both entrypoints and the timer thread in one process.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
# The API speaks UTC (api.md); the control center shows staff their own zone.
TIME_ZONE = "UTC"
STAFF_TIME_ZONE = env("STAFF_TIME_ZONE", default="Asia/Jakarta")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# collectstatic (the Docker build) writes gzip copies that whitenoise serves to browsers that
# accept them: the web client's scripts go from 74 KB to 26 KB on the wire (webchat/measure.py).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "control_center:login"
LOGIN_REDIRECT_URL = "control_center:dashboard"
SESSION_COOKIE_AGE = env.int("STAFF_SESSION_SECONDS", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Staff login: lock an email after this many failures in the window; TOTP for transcripts.
STAFF_LOGIN_LOCK_AFTER = env.int("STAFF_LOGIN_LOCK_AFTER", default=5)
STAFF_LOGIN_LOCK_SECONDS = env.int("STAFF_LOGIN_LOCK_SECONDS", default=15 * 60)
STAFF_TRANSCRIPT_REQUIRES_TOTP = env.bool("STAFF_TRANSCRIPT_REQUIRES_TOTP", default=False)
SESSION_COOKIE_HTTPONLY = True
# --- Crisis triage (control center) -----------------------------------------------------------
# A mitra holding this many live risk-flagged sessions gets no new offers and cannot accept or be
# rerouted another session (0 = no limit).
CRISIS_MAX_FLAGGED_PER_MITRA = env.int("CRISIS_MAX_FLAGGED_PER_MITRA", default=1)
# A `high` case still unacknowledged this long notifies on-call outside the browser, once.
CRISIS_ONCALL_AFTER_SECONDS = env.int("CRISIS_ONCALL_AFTER_SECONDS", default=120)
CRISIS_ONCALL_CHANNEL = env("CRISIS_ONCALL_CHANNEL", default="email")        # email | webhook | off
CRISIS_ONCALL_EMAILS = env.list("CRISIS_ONCALL_EMAILS", default=[])
CRISIS_ONCALL_WEBHOOK_URL = env("CRISIS_ONCALL_WEBHOOK_URL", default="")
CONTROL_CENTER_BASE_URL = env("CONTROL_CENTER_BASE_URL", default="http://127.0.0.1:8001")
# e.g. smtp+tls://user:password@smtp.example.com:587 ; the default prints mail to the console
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Halo Bestie <no-reply@halobestie.local>")
CSRF_COOKIE_HTTPONLY = True

# --- Redis: the switch between embedded mode and the real stack -------------------------
REDIS_URL = env("REDIS_URL", default="")
EMBEDDED = not REDIS_URL

if REDIS_URL:
    # Pub/sub layer: measured fastest (see README, bench/). At-most-once delivery is
    # fine because PostgreSQL is the source of truth and apps catch up by cursor.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "halobestie.sockets.layer.CoalescingPubSubChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env("CHANNEL_PREFIX", default="hb"),
                **(
                    {"symmetric_encryption_keys": env.list("CHANNEL_ENCRYPTION_KEYS")}
                    if env("CHANNEL_ENCRYPTION_KEYS", default="")
                    else {}
                ),
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_PREFIX", default="hb"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Metrics (README: Metrics) -----------------------------------------------------------
# Every process adds its counts to Redis under this prefix; the internal /metrics sums them.
METRICS_PREFIX = env("METRICS_PREFIX", default=f"{env('CACHE_PREFIX', default='hb')}:metrics")
METRICS_FLUSH_SECONDS = env.float("METRICS_FLUSH_SECONDS", default=5.0)
METRICS_SHIP = env.bool("METRICS_SHIP", default=True)
# Optional bearer token Prometheus must send to /metrics (empty: the internal network is the guard).
METRICS_TOKEN = env("METRICS_TOKEN", default="")

# --- Celery: timers, timeouts, pushes ----------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Without a broker, tasks run inline (pushes) and the in-process ticker runs the clock.
CELERY_TASK_ALWAYS_EAGER = EMBEDDED
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="halobestie")
CELERY_IMPORTS = ["halobestie.timers"]
CELERY_BEAT_SCHEDULE = {
    "sweep-overdue": {"task": "halobestie.timers.sweep", "schedule": 5.0},
}
# How often the embedded ticker (and beat) look for overdue deadlines, seconds.
SWEEP_INTERVAL = env.float("SWEEP_INTERVAL", default=2.0)
# /api/shared/ready reports the sweep as late past this many seconds since its last tick.
READY_SWEEP_MAX_AGE = env.float("READY_SWEEP_MAX_AGE", default=60.0)

# --- REST --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["halobestie.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "halobestie.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "halobestie.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    # Rates per verified user or token, not per address (see halobestie/throttles.py).
    "DEFAULT_THROTTLE_RATES": {
        "sign_in": env("THROTTLE_SIGN_IN", default="30/min"),
        "sign_in_token": env("THROTTLE_SIGN_IN_TOKEN", default="10/min"),
        "sign_in_address": env("THROTTLE_SIGN_IN_ADDRESS", default="1200/min"),
        "pairing_create": env("THROTTLE_PAIRING", default="20/min"),
        "message_send": env("THROTTLE_MESSAGES", default="120/min"),
    },
    # The client address is REMOTE_ADDR, which uvicorn sets from X-Forwarded-For only for
    # TRUSTED_PROXIES; DRF must never read the header itself.
    "NUM_PROXIES": 0,
}
# The load balancers whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's
# --forwarded-allow-ips, set by halobestie.serve). Anyone else's headers are ignored.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=["127.0.0.1", "::1"])
SPECTACULAR_SETTINGS = {
    "TITLE": "Halo Bestie API",
    "DESCRIPTION": API_DESCRIPTION,
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Several shapes have a "status" enum; name each so the schema is stable and unambiguous.
    "ENUM_NAME_OVERRIDES": {"PresenceStatusEnum": ["online", "offline"]},
    # Views validate PATCH bodies like any other (not partially): keep `required` in the schema.
    "COMPONENT_SPLIT_PATCH": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "halobestie.openapi.allow_empty_query_values",
    ],
    # Swagger/Redoc assets served by us (no CDN: works offline and under our CSP).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# Personal data (UU PDP): message text older than this is purged by `purge_expired`.
MESSAGE_RETENTION_DAYS = env.int("MESSAGE_RETENTION_DAYS", default=365)

# --- Firebase ----------------------------------------------------------------------------
FIREBASE_PROJECT_ID = env("FIREBASE_PROJECT_ID", default="demo-halobestie")
FIREBASE_AUTH_EMULATOR_HOST = env("FIREBASE_AUTH_EMULATOR_HOST", default="")
FIREBASE_CREDENTIALS_FILE = env("FIREBASE_CREDENTIALS_FILE", default="")
# The web client's sign-in (webchat/): the development-only sign-in mints emulator-mode
# tokens in the browser; otherwise the vendored Firebase Web SDK signs in. Production
# refuses the former (production.py), as it refuses emulator mode.
WEBCHAT_DEV_SIGN_IN = env.bool("WEBCHAT_DEV_SIGN_IN", default=bool(FIREBASE_AUTH_EMULATOR_HOST))
WEBCHAT_FIREBASE = {
    "apiKey": env("FIREBASE_WEB_API_KEY", default=""),
    "authDomain": env("FIREBASE_AUTH_DOMAIN", default=f"{FIREBASE_PROJECT_ID}.firebaseapp.com"),
    "projectId": FIREBASE_PROJECT_ID,
}
# "fcm" sends through firebase-admin messaging; "log" only logs (embedded mode).
PUSH_BACKEND = env("PUSH_BACKEND", default="log" if EMBEDDED else "fcm")
# Tests point firebase-admin messaging at a local fake FCM server.
FCM_BASE_URL = env("FCM_BASE_URL", default="")

# --- Xendit ------------------------------------------------------------------------------
XENDIT_SECRET_KEY = env("XENDIT_SECRET_KEY", default="")
XENDIT_CALLBACK_TOKEN = env("XENDIT_CALLBACK_TOKEN", default="sandbox-callback-token")
XENDIT_BASE_URL = env("XENDIT_BASE_URL", default="https://api.xendit.co")
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# The public entrypoint runs the sync part of HTTP requests (middleware, DRF views) on this
# many long-lived threads (halobestie/http.py) instead of a new thread per request.
HTTP_SYNC_THREADS = env.int("HTTP_SYNC_THREADS", default=8)

# --- Sockets -----------------------------------------------------------------------------
WS_ALLOWED_ORIGINS = env.list("WS_ALLOWED_ORIGINS", default=[])
WS_AUTH_TIMEOUT = env.float("WS_AUTH_TIMEOUT", default=10.0)
WS_MAX_FRAME_BYTES = 64 * 1024
# Socket frames do their database work on this many threads per process (halobestie/sockets/db.py);
# keep it at or below DB_POOL_MAX. A frame that waited longer than SOCKET_DB_MAX_WAIT seconds
# for a thread switches the process to refusing write frames with `throttled` until it drains.
SOCKET_DB_THREADS = env.int("SOCKET_DB_THREADS", default=8)
SOCKET_DB_MAX_WAIT = env.float("SOCKET_DB_MAX_WAIT", default=0.3)
# ...and when its event loop runs later than this many seconds (its CPU is the limit); 0 turns it off.
SOCKET_MAX_LOOP_LAG = env.float("SOCKET_MAX_LOOP_LAG", default=0.1)
# message.send runs its one statement on the event loop, on this many connections per process
# (halobestie/sockets/pg.py; PostgreSQL only); 0 keeps it on the thread pool.
SOCKET_LOOP_DB_CONNECTIONS = env.int("SOCKET_LOOP_DB_CONNECTIONS", default=4)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "halobestie.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "halobestie.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("LOG_FORMAT", default="plain"),
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        # 4xx warnings carry request paths (device tokens live in one); errors only.
        "django.request": {"level": "ERROR"},
        "httpx": {"level": "WARNING"},
        # One INFO line per Celery task ("received", "succeeded") is one per push, per
        # timer: noise in production. Failures still log at WARNING/ERROR.
        "celery.app.trace": {"level": "WARNING"},
        "celery.worker.strategy": {"level": "WARNING"},
    },
}
