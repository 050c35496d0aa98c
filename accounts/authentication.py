"""Who is calling: a Firebase identity resolved to a Client or a Mitra.

The DRF authentication classes and the socket auth both call `resolve_principal`, so a
token means the same thing over REST and over a socket.
"""

from __future__ import annotations

from rest_framework import authentication, exceptions

from halobestie.errors import ApplicationError

from .firebase import FirebaseIdentity, TokenError, verify_id_token
from .models import Client, Mitra
from .services import client_sign_in, mitra_sign_in


def _linked_mitra(identity: FirebaseIdentity) -> Mitra | None:
    mitra = Mitra.objects.filter(firebase_uid=identity.uid).first()
    if mitra is None and identity.provider == "phone" and identity.phone:
        mitra = Mitra.objects.filter(phone=identity.phone).first()
    return mitra


def ensure_not_mitra(identity: FirebaseIdentity) -> None:
    if _linked_mitra(identity) is not None:
        raise ApplicationError("permission_denied", "A mitra token cannot use the client app.")


def resolve_client(identity: FirebaseIdentity) -> Client:
    client = Client.objects.filter(firebase_uid=identity.uid).first()
    if client is None:
        ensure_not_mitra(identity)
        client, _ = client_sign_in(identity=identity)
    if client.deleted_at:
        raise ApplicationError("account_deactivated", "This account was deleted.")
    return client


def resolve_mitra(identity: FirebaseIdentity) -> Mitra:
    mitra = _linked_mitra(identity)
    if mitra is None:
        if Client.objects.filter(firebase_uid=identity.uid).exists():
            raise ApplicationError("permission_denied", "A client token cannot use the mitra app.")
        raise ApplicationError("mitra_not_registered", "This phone number is not registered as a mitra.")
    if not mitra.is_active:
        raise ApplicationError("account_deactivated", "This mitra account is deactivated.")
    if mitra.firebase_uid != identity.uid:
        mitra = mitra_sign_in(identity=identity)
    return mitra


def resolve_principal(identity: FirebaseIdentity, role: str) -> Client | Mitra:
    return resolve_client(identity) if role == "client" else resolve_mitra(identity)


def bearer_token(header: str) -> str | None:
    parts = (header or "").split()
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1]
    if parts:
        raise TokenError("invalid_token", "Authorization must be 'Bearer <token>'.")
    return None


class FirebaseAuthentication(authentication.BaseAuthentication):
    """Verifies the bearer token and returns (principal, identity) for `role`."""

    role = ""  # "client" | "mitra" | "any"
    resolve = True

    def authenticate(self, request):
        try:
            token = bearer_token(request.META.get("HTTP_AUTHORIZATION", ""))
            if token is None:
                return None
            identity = verify_id_token(token)
        except TokenError as exc:
            raise exceptions.AuthenticationFailed(exc.detail, code=exc.code) from None
        if not self.resolve:
            return (IdentityOnly(identity), identity)
        role = self.role
        if role == "any":
            role = "mitra" if _linked_mitra(identity) else "client"
        return (resolve_principal(identity, role), identity)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="halobestie"'


class IdentityOnly:
    """A verified token whose account is resolved by the view (the sign-in endpoints)."""

    is_authenticated = True

    def __init__(self, identity: FirebaseIdentity):
        self.identity = identity


class ClientAuthentication(FirebaseAuthentication):
    role = "client"


class MitraAuthentication(FirebaseAuthentication):
    role = "mitra"


class AnyRoleAuthentication(FirebaseAuthentication):
    role = "any"


class TokenOnlyAuthentication(FirebaseAuthentication):
    resolve = False
