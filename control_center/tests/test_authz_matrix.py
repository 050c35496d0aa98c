"""Staff authorization: every control-center page and form action × every kind of caller,
generated from one table (the style of reliability/tests/test_authz_matrix.py).

Callers: anonymous, a signed-in user who is not staff, a staff login with no role, an
operator, a supervisor, an admin, a superuser. Rules (control_center/roles.py): a caller
whose role holds the action's permission gets the page (200) or the change (302); staff
without it get the 403 page, the refusal is audited, and nothing else in the database has
changed; anonymous and non-staff callers are sent to the login page, changing nothing.
Each case starts from a fresh world, so an allowed write is proven to change something
(the snapshot can see it) and a refused one to change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client as DjangoClient

from accounts.models import AuditLog, Client, Mitra, PlatformSettings
from accounts.services import SETTINGS_KEYS, client_set_blocked
from billing.models import PaymentIncident, Tier, Transaction
from chat.models import Session, SessionReport
from chat.services.care import session_report
from control_center.auth import enrolment, totp
from control_center.models import StaffRecoveryCode, StaffTOTP
from control_center.roles import BY_KEY, TRANSCRIPT, perm
from halobestie.testing.fixtures import make_client, make_mitra
from notifications.models import Device
from pairing.models import MitraPresence

from .factories import PASSWORD, live_session, make_staff

pytestmark = [pytest.mark.urls("halobestie.urls_internal"), pytest.mark.django_db]

CALLERS = ["anonymous", "not_staff", "no_role", "operator", "supervisor", "admin", "superuser"]
DENIALS = ("staff.denied", "transcript.denied")


@dataclass
class Action:
    name: str  # the URL name in control_center.urls
    method: str
    path: str  # placeholders: {mitra} {session} {client} {device} {tx} {incident} {report} {tier} {staff}
    permission: str
    data: dict = field(default_factory=dict)
    read_permission: str | None = None  # a form page: reading it needs this one first
    ok: int | None = None  # default: 200 for GET, 302 for POST
    changes: bool | None = None  # default: POST changes something

    @property
    def expected_ok(self) -> int:
        return self.ok or (200 if self.method == "GET" else 302)

    @property
    def writes(self) -> bool:
        return self.changes if self.changes is not None else self.method == "POST"

    def allowed(self, caller: str) -> bool:
        return self.refused_for(caller) is None

    def refused_for(self, caller: str) -> str | None:
        """The permission the caller is refused for (the first one missing), or None."""
        if caller == "superuser":
            return None
        held = BY_KEY[caller].permissions if caller in BY_KEY else ()
        for needed in (self.read_permission, self.permission):
            if needed is not None and needed not in held:
                return needed
        return None


VIEW = perm("view_control_center")
ACTIONS = [
    Action("dashboard", "GET", "/", VIEW),
    Action("dashboard_live", "GET", "/dashboard/live/", VIEW),
    Action("mitra_list", "GET", "/mitras/", VIEW),
    Action("mitra_detail", "GET", "/mitras/{mitra}/", VIEW),
    Action("mitra_create", "GET", "/mitras/new/", perm("manage_mitra")),
    Action("mitra_create", "POST", "/mitras/new/", perm("manage_mitra"),
           data={"phone": "081277770001", "display_name": "Bestie Baru"}),
    Action("mitra_edit", "GET", "/mitras/{mitra}/edit/", perm("manage_mitra")),
    Action("mitra_edit", "POST", "/mitras/{mitra}/edit/", perm("manage_mitra"),
           data={"phone": "{mitra_phone}", "display_name": "Sari Berganti Nama", "bio": "baru"}),
    Action("mitra_set_active", "POST", "/mitras/{mitra}/active/", perm("manage_mitra"), data={"active": "0"}),
    Action("mitra_force_offline", "POST", "/mitras/{mitra}/force-offline/", perm("force_mitra_offline")),
    Action("client_list", "GET", "/clients/", VIEW),
    Action("client_detail", "GET", "/clients/{client}/", VIEW),
    Action("client_block", "POST", "/clients/{client}/block/", perm("block_client"), data={"reason": "abusive"}),
    Action("client_unblock", "POST", "/clients/{blocked_client}/unblock/", perm("block_client")),
    Action("device_test_push", "POST", "/devices/{device}/test-push/", perm("send_test_push")),
    Action("session_list", "GET", "/sessions/", VIEW),
    Action("session_detail", "GET", "/sessions/{session}/", VIEW),
    Action("session_reroute", "POST", "/sessions/{session}/reroute/", perm("reroute_session"),
           data={"to_mitra": "{dina}"}),
    Action("session_force_close", "POST", "/sessions/{session}/force-close/", perm("force_close_session"),
           data={"note": "client asked by email"}),
    # Reading is audited: the allowed read is itself a change (the audit row).
    Action("session_transcript", "GET", "/sessions/{session}/transcript/", TRANSCRIPT, changes=True),
    Action("report_list", "GET", "/reports/", VIEW),
    Action("report_update", "POST", "/reports/{report}/", perm("triage_report"),
           data={"status": "in_review", "resolution_note": "looking"}),
    Action("transaction_list", "GET", "/transactions/", VIEW),
    Action("needs_attention", "GET", "/transactions/attention/", VIEW),
    Action("transaction_mark_refunded", "POST", "/transactions/{tx}/refunded/", perm("resolve_payment"),
           data={"note": "refunded by bank transfer"}),
    Action("incident_resolve", "POST", "/incidents/{incident}/resolve/", perm("resolve_payment"),
           data={"note": "test invoice"}),
    Action("tier_list", "GET", "/tiers/", VIEW),
    Action("tier_create", "GET", "/tiers/new/", perm("manage_tier")),
    Action("tier_create", "POST", "/tiers/new/", perm("manage_tier"),
           data={"kind": "session", "name": "Curhat 45", "minutes": "45", "price": "70000", "sort_order": "3"}),
    Action("tier_edit", "GET", "/tiers/{tier}/edit/", perm("manage_tier")),
    Action("tier_edit", "POST", "/tiers/{tier}/edit/", perm("manage_tier"),
           data={"name": "Curhat 30 menit", "minutes": "30", "price": "1000", "sort_order": "1"}),
    Action("tier_set_active", "POST", "/tiers/{tier}/active/", perm("manage_tier"), data={"active": "0"}),
    Action("settings", "GET", "/settings/", VIEW),
    Action("settings", "POST", "/settings/", perm("change_platform_settings"), data={"max_customers_per_mitra": "5"},
           read_permission=VIEW),
    Action("audit_list", "GET", "/audit/", perm("view_audit_log")),
    Action("staff_list", "GET", "/staff/", perm("view_staff")),
    Action("staff_set_role", "POST", "/staff/{staff}/role/", perm("manage_staff"), data={"role": "admin"}),
    Action("staff_totp_reset", "GET", "/staff/{staff}/two-factor/reset/", perm("manage_staff")),
    Action("staff_totp_reset", "POST", "/staff/{staff}/two-factor/reset/", perm("manage_staff"),
           data={"password": PASSWORD}),
]


def _settings_form_data() -> dict:
    row, _ = PlatformSettings.objects.get_or_create(id=1)
    data = {}
    for key in SETTINGS_KEYS:
        value = getattr(row, key)
        if isinstance(value, bool):
            if value:
                data[key] = "on"
        elif isinstance(value, (list, tuple)):
            data[key] = ",".join(str(v) for v in value)
        else:
            data[key] = str(value)
    return data


def build_world() -> dict:
    """Everything the actions name, each object in the state its action acts on."""
    tier = Tier.objects.create(kind="session", name="Curhat 30 menit", minutes=30, price=50000, sort_order=1)
    budi = make_mitra("Budi", online=True).user
    ani = make_client("Ani").user
    session = live_session(client=ani, mitra=budi)
    dina = make_mitra("Dina", online=True).user
    sari = make_mitra("Sari", online=True).user
    device = Device.objects.create(client=ani, fcm_token="tok-ani", platform="android")
    blocked = make_client("Gita").user
    client_set_blocked(client=blocked, blocked=True, actor=None, reason="spam")
    paid = live_session(client=make_client("Hana").user, tier=tier)
    Transaction.objects.filter(session=paid).update(status=Transaction.Status.REFUND_NEEDED)
    tx = Transaction.objects.get(session=paid)
    incident = PaymentIncident.objects.create(kind="unknown_invoice", external_id="hb-unknown", payload={"id": "x"})
    report = session_report(client=ani, session_id=session.id, reason="unprofessional", note="slow answers")
    colleague = make_staff("colleague", role="operator")
    row = enrolment.totp_begin_enrolment(user=colleague)
    enrolment.totp_confirm_enrolment(user=colleague, password=PASSWORD, code=totp.totp(row.secret))
    return {
        "mitra": sari.id, "mitra_phone": sari.phone, "dina": dina.id, "session": session.id, "client": ani.id,
        "blocked_client": blocked.id, "device": device.id, "tx": tx.id, "incident": incident.id,
        "report": report.id, "tier": tier.id, "staff": colleague.pk,
    }


def snapshot() -> dict:
    """Every row an action could change (the denial records themselves aside)."""
    User = get_user_model()
    return {
        "settings": list(PlatformSettings.objects.values()),
        "tiers": list(Tier.objects.order_by("pk").values()),
        "mitras": list(Mitra.objects.order_by("pk").values()),
        "presence": list(MitraPresence.objects.order_by("pk").values("mitra_id", "status")),
        "clients": list(Client.objects.order_by("pk").values()),
        "sessions": list(Session.objects.order_by("pk").values("id", "state", "mitra_id", "ends_at", "closed_at")),
        "transactions": list(Transaction.objects.order_by("pk").values("id", "status", "note")),
        "incidents": list(PaymentIncident.objects.order_by("pk").values("id", "resolved_at", "resolution_note")),
        "reports": list(SessionReport.objects.order_by("pk").values("id", "status", "resolution_note")),
        "devices": list(Device.objects.order_by("pk").values()),
        "roles": sorted(User.groups.through.objects.values_list("user_id", "group_id")),
        "users": list(User.objects.order_by("pk").values("id", "is_staff", "is_superuser", "is_active")),
        "totp": list(StaffTOTP.objects.order_by("pk").values("user_id", "confirmed_at")),
        "recovery": StaffRecoveryCode.objects.count(),
        "audit": list(AuditLog.objects.exclude(action__in=DENIALS).order_by("pk").values_list("action", "target_id")),
    }


def caller_client(caller: str) -> tuple[DjangoClient, object]:
    web = DjangoClient()
    if caller == "anonymous":
        return web, None
    if caller == "not_staff":
        user = make_staff("outsider", role=None, staff=False)
    elif caller == "no_role":
        user = make_staff("newcomer", role=None)
    elif caller == "superuser":
        user = make_staff("root", role=None)
        get_user_model().objects.filter(pk=user.pk).update(is_superuser=True)
    else:
        user = make_staff(caller)
    web.force_login(user)
    return web, user


def _fill(value: str, ids: dict) -> str:
    return value.format(**ids) if isinstance(value, str) else value


CASES = [(a, c) for a in ACTIONS for c in CALLERS]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The world is built once, inside a transaction left open for the whole module; each
    case runs in its own savepoint (pytest-django's `db`), rolled back after it, so every
    case starts from exactly this state (Django's setUpTestData, for pytest)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        ids = build_world()
    yield ids
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.mark.parametrize(
    "action, caller", CASES, ids=[f"{a.method} {a.name} as {c}" for a, c in CASES]
)
def test_staff_action_authorization(action: Action, caller: str, world: dict):
    ids = world
    web, user = caller_client(caller)
    data = {k: _fill(v, ids) for k, v in action.data.items()}
    if action.name == "settings" and action.method == "POST":
        data = {**_settings_form_data(), **data}
    before = snapshot()
    path = action.path.format(**ids)
    r = web.get(path) if action.method == "GET" else web.post(path, data)
    after = snapshot()

    if caller in ("anonymous", "not_staff"):
        assert r.status_code == 302 and r["Location"].startswith("/login/"), (r.status_code, r.get("Location"))
        assert after == before
        return
    if not action.allowed(caller):
        assert r.status_code == 403, r.status_code
        assert after == before, "a refused action changed the database"
        html = r.content.decode()
        assert "Not allowed" in html and "Nothing was changed." in html
        denial = AuditLog.objects.filter(actor=user, action__in=DENIALS).get()
        assert denial.after["permission"] == action.refused_for(caller)
        assert denial.after["method"] == action.method
        assert denial.after["role"] == (caller if caller in BY_KEY else None)
        return
    assert r.status_code == action.expected_ok, (r.status_code, r.content[:300])
    if action.method == "POST":
        assert not r["Location"].startswith("/login/")
    if action.writes:
        assert after != before, "an allowed action changed nothing (is the snapshot blind to it?)"
    else:
        assert after == before
    assert not AuditLog.objects.filter(action__in=DENIALS).exists()
