"""pytest fixtures shared by every app's tests."""

from __future__ import annotations

import itertools

import pytest
from rest_framework.test import APIClient

from accounts.firebase import clear_cache
from accounts.models import Client, Mitra
from accounts.selectors import forget_platform_settings
from billing.models import Tier

from .tokens import mint_id_token

_phones = itertools.count(1)


def clear_django_cache() -> None:
    """Empty this test run's cache keys only. `cache.clear()` on Redis is FLUSHDB: it would
    wipe the Celery queues and socket registries of every other process sharing the Redis."""
    from django.conf import settings
    from django.core.cache import cache

    config = settings.CACHES["default"]
    if config["BACKEND"].endswith("RedisCache"):
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{config.get('KEY_PREFIX', '')}:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


# No leading underscore: the root conftest imports this module with `*`, which skips
# private names, and an autouse fixture that is not imported never runs.
@pytest.fixture(autouse=True)
def fresh_process_caches():
    forget_platform_settings()
    clear_cache()
    clear_django_cache()
    yield
    forget_platform_settings()


def client_token(uid: str, *, anonymous: bool = False, **kw) -> str:
    if anonymous:
        return mint_id_token(uid, provider="anonymous", **kw)
    return mint_id_token(uid, provider="google.com", email=f"{uid}@example.com", **kw)


def mitra_token(mitra: Mitra, **kw) -> str:
    return mint_id_token(f"uid-{mitra.phone.lstrip('+')}", provider="phone", phone=mitra.phone, **kw)


class Actor:
    """A signed-in app user: the row, its token and an API client carrying the token."""

    def __init__(self, user, token: str):
        self.user = user
        self.token = token
        self.api = APIClient()
        self.api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    @property
    def id(self):
        return self.user.id

    def refresh(self):
        self.user.refresh_from_db()
        return self.user


def make_client(name: str = "Ani", *, anonymous: bool = False) -> Actor:
    uid = f"client-{name.lower()}-{next(_phones)}"
    token = client_token(uid, anonymous=anonymous)
    client = Client.objects.create(firebase_uid=uid, display_name=name, is_anonymous=anonymous,
                                   sign_in_provider="anonymous" if anonymous else "google.com")
    return Actor(client, token)


def make_mitra(name: str = "Budi", *, online: bool = False) -> Actor:
    phone = f"+62812{next(_phones):07d}"
    mitra = Mitra.objects.create(phone=phone, display_name=name, firebase_uid=f"uid-{phone.lstrip('+')}")
    actor = Actor(mitra, mitra_token(mitra))
    if online:
        from pairing.services import presence_go_online

        presence_go_online(mitra=mitra)
    return actor


@pytest.fixture
def client_ani(db) -> Actor:
    return make_client("Ani")


@pytest.fixture
def client_citra(db) -> Actor:
    return make_client("Citra")


@pytest.fixture
def mitra_budi(db) -> Actor:
    return make_mitra("Budi", online=True)


@pytest.fixture
def mitra_dina(db) -> Actor:
    return make_mitra("Dina", online=True)


@pytest.fixture
def session_tier(db) -> Tier:
    return Tier.objects.create(kind="session", name="Curhat 30 menit", minutes=30, price=50000)


@pytest.fixture
def extension_tier(db) -> Tier:
    return Tier.objects.create(kind="extension", name="Tambah 15 menit", minutes=15, price=25000)


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()


@pytest.fixture
def live_public():
    """The public ASGI app on loopback (uvicorn subprocess); use with transaction=True."""
    from .live import LiveServer

    server = LiveServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Drop connections other threads/processes left open so the test DB can be dropped."""
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


# --- flows shared by many tests --------------------------------------------------------

def set_platform_settings(**changes):
    """Change platform settings through the audited service (validation included)."""
    from accounts.services import platform_settings_update

    row = platform_settings_update(actor=None, changes=changes)
    forget_platform_settings()
    return row


def request_trial(client: Actor, **extra) -> dict:
    """The client asks for a free-trial pairing; returns the pairing_request body."""
    r = client.api.post("/api/client/pairing-requests", {"free_trial": True, **extra}, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def accept(mitra: Actor, request_id: str) -> dict:
    r = mitra.api.post(f"/api/mitra/pairing-requests/{request_id}/accept")
    assert r.status_code == 201, r.content
    return r.json()


def start_trial_session(client: Actor, mitra: Actor) -> dict:
    """A free-trial session between them (the mitra must be online and available)."""
    return accept(mitra, request_trial(client)["id"])


def send_message(actor: Actor, session_id: str, body: str, client_message_id: str | None = None) -> dict:
    role = actor.user.role
    r = actor.api.post(f"/api/{role}/sessions/{session_id}/messages",
                       {"client_message_id": client_message_id or f"m-{next(_phones)}", "body": body},
                       format="json")
    assert r.status_code in (200, 201), r.content
    return r.json()
