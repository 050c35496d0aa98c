"""Reads for presence and pairing: who is available, what a mitra is offered."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import Mitra
from accounts.selectors import platform_settings

from . import hooks
from .models import MitraBlock, MitraPresence, PairingOffer, PairingRequest


def mitra_wellbeing_block(mitra_id, now: datetime | None = None) -> str | None:
    """Why this mitra may not take a new session now (daily cap, pause), or None."""
    return hooks.SESSION_LOAD.mitra_wellbeing_block(mitra_id, now or timezone.now())


def recent_median_wait_seconds() -> int | None:
    """Median seconds from request to match over the last 24 h (cached a minute)."""
    from django.core.cache import cache

    cached = cache.get("pairing:median_wait")
    if cached is not None:
        return cached if cached >= 0 else None
    since = timezone.now() - timedelta(hours=24)
    waits = sorted(
        (ended - created).total_seconds()
        for created, ended in PairingRequest.objects.filter(
            state=PairingRequest.State.MATCHED, created_at__gte=since, ended_at__isnull=False
        ).values_list("created_at", "ended_at")[:1000]
    )
    median = int(waits[len(waits) // 2]) if waits else None
    cache.set("pairing:median_wait", median if median is not None else -1, 60)
    return median


def heartbeat_fresh_after(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    return now - timedelta(seconds=platform_settings().auto_offline_after)


def available_mitras(*, now: datetime | None = None, exclude_ids=(), for_client_id=None):
    """Online, active, heartbeat fresh, below capacity: one query, whatever the count."""
    settings_row = platform_settings()
    now = now or timezone.now()
    qs = Mitra.objects.filter(
        is_active=True,
        presence__status=MitraPresence.Status.ONLINE,
        presence__last_heartbeat_at__gte=heartbeat_fresh_after(now),
    )
    # Below capacity and within the wellbeing limits: chat knows the sessions (hooks.py).
    qs = hooks.SESSION_LOAD.filter_available(qs, now=now, settings_row=settings_row)
    if exclude_ids:
        qs = qs.exclude(id__in=list(exclude_ids))
    if for_client_id is not None:
        qs = qs.exclude(id__in=_blocked_by(for_client_id))
    return qs


def _blocked_by(client_id):
    return MitraBlock.objects.filter(client_id=client_id).values("mitra_id")


def mitra_live_sessions(mitra_id) -> int:
    return hooks.SESSION_LOAD.mitra_live_sessions(mitra_id)


def open_offers_for(mitra: Mitra):
    return (
        PairingRequest.objects.filter(
            state=PairingRequest.State.SEARCHING,
            expires_at__gt=timezone.now(),
            offers__mitra=mitra,
            offers__state=PairingOffer.State.OPEN,
        )
        .select_related("client")
        .order_by("created_at")
    )


def searching_requests_for_new_mitra(mitra: Mitra):
    """Requests still searching that this mitra has not been offered (or declined)."""
    return (
        PairingRequest.objects.filter(state=PairingRequest.State.SEARCHING, expires_at__gt=timezone.now())
        .exclude(offers__mitra=mitra)
        .exclude(client__mitra_blocks__mitra=mitra)
        .exclude(preferred_mitra__isnull=False)
        .select_related("client")
        .order_by("created_at")
    )
