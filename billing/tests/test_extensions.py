"""Extensions: request, the mitra's answer, payment, every deadline, paid after close."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Extension, Tier, Transaction
from billing.services.extensions import extension_sweep_overdue
from billing.services.payments import payment_sweep_overdue
from chat.models import Message, Session
from chat.services.lifecycle import session_sweep_overdue
from halobestie.realtime import client_group, mitra_group
from halobestie.testing.events import EventProbe
from halobestie.testing.fixtures import make_client, make_mitra

from .helpers import answer_extension, pay, request_extension, start_trial_session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live(client_ani, mitra_budi):
    return start_trial_session(client_ani, mitra_budi)


def _codes(session_id) -> list[str]:
    return list(Message.objects.filter(session_id=session_id, sender="system").values_list("system_code", flat=True))


# --- request -------------------------------------------------------------------------------


def test_request_sends_the_mitra_an_extension_requested(live, client_ani, mitra_budi, extension_tier):
    with EventProbe(client_group(client_ani.id), mitra_group(mitra_budi.id)) as probe:
        ext = request_extension(client_ani, live["id"], extension_tier)
        requested = probe.wait_event("extension.requested", group=mitra_group(mitra_budi.id))
        probe.wait_event("extension.updated", group=client_group(client_ani.id), id=ext["id"])
    assert ext["state"] == "requested" and ext["session_id"] == live["id"]
    assert ext["tier"] == {"id": str(extension_tier.id), "name": "Tambah 15 menit", "minutes": 15, "price": 25000}
    assert ext["payment"] is None
    assert requested["data"] == ext
    row = Extension.objects.get(pk=ext["id"])
    assert (row.respond_by - row.requested_at).total_seconds() == pytest.approx(60, abs=1)
    assert (row.minutes, row.price) == (15, 25000)
    assert _codes(live["id"])[-1] == "extension_requested"
    # Both sides see it as the session's pending extension.
    for actor, role in ((client_ani, "client"), (mitra_budi, "mitra")):
        assert actor.api.get(f"/api/{role}/sessions/{live['id']}").json()["pending_extension"]["id"] == ext["id"]


def test_one_pending_extension_at_a_time(live, client_ani, extension_tier):
    request_extension(client_ani, live["id"], extension_tier)
    r = client_ani.api.post(
        f"/api/client/sessions/{live['id']}/extensions", {"tier_id": str(extension_tier.id)}, format="json"
    )
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    assert Extension.objects.count() == 1


def test_tier_must_be_an_active_extension_tier(live, client_ani, session_tier):
    inactive = Tier.objects.create(kind="extension", name="Lama", minutes=5, price=1000, is_active=False)
    for tier_id in (str(session_tier.id), str(inactive.id), "not-a-uuid"):
        r = client_ani.api.post(f"/api/client/sessions/{live['id']}/extensions", {"tier_id": tier_id}, format="json")
        assert r.status_code == 400, tier_id
        assert r.json()["code"] == "validation_error" and "tier_id" in r.json()["fields"]
    r = client_ani.api.post(f"/api/client/sessions/{live['id']}/extensions", {}, format="json")
    assert r.status_code == 400 and "tier_id" in r.json()["fields"]


def test_only_the_sessions_client_and_only_registered(live, client_citra, mitra_budi, extension_tier, mitra_dina):
    r = client_citra.api.post(
        f"/api/client/sessions/{live['id']}/extensions", {"tier_id": str(extension_tier.id)}, format="json"
    )
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = mitra_budi.api.post(
        f"/api/client/sessions/{live['id']}/extensions", {"tier_id": str(extension_tier.id)}, format="json"
    )
    assert r.status_code == 403

    anon = make_client("Eka", anonymous=True)
    trial = start_trial_session(anon, mitra_dina)
    r = anon.api.post(
        f"/api/client/sessions/{trial['id']}/extensions", {"tier_id": str(extension_tier.id)}, format="json"
    )
    assert r.status_code == 403 and r.json()["code"] == "registration_required"


def test_no_extension_unless_active_or_closing(fake_xendit, client_ani, mitra_budi, session_tier, extension_tier):
    from .helpers import start_paid_session

    waiting = start_paid_session(client_ani, mitra_budi, session_tier)
    r = client_ani.api.post(
        f"/api/client/sessions/{waiting['id']}/extensions", {"tier_id": str(extension_tier.id)}, format="json"
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"


# --- the mitra's answer --------------------------------------------------------------------


def test_accept_paid_moves_ends_at(fake_xendit, live, client_ani, mitra_budi, extension_tier):
    ends_at = Session.objects.get(pk=live["id"]).ends_at
    ext = request_extension(client_ani, live["id"], extension_tier)
    with EventProbe(client_group(client_ani.id), mitra_group(mitra_budi.id)) as probe:
        r = answer_extension(mitra_budi, live["id"], ext["id"])
        assert r.status_code == 200, r.content
        accepted = r.json()
        tx = Transaction.objects.get(extension_id=ext["id"])
        assert accepted["state"] == "accepted"
        assert accepted["payment"] == {
            "id": str(tx.id),
            "status": "pending",
            "amount": 25000,
            "invoice_url": tx.invoice_url,
            "expires_at": tx.expires_at.isoformat(),
        }
        assert (tx.kind, tx.amount, tx.client_id) == ("extension", 25000, client_ani.id)
        assert fake_xendit.created[-1]["external_id"] == tx.external_id
        assert fake_xendit.created[-1]["amount"] == 25000
        assert 595 <= fake_xendit.created[-1]["invoice_duration"] <= 600
        for group in (client_group(client_ani.id), mitra_group(mitra_budi.id)):
            probe.wait_event("extension.updated", group=group, state="accepted")
        probe.wait_event("payment.updated", group=client_group(client_ani.id), status="pending", extension_id=ext["id"])

        assert pay(tx) == "paid"
        for group in (client_group(client_ani.id), mitra_group(mitra_budi.id)):
            probe.wait_event("extension.updated", group=group, state="applied")
            moved = probe.wait_event("session.updated", group=group)
            assert moved["data"]["ends_at"] == (ends_at + timedelta(minutes=15)).isoformat()
        probe.wait_event("payment.updated", group=client_group(client_ani.id), status="paid")

    session = Session.objects.get(pk=live["id"])
    assert session.ends_at == ends_at + timedelta(minutes=15) and session.state == "active"
    row = Extension.objects.get(pk=ext["id"])
    assert row.state == "applied" and row.applied_at is not None
    assert _codes(live["id"])[-3:] == ["extension_requested", "extension_accepted", "session_extended"]
    assert client_ani.api.get(f"/api/client/sessions/{live['id']}").json()["pending_extension"] is None
    # A second extension may now be requested.
    request_extension(client_ani, live["id"], extension_tier)


def test_paid_extension_brings_a_closing_session_back_to_active(
    fake_xendit, live, client_ani, mitra_budi, extension_tier
):
    ends_at = Session.objects.get(pk=live["id"]).ends_at
    session_sweep_overdue(now=ends_at + timedelta(seconds=1))
    assert Session.objects.get(pk=live["id"]).state == "closing"
    ext = request_extension(client_ani, live["id"], extension_tier)
    answer_extension(mitra_budi, live["id"], ext["id"])
    assert pay(Transaction.objects.get(extension_id=ext["id"])) == "paid"
    session = Session.objects.get(pk=live["id"])
    assert session.state == "active" and session.closing_ends_at is None
    assert session.ends_at == ends_at + timedelta(minutes=15)


def test_rejected(live, client_ani, mitra_budi, extension_tier):
    ext = request_extension(client_ani, live["id"], extension_tier)
    with EventProbe(client_group(client_ani.id), mitra_group(mitra_budi.id)) as probe:
        r = answer_extension(mitra_budi, live["id"], ext["id"], "reject")
        assert r.status_code == 200 and r.json()["state"] == "rejected" and r.json()["payment"] is None
        for group in (client_group(client_ani.id), mitra_group(mitra_budi.id)):
            probe.wait_event("extension.updated", group=group, state="rejected")
    assert Extension.objects.get(pk=ext["id"]).responded_at is not None
    assert not Transaction.objects.filter(extension_id=ext["id"]).exists()
    assert _codes(live["id"])[-1] == "extension_rejected"
    # Answered once: a second answer is refused.
    r = answer_extension(mitra_budi, live["id"], ext["id"], "accept")
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"


def test_only_the_sessions_current_mitra_answers(live, client_ani, mitra_dina, extension_tier):
    ext = request_extension(client_ani, live["id"], extension_tier)
    r = answer_extension(mitra_dina, live["id"], ext["id"])
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = client_ani.api.post(f"/api/mitra/sessions/{live['id']}/extensions/{ext['id']}/accept")
    assert r.status_code == 403
    assert Extension.objects.get(pk=ext["id"]).state == "requested"


def test_extension_of_another_session_is_404(live, client_ani, mitra_budi, extension_tier, client_citra):
    other = start_trial_session(client_citra, mitra_budi)
    ext = request_extension(client_ani, live["id"], extension_tier)
    r = answer_extension(mitra_budi, other["id"], ext["id"])
    assert r.status_code == 404


# --- deadlines -----------------------------------------------------------------------------


def test_silence_expires_the_request(live, client_ani, mitra_budi, extension_tier):
    ext = request_extension(client_ani, live["id"], extension_tier)
    respond_by = Extension.objects.get(pk=ext["id"]).respond_by
    assert extension_sweep_overdue(now=respond_by - timedelta(seconds=1)) == 0
    with EventProbe(client_group(client_ani.id), mitra_group(mitra_budi.id)) as probe:
        assert extension_sweep_overdue(now=respond_by) == 1
        for group in (client_group(client_ani.id), mitra_group(mitra_budi.id)):
            probe.wait_event("extension.updated", group=group, state="expired")
    assert extension_sweep_overdue(now=respond_by + timedelta(seconds=5)) == 0
    assert Extension.objects.get(pk=ext["id"]).state == "expired"
    assert _codes(live["id"])[-1] == "extension_expired"


def test_accept_after_respond_by_is_refused(live, client_ani, mitra_budi, extension_tier):
    ext = request_extension(client_ani, live["id"], extension_tier)
    Extension.objects.filter(pk=ext["id"]).update(respond_by=timezone.now() - timedelta(seconds=1))
    r = answer_extension(mitra_budi, live["id"], ext["id"])
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    assert Extension.objects.get(pk=ext["id"]).state == "requested"  # the sweep expires it
    assert extension_sweep_overdue() == 1
    assert Extension.objects.get(pk=ext["id"]).state == "expired"


def test_unpaid_accepted_extension_is_cancelled_at_payment_expiry(
    fake_xendit, live, client_ani, mitra_budi, extension_tier
):
    ends_at = Session.objects.get(pk=live["id"]).ends_at
    ext = request_extension(client_ani, live["id"], extension_tier)
    answer_extension(mitra_budi, live["id"], ext["id"])
    tx = Transaction.objects.get(extension_id=ext["id"])
    assert payment_sweep_overdue(now=tx.expires_at - timedelta(seconds=1)) == 0
    with EventProbe(client_group(client_ani.id), mitra_group(mitra_budi.id)) as probe:
        assert payment_sweep_overdue(now=tx.expires_at) == 1
        probe.wait_event("payment.updated", group=client_group(client_ani.id), status="expired")
        for group in (client_group(client_ani.id), mitra_group(mitra_budi.id)):
            probe.wait_event("extension.updated", group=group, state="cancelled")
    tx.refresh_from_db()
    assert tx.status == "expired"
    assert Extension.objects.get(pk=ext["id"]).state == "cancelled"
    assert fake_xendit.expired == [tx.xendit_invoice_id]
    assert Session.objects.get(pk=live["id"]).ends_at == ends_at
    assert _codes(live["id"])[-1] == "extension_payment_expired"
    # A payment that still slips through is kept for a refund, never applied.
    assert pay(tx) == "refund_needed"
    assert Session.objects.get(pk=live["id"]).ends_at == ends_at


def test_paid_after_the_session_closed_needs_a_refund(fake_xendit, live, client_ani, mitra_budi, extension_tier):
    ext = request_extension(client_ani, live["id"], extension_tier)
    answer_extension(mitra_budi, live["id"], ext["id"])
    tx = Transaction.objects.get(extension_id=ext["id"])

    session = Session.objects.get(pk=live["id"])
    session_sweep_overdue(now=session.ends_at + timedelta(minutes=3))  # closing, then closed
    session.refresh_from_db()
    assert session.state == "closed"
    assert Extension.objects.get(pk=ext["id"]).state == "cancelled"
    tx.refresh_from_db()
    assert tx.status == "expired"
    assert fake_xendit.expired == [tx.xendit_invoice_id]

    with EventProbe(client_group(client_ani.id)) as probe:
        assert pay(tx) == "refund_needed"
        probe.wait_event("payment.updated", status="refund_needed", extension_id=ext["id"])
    tx.refresh_from_db()
    assert tx.status == "refund_needed" and tx.paid_at is not None and tx.raw_callback["status"] == "PAID"
    assert "closed" in tx.note
    after = Session.objects.get(pk=live["id"])
    assert after.state == "closed" and after.ends_at == session.ends_at


def test_pending_request_is_cancelled_when_the_session_ends(live, client_ani, mitra_budi, extension_tier):
    ext = request_extension(client_ani, live["id"], extension_tier)
    r = mitra_budi.api.post(f"/api/mitra/sessions/{live['id']}/end", {}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert Extension.objects.get(pk=ext["id"]).state == "cancelled"
    r = answer_extension(mitra_budi, live["id"], ext["id"])
    assert r.status_code == 409


def test_no_extension_after_the_goodbye_window(live, client_ani, extension_tier):
    session = Session.objects.get(pk=live["id"])
    Session.objects.filter(pk=session.pk).update(state="closing", closing_ends_at=timezone.now() - timedelta(seconds=1))
    r = client_ani.api.post(
        f"/api/client/sessions/{live['id']}/extensions", {"tier_id": str(extension_tier.id)}, format="json"
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"


def test_rerouted_session_new_mitra_answers(live, client_ani, mitra_budi, extension_tier):
    from chat.services.lifecycle import session_reroute

    mitra_eko = make_mitra("Eko", online=True)
    ext = request_extension(client_ani, live["id"], extension_tier)
    session_reroute(session_id=live["id"], to_mitra=mitra_eko.user)
    assert answer_extension(mitra_budi, live["id"], ext["id"]).status_code == 404
    r = answer_extension(mitra_eko, live["id"], ext["id"], "reject")
    assert r.status_code == 200 and r.json()["state"] == "rejected"
