"""Reads for the control center: dashboard figures and the list and detail pages.

Plain functions returning querysets or small dataclasses. Every list query here is
built to need a fixed number of queries whatever the page size (select_related /
annotate), and "today" is the staff's local day (settings.STAFF_TIME_ZONE).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Case, Count, F, IntegerField, Min, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from accounts.models import AuditLog, Client, Mitra
from accounts.selectors import client_search, mitra_search
from billing.models import Extension, PaymentIncident, Transaction
from chat.models import LIVE_STATES, Feedback, Session, SessionReport
from halobestie.ids import parse_uuid
from notifications.models import Device
from pairing.models import MitraOnlineLog, MitraPresence, PairingRequest


def staff_zone() -> ZoneInfo:
    """The business day is the staff's day (Asia/Jakarta), whatever zone is active."""
    return ZoneInfo(getattr(settings, "STAFF_TIME_ZONE", settings.TIME_ZONE))


def today_start(now: datetime | None = None) -> datetime:
    local = timezone.localtime(now or timezone.now(), staff_zone())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=staff_zone())
    return start, start + timedelta(days=1)


# --- dashboard ---------------------------------------------------------------------------


def online_mitras() -> QuerySet[Mitra]:
    return (
        Mitra.objects.filter(is_active=True, presence__status=MitraPresence.Status.ONLINE)
        .select_related("presence")
        .annotate(live=Count("sessions", filter=Q(sessions__state__in=LIVE_STATES)))
        .order_by("display_name")
    )


def searching_requests() -> QuerySet[PairingRequest]:
    return (
        PairingRequest.objects.filter(state=PairingRequest.State.SEARCHING)
        .select_related("client", "tier")
        .annotate(offered=Count("offers"))
        .order_by("created_at")
    )


