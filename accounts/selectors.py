"""Reads of accounts data that several callers share."""

from __future__ import annotations

import time

from django.db.models import Q

from .models import Client, Mitra, PlatformSettings

_SETTINGS_TTL = 5.0
_settings_cache: tuple[float, PlatformSettings] | None = None


def platform_settings() -> PlatformSettings:
    """The settings row, cached in-process for a few seconds (hot paths read it a lot).

    Writers call `forget_platform_settings()`; other processes see a change within 5 s.
    """
    global _settings_cache
    now = time.monotonic()
    if _settings_cache and _settings_cache[0] > now:
        return _settings_cache[1]
    row, _ = PlatformSettings.objects.get_or_create(id=1)
    _settings_cache = (now + _SETTINGS_TTL, row)
    return row


def forget_platform_settings() -> None:
    global _settings_cache
    _settings_cache = None


def client_search(query: str = ""):
    qs = Client.objects.filter(deleted_at__isnull=True)
    if query:
        qs = qs.filter(
            Q(display_name__icontains=query)
            | Q(phone__icontains=query)
            | Q(email__icontains=query)
            | Q(id__startswith=query if len(query) >= 4 and _hexish(query) else "~")
        )
    return qs


def mitra_search(query: str = ""):
    qs = Mitra.objects.all()
    if query:
        qs = qs.filter(Q(display_name__icontains=query) | Q(phone__icontains=query))
    return qs


def _hexish(text: str) -> bool:
    return all(c in "0123456789abcdef-" for c in text.lower())


def client_name_for_mitra(client) -> str:
    """What a mitra sees of a client: the stable pseudonym, or the display name when the
    platform setting `client_identity_for_mitra` says so (and the client has one)."""
    if platform_settings().client_identity_for_mitra == "display_name" and client.display_name:
        return client.display_name
    return client.alias
