"""REST throttles (on the Django cache: Redis in production). Hard limits live in the DB.

Indonesian carriers put many users behind one address (carrier-grade NAT), so nothing is
limited per address except a generous flood ceiling on sign-in. Sign-in is limited per
verified Firebase user, and per token (counted before the token is verified, so a
replayed token costs no verification). A token never appears in a cache key or a log:
only a digest of it does.
"""

import hashlib
import logging

from django.core.cache.backends.redis import RedisCache
from django.utils.connection import ConnectionProxy
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


def token_digest(token: str) -> str:
    """What stands for a token in cache keys: a SHA-256 digest, never the token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _bearer(request) -> str:
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    return parts[1] if len(parts) == 2 and parts[0].lower() == "bearer" else ""


def _count(cache, key: str, timeout: int) -> int:
    """Add one to the window's counter and return it. On Redis one round trip (SET NX EX
    and INCR in a pipeline; Django's add + incr are three, incr checks the key exists
    first): a sign-in passes three throttles, and a reconnect storm is all sign-ins."""
    if isinstance(cache, ConnectionProxy):  # django.core.cache.cache, DRF's default: this thread's backend
        cache = cache._connections[cache._alias]
    if isinstance(cache, RedisCache):
        full_key = cache.make_and_validate_key(key)
        # Django builds a new redis-py client per cache call (its response-callback table
        # included: most of a sign-in's throttle cost in the connection-storm profile); one
        # per cache instance (Django keeps one per thread) shares the same connection pool.
        client = cache.__dict__.get("_throttle_client")
        if client is None:
            client = cache.__dict__["_throttle_client"] = cache._cache.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        pipe.set(full_key, 0, nx=True, ex=timeout)
        pipe.incr(full_key)
        return pipe.execute()[1]
    cache.add(key, 0, timeout=timeout)
    return cache.incr(key)


class _FailOpenThrottle(SimpleRateThrottle):
    """A fixed-window counter on the cache (Redis INCR: atomic across threads and web
    processes, unlike DRF's read-modify-write history list, and O(1) per request even for a
    1,200/min ceiling). A window may let through up to twice the rate across its edge."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self.retry_after = (window + 1) * self.duration - now
        key = f"{key}_{window}"
        # A rate limit protects; it must not take the API down with the cache. If Redis is
        # unreachable the request goes through (hard limits are database constraints).
        try:
            count = _count(self.cache, key, self.duration + 1)
        except ValueError:  # the window's key expired between add and incr: a new window
            return True
        except Exception as exc:  # noqa: BLE001 - any cache backend failure
            logger.warning("throttle %s skipped: cache unavailable (%s)", self.scope, type(exc).__name__)
            return True
        return count <= self.num_requests

    def wait(self):
        return max(1.0, getattr(self, "retry_after", self.duration))

    def key_for(self, ident: str | None) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": ident} if ident else None


class _PrincipalThrottle(_FailOpenThrottle):
    """Per signed-in client or mitra (the principal's id)."""

    def get_cache_key(self, request, view):
        return self.key_for(str(getattr(request.user, "pk", "") or "") or None)


class SignInAddressThrottle(_FailOpenThrottle):
    """The flood ceiling per address. REMOTE_ADDR only: uvicorn has already replaced it with
    the X-Forwarded-For client for trusted load balancers (TRUSTED_PROXIES); the header
    itself is never read here, so a client cannot choose its own address."""

    scope = "sign_in_address"

    def get_cache_key(self, request, view):
        return self.key_for(request.META.get("REMOTE_ADDR") or "unknown")


class SignInTokenThrottle(_FailOpenThrottle):
    """Per presented token, before it is verified (a replayed or junk token is cheap to refuse)."""

    scope = "sign_in_token"

    def get_cache_key(self, request, view):
        token = _bearer(request)
        return self.key_for(token_digest(token) if token else None)


class SignInThrottle(_FailOpenThrottle):
    """Per verified Firebase user (uid), whichever token or address they come with."""

    scope = "sign_in"

    def get_cache_key(self, request, view):
        identity = getattr(request.user, "identity", None)
        return self.key_for(getattr(identity, "uid", None))


class PairingCreateThrottle(_PrincipalThrottle):
    scope = "pairing_create"


class MessageSendThrottle(_PrincipalThrottle):
    scope = "message_send"
