"""Reads for presence and pairing: who is available, what a mitra is offered."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Mitra
from accounts.selectors import platform_settings
from chat.models import LIVE_STATES, Session

from .models import MitraPresence, PairingOffer, PairingRequest


def heartbeat_fresh_after(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    return now - timedelta(seconds=platform_settings().auto_offline_after)


def available_mitras(*, now: datetime | None = None, exclude_ids=(), for_client_id=None):
    """Online, active, heartbeat fresh, below capacity: one query, whatever the count."""
    settings_row = platform_settings()
    qs = (
        Mitra.objects.filter(
            is_active=True,
            presence__status=MitraPresence.Status.ONLINE,
            presence__last_heartbeat_at__gte=heartbeat_fresh_after(now),
        )
        .annotate(live=Count("sessions", filter=Q(sessions__state__in=LIVE_STATES)))
        .filter(live__lt=settings_row.max_customers_per_mitra)
    )
    if exclude_ids:
        qs = qs.exclude(id__in=list(exclude_ids))
    if for_client_id is not None:
        qs = qs.exclude(id__in=_blocked_by(for_client_id))
    return qs


def _blocked_by(client_id):
    from .models import MitraBlock

    return MitraBlock.objects.filter(client_id=client_id).values("mitra_id")


def mitra_live_sessions(mitra_id) -> int:
    return Session.objects.filter(mitra_id=mitra_id, state__in=LIVE_STATES).count()


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


def client_open_request(client_id):
    return PairingRequest.objects.filter(client_id=client_id, state=PairingRequest.State.SEARCHING).first()
