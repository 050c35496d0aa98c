"""REST throttles (on the Django cache: Redis in production). Hard limits live in the DB."""

from rest_framework.throttling import SimpleRateThrottle


class _PrincipalThrottle(SimpleRateThrottle):
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