def live_sessions() -> QuerySet[Session]:
    """Live sessions, flagged ones first (most recently flagged on top)."""
    return (
        Session.objects.filter(state__in=LIVE_STATES)
        .select_related("client", "mitra", "tier")
        .annotate(flag_rank=Case(When(~Q(risk_level=""), then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("flag_rank", "-first_flagged_at", "-created_at")
    )


def sessions_today_count(now: datetime | None = None) -> int:
    return Session.objects.filter(created_at__gte=today_start(now)).count()


def no_bestie_rate_today(now: datetime | None = None) -> float | None:
    """Share of today's decided requests that expired unmatched: expired / (expired + matched)."""
    counts = PairingRequest.objects.filter(created_at__gte=today_start(now)).aggregate(
        expired=Count("id", filter=Q(state=PairingRequest.State.EXPIRED)),
        matched=Count("id", filter=Q(state=PairingRequest.State.MATCHED)),
    )
    decided = counts["expired"] + counts["matched"]
    return counts["expired"] / decided if decided else None


def median_wait_today(now: datetime | None = None) -> float | None:
    """Median seconds from request to match for requests matched today."""
    rows = PairingRequest.objects.filter(
        state=PairingRequest.State.MATCHED, created_at__gte=today_start(now), ended_at__isnull=False
    ).values_list("created_at", "ended_at")
    waits = [(ended - created).total_seconds() for created, ended in rows]
    return statistics.median(waits) if waits else None


def revenue_today(now: datetime | None = None) -> int:
    total = Transaction.objects.filter(status=Transaction.Status.PAID, paid_at__gte=today_start(now)).aggregate(
        total=Sum("amount")
    )["total"]
    return total or 0


@dataclass
class DashboardFigures:
    online_mitras: list[Mitra]
    searching_requests: list[PairingRequest]
    live_sessions: list[Session]
    sessions_today: int
    no_bestie_rate: float | None
    median_wait_seconds: float | None
    revenue_today: int
    flagged_sessions: list[Session] = field(default_factory=list)


def dashboard_figures(now: datetime | None = None) -> DashboardFigures:
    live = list(live_sessions())
    return DashboardFigures(
        online_mitras=list(online_mitras()),
        searching_requests=list(searching_requests()),
        live_sessions=live,
        sessions_today=sessions_today_count(now),
        no_bestie_rate=no_bestie_rate_today(now),
        median_wait_seconds=median_wait_today(now),
        revenue_today=revenue_today(now),
        flagged_sessions=[s for s in live if s.risk_level],
    )


# --- mitras ------------------------------------------------------------------------------


def mitra_list(query: str = "") -> QuerySet[Mitra]:
    return (
        mitra_search(query.strip())
        .annotate(
            live=Count("sessions", filter=Q(sessions__state__in=LIVE_STATES)), presence_status=F("presence__status")
        )
        .order_by("display_name", "id")
    )


def mitra_recent_feedback(mitra: Mitra, limit: int = 10) -> QuerySet[Feedback]:
    return Feedback.objects.filter(mitra=mitra).select_related("session").order_by("-created_at")[:limit]


def mitra_online_logs(mitra: Mitra) -> QuerySet[MitraOnlineLog]:
    return MitraOnlineLog.objects.filter(mitra=mitra).order_by("-started_at")


def mitra_sessions(mitra: Mitra) -> QuerySet[Session]:
    return Session.objects.filter(mitra=mitra).select_related("client", "tier").order_by("-created_at")


def mitra_presence(mitra: Mitra) -> MitraPresence | None:
    return MitraPresence.objects.filter(mitra=mitra).first()


# --- clients -----------------------------------------------------------------------------


def client_list(query: str = "") -> QuerySet[Client]:
    return client_search(query.strip()).annotate(session_count=Count("sessions")).order_by("-created_at", "id")


def client_sessions(client: Client) -> QuerySet[Session]:
    return Session.objects.filter(client=client).select_related("mitra", "tier").order_by("-created_at")


def client_transactions(client: Client) -> QuerySet[Transaction]:
    return Transaction.objects.filter(client=client).select_related("client", "session").order_by("-created_at")


def devices_for(owner) -> QuerySet[Device]:
    if isinstance(owner, Mitra):
        return Device.objects.filter(mitra=owner).order_by("-updated_at")
    return Device.objects.filter(client=owner).order_by("-updated_at")


# --- sessions ----------------------------------------------------------------------------

SESSION_STATE_FILTERS = ["live", *Session.State.values]


def session_list(
    *, state: str = "", mitra: str = "", client: str = "", day: date | None = None, flagged: bool = False
) -> QuerySet[Session]:
    qs = Session.objects.select_related("client", "mitra", "tier", "closure")
    if state == "live":
        qs = qs.filter(state__in=LIVE_STATES)
    elif state:
        qs = qs.filter(state=state)
    if mitra:
        mitra_id = parse_uuid(mitra)
        qs = (
            qs.filter(mitra_id=mitra_id)
            if mitra_id
            else qs.filter(Q(mitra__display_name__icontains=mitra) | Q(mitra__phone__icontains=mitra))
        )
    if client:
        client_id = parse_uuid(client)
        qs = qs.filter(client_id=client_id) if client_id else qs.filter(client__display_name__icontains=client)
    if day:
        start, end = _day_bounds(day)
        qs = qs.filter(created_at__gte=start, created_at__lt=end)
    if flagged:
        qs = qs.exclude(risk_level="")
    return qs.order_by("-created_at", "-id")


def session_detail(session_id) -> Session | None:
    sid = parse_uuid(session_id)
    if sid is None:
        return None
    return Session.objects.select_related("client", "mitra", "tier", "closure").filter(pk=sid).first()


def session_timeline(session: Session):
    return session.events.order_by("created_at", "id")


def session_extensions(session: Session):
    return session.extensions.select_related("tier").order_by("-requested_at")


def session_transactions(session: Session):
    return Transaction.objects.filter(session=session).select_related("client", "extension").order_by("-created_at")


# --- transactions ------------------------------------------------------------------------


def transaction_list(*, status: str = "", kind: str = "", day: date | None = None) -> QuerySet[Transaction]:
    qs = Transaction.objects.select_related("client", "session")
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if day:
        start, end = _day_bounds(day)
        qs = qs.filter(created_at__gte=start, created_at__lt=end)
    return qs.order_by("-created_at", "-id")


def refunds_needed() -> QuerySet[Transaction]:
    return (
        Transaction.objects.filter(status=Transaction.Status.REFUND_NEEDED)
        .select_related("client", "session")
        .order_by("created_at")
    )


def open_payment_incidents() -> QuerySet[PaymentIncident]:
    return PaymentIncident.objects.filter(resolved_at__isnull=True).select_related("transaction").order_by("created_at")


def needs_attention_count() -> int:
    return refunds_needed().count() + open_payment_incidents().count()


# --- client reports ----------------------------------------------------------------------

REPORT_FILTERS = [
    ("", "Open and in review"),
    ("open", "Open"),
    ("in_review", "In review"),
    ("resolved", "Resolved"),
    ("all", "All"),
]


def report_list(status: str = "") -> QuerySet[SessionReport]:
    qs = SessionReport.objects.select_related("session", "client", "mitra", "resolved_by")
    if status == "all":
        pass
    elif status:
        qs = qs.filter(status=status)
    else:
        qs = qs.exclude(status=SessionReport.Status.RESOLVED)
    return qs.order_by("created_at", "id") if status != "resolved" else qs.order_by("-updated_at", "-id")


def open_reports_count() -> int:
    return SessionReport.objects.exclude(status=SessionReport.Status.RESOLVED).count()


# --- audit log ---------------------------------------------------------------------------


def staff_list() -> QuerySet:
    """Every staff login with its groups (for the role) and two-factor row, in two queries."""
    return (
        get_user_model()
        .objects.filter(is_staff=True)
        .select_related("staff_totp")
        .prefetch_related("groups")
        .annotate(recovery_left=Count("staff_recovery_codes", filter=Q(staff_recovery_codes__used_at__isnull=True)))
        .order_by("-is_active", "username")
    )


def audit_list(*, action: str = "", target: str = "", actor: str = "") -> QuerySet[AuditLog]:
    """`target` is "type:id", a bare id, or a bare type."""
    qs = AuditLog.objects.select_related("actor").prefetch_related("actor__groups")
    if action:
        qs = qs.filter(action=action)
    if target:
        kind, _, ident = target.partition(":")
        if ident:
            qs = qs.filter(target_type=kind, target_id=ident)
        else:
            qs = qs.filter(Q(target_id=target) | Q(target_type=target))
    if actor:
        qs = qs.filter(actor_label__icontains=actor)
    return qs.order_by("-created_at", "-id")


def audit_actions() -> list[str]:
    return list(AuditLog.objects.order_by("action").values_list("action", flat=True).distinct())


# Each deadline the sweep acts on: (label, queryset of rows still waiting, deadline column).
# Mirrors the sweepers' filters (chat.services.lifecycle.session_sweep_overdue and friends).
def _deadlines() -> list[tuple[str, QuerySet, str]]:
    return [
        ("session_payment_due", Session.objects.filter(state="awaiting_payment"), "payment_due_at"),
        ("session_warning", Session.objects.filter(state="active"), "next_warning_at"),
        ("session_end", Session.objects.filter(state="active"), "ends_at"),
        ("session_goodbye_end", Session.objects.filter(state="closing"), "closing_ends_at"),
        ("pairing_request_expiry", PairingRequest.objects.filter(state=PairingRequest.State.SEARCHING), "expires_at"),
        ("extension_answer_due", Extension.objects.filter(state=Extension.State.REQUESTED), "respond_by"),
        ("payment_expiry", Transaction.objects.filter(status=Transaction.Status.PENDING), "expires_at"),
    ]


def overdue_deadlines(now: datetime | None = None) -> dict[str, float]:
    """How late the clock is: per deadline kind, the seconds since the oldest deadline that
    has passed without its transition (0 when nothing is overdue). One indexed MIN each."""
    now = now or timezone.now()
    lag = {}
    for label, rows, column in _deadlines():
        oldest = rows.filter(**{f"{column}__lte": now}).aggregate(oldest=Min(column))["oldest"]
        lag[label] = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    return lag
