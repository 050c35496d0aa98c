"""REST throttles (on the Django cache: Redis in production). Hard limits live in the DB."""

import logging

from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class _PrincipalThrottle(SimpleRateThrottle):
    def allow_request(self, request, view):
        # A rate limit protects; it must not take the API down with the cache. If Redis is
        # unreachable the request goes through (hard limits are database constraints).
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # noqa: BLE001 - any cache backend failure
            logger.warning("throttle %s skipped: cache unavailable (%s)", self.scope, type(exc).__name__)
            return True

    def get_cache_key(self, request, view):
        user = request.user
        ident = getattr(user, "pk", None) or getattr(getattr(user, "identity", None), "uid", None)
        return self.cache_format % {"scope": self.scope, "ident": ident or self.get_ident(request)}


class SignInThrottle(_PrincipalThrottle):
    scope = "sign_in"

    def get_cache_key(self, request, view):
        # Per address: sign-in is where token guessing would happen.
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PairingCreateThrottle(_PrincipalThrottle):
    scope = "pairing_create"


class MessageSendThrottle(_PrincipalThrottle):
    scope = "message_send"
