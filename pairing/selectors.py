"""Reads for presence and pairing: who is available, what a mitra is offered."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import Mitra
from accounts.selectors import platform_settings
from chat.models import LIVE_STATES, Session

from .models import MitraPresence, PairingOffer, PairingRequest


def start_of_day(now: datetime) -> datetime:
    """Midnight in the staff time zone (a mitra's "day" is a Jakarta day)."""
    from zoneinfo import ZoneInfo

    from django.conf import settings

    local = now.astimezone(ZoneInfo(settings.STAFF_TIME_ZONE))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def mitra_wellbeing_block(mitra_id, now: datetime | None = None) -> str | None:
    """Why this mitra may not take a new session now (daily cap, pause), or None."""
    settings_row = platform_settings()
    now = now or timezone.now()
    if settings_row.mitra_daily_session_cap:
        today = Session.objects.filter(mitra_id=mitra_id, matched_at__gte=start_of_day(now)).count()
        if today >= settings_row.mitra_daily_session_cap:
            return "daily session cap reached"
    if settings_row.pause_after_flagged_minutes:
        since = now - timedelta(minutes=settings_row.pause_after_flagged_minutes)
        if Session.objects.filter(mitra_id=mitra_id, closed_at__gte=since).exclude(risk_level="").exists():
            return "pause after a risk-flagged session"
    limit = _flagged_limit()
    if limit and live_flagged_sessions(mitra_id) >= limit:
        return "holds a live risk-flagged session"
    return None


def _flagged_limit() -> int:
    from django.conf import settings

    return settings.CRISIS_MAX_FLAGGED_PER_MITRA


def live_flagged_sessions(mitra_id) -> int:
    """Live sessions of this mitra that the crisis check flagged (the per-mitra limit)."""
    return Session.objects.filter(mitra_id=mitra_id, state__in=LIVE_STATES).exclude(risk_level="").count()


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
    qs = (
        Mitra.objects.filter(
            is_active=True,
            presence__status=MitraPresence.Status.ONLINE,
            presence__last_heartbeat_at__gte=heartbeat_fresh_after(now),
        )
        .annotate(live=Count("sessions", filter=Q(sessions__state__in=LIVE_STATES)))
        .filter(live__lt=settings_row.max_customers_per_mitra)
    )
    # Mitra wellbeing: a daily cap, and a pause after a risk-flagged session.
    if settings_row.mitra_daily_session_cap:
        qs = qs.annotate(
            today=Count("sessions", filter=Q(sessions__matched_at__gte=start_of_day(now)), distinct=True)
        ).filter(today__lt=settings_row.mitra_daily_session_cap)
    if settings_row.pause_after_flagged_minutes:
        recent_flag = Session.objects.filter(
            mitra=OuterRef("pk"), closed_at__gte=now - timedelta(minutes=settings_row.pause_after_flagged_minutes)
        ).exclude(risk_level="")
        qs = qs.exclude(Exists(recent_flag))
    # Crisis triage: a mitra already holding live flagged sessions up to the limit gets no offers.
    if _flagged_limit():
        qs = qs.annotate(
            live_flagged=Count("sessions", filter=Q(sessions__state__in=LIVE_STATES) & ~Q(sessions__risk_level=""),
                               distinct=True)
        ).filter(live_flagged__lt=_flagged_limit())
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
