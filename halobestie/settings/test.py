"""Test settings: the real PostgreSQL and Redis of the machine unless told otherwise."""

import os

os.environ.setdefault("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
# No connection pool in tests: Django's test client keeps request connections open per
# thread (it disconnects close_old_connections), so the many threads of the race tests
# would drain a pool. Production and the benchmark use the pool (base.py).
os.environ.setdefault("DB_POOL", "false")
# Each test run uses its own key prefixes so parallel runs do not see each other.
os.environ.setdefault("CHANNEL_PREFIX", f"hbtest{os.getpid()}")
os.environ.setdefault("CACHE_PREFIX", f"hbtest{os.getpid()}")
os.environ.setdefault("CELERY_QUEUE", f"hbtest{os.getpid()}")
# Only servers a metrics test starts ship metrics (METRICS_SHIP=1 in their environment).
os.environ.setdefault("METRICS_SHIP", "false")

from .base import *  # noqa: E402,F403
from .base import DATABASES, env  # noqa: E402

FIREBASE_AUTH_EMULATOR_HOST = os.environ["FIREBASE_AUTH_EMULATOR_HOST"]
# Tasks run inline in the test process (pushes reach the fake FCM server synchronously);
# the clock is driven by calling the sweep, or by a real worker in the Celery tests.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
PUSH_BACKEND = env("PUSH_BACKEND", default="log")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_halobestie")}
REST_FRAMEWORK = {**REST_FRAMEWORK}  # noqa: F405
# High enough never to bother a test; a server subprocess may be given real rates by env.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "sign_in": env("THROTTLE_SIGN_IN", default="1000/min"),
    "pairing_create": env("THROTTLE_PAIRING", default="1000/min"),
    "message_send": env("THROTTLE_MESSAGES", default="5000/min"),
}
WHITENOISE_USE_FINDERS = True
