"""Production: refuses to start in any mode that must never be live."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

_refusals = {
    "FIREBASE_AUTH_EMULATOR_HOST is set (unsigned tokens would be accepted)": bool(
        env("FIREBASE_AUTH_EMULATOR_HOST", default="")
    ),
    "WEBCHAT_DEV_SIGN_IN is on (the web client would mint unsigned tokens)": env.bool(
        "WEBCHAT_DEV_SIGN_IN", default=False
    ),
    "XENDIT_SECRET_KEY is unset (the sandbox gateway would take fake payments)": not env(
        "XENDIT_SECRET_KEY", default=""
    ),
    "XENDIT_CALLBACK_TOKEN is unset": not env("XENDIT_CALLBACK_TOKEN", default=""),
    "DEBUG is on": env.bool("DEBUG", default=False),
    "FCM_BASE_URL is set (pushes would go to a fake FCM)": bool(env("FCM_BASE_URL", default="")),
    "SECRET_KEY is the development default or too short": SECRET_KEY.startswith("dev-insecure")
    or len(SECRET_KEY) < 50,
    "REDIS_URL is unset (production needs channels-redis and Celery)": not env(
        "REDIS_URL", default=""
    ),
}
_bad = [reason for reason, failed in _refusals.items() if failed]
if _bad:
    raise ImproperlyConfigured("Refusing to start in production: " + "; ".join(_bad))

FIREBASE_AUTH_EMULATOR_HOST = ""
WEBCHAT_DEV_SIGN_IN = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^api/shared/health$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Whoever reads transcripts must have a second factor in production.
STAFF_TRANSCRIPT_REQUIRES_TOTP = env.bool("STAFF_TRANSCRIPT_REQUIRES_TOTP", default=True)
LOG_FORMAT = "json"
LOGGING["handlers"]["console"]["formatter"] = env("LOG_FORMAT", default="json")  # noqa: F405
