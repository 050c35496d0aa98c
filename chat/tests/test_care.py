"""Care and safety: no-show and offline reroute with fair billing, block, report,
return to the same mitra, the honest waiting screen, mitra wellbeing limits."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import platform_settings_update
from billing.models import Transaction
from chat.models import Session, SessionAssignment, SessionEvent, SessionReport
from chat.services import care, lifecycle
from halobestie.testing.fixtures import make_mitra
from pairing.models import PairingOffer
from pairing.services import presence_sweep_auto_offline

pytestmark = pytest.mark.django_db


def _paid_active_session(client, mitra, tier) -> Session:
    r = client.api.post("/api/client/pairing-requests", {"tier_id": str(tier.id)}, format="json")
    assert r.status_code == 201, r.json()
    r = mitra.api.post(f"/api/mitra/pairing-requests/{r.json()['id']}/accept")
    assert r.status_code == 201, r.json()
    session = Session.objects.get(pk=r.json()["id"])
    Transaction.objects.filter(session=session).update(status="paid")
    return lifecycle.session_activate_paid(session_id=session.pk)


def _age(session: Session, seconds: int) -> Session:
    """Move the session's match, start, clock and its current assignment into the past."""
    delta = timedelta(seconds=seconds)
    Session.objects.filter(pk=session.pk).update(matched_at=session.matched_at - delta,
                                                 started_at=session.started_at - delta,
                                                 ends_at=session.ends_at - delta, next_warning_at=None)
    for a in SessionAssignment.objects.filter(session=session):
        SessionAssignment.objects.filter(pk=a.pk).update(assigned_at=a.assigned_at - delta)
    session.refresh_from_db()
    return session


def test_no_show_reroutes_to_another_mitra_and_credits_the_wait(client_ani, mitra_budi, session_tier):
    session = _age(_paid_active_session(client_ani, mitra_budi, session_tier), 200)
    ends_before = session.ends_at
    dina = make_mitra("Dina", online=True)

    assert care.care_sweep() == 2  # marked as a no-show, then rerouted

    session.refresh_from_db()
    assert session.mitra_id == dina.id
    assert session.reroute_needed_since is None
    credited = (session.ends_at - ends_before).total_seconds()
    assert 199 <= credited <= 230  # the whole wait since the start
    event = SessionEvent.objects.get(session=session, kind="rerouted")
    assert event.data["reason"] == "mitra_no_show" and event.data["credited_seconds"] >= 199
    # The old mitra lost access; the new one sees the history.
    assert mitra_budi.api.get(f"/api/mitra/sessions/{session.id}").status_code == 404
    history = dina.api.get(f"/api/mitra/sessions/{session.id}/messages").json()["results"]
    assert history[-1]["sender"] == "system"


def test_mitra_who_answered_is_not_a_no_show(client_ani, mitra_budi, session_tier):
    session = _paid_active_session(client_ani, mitra_budi, session_tier)
    mitra_budi.api.post(f"/api/mitra/sessions/{session.id}/messages",
                        {"client_message_id": "m1", "body": "Halo, aku di sini."}, format="json")
    _age(session, 600)
    make_mitra("Dina", online=True)
    assert care.care_sweep() == 0
    session.refresh_from_db()
    assert session.mitra_id == mitra_budi.id


def test_no_mitra_within_pairing_timeout_closes_with_refund_needed(client_ani, mitra_budi, session_tier):
    session = _age(_paid_active_session(client_ani, mitra_budi, session_tier), 200)
    assert care.care_sweep() == 1  # marked as waiting; nobody to take it yet
    session.refresh_from_db()
    assert session.reroute_reason == "mitra_no_show" and session.state == "active"

    later = timezone.now() + timedelta(seconds=61)
    assert care.care_sweep(now=later) == 1
    session.refresh_from_db()
    assert session.state == "closed"
    assert session.closure.reason == "mitra_no_show" and session.closure.closed_by == "system"
    assert Transaction.objects.get(session=session).status == "refund_needed"


def test_mitra_auto_offline_during_live_session_reroutes(client_ani, mitra_budi, session_tier):
    session = _paid_active_session(client_ani, mitra_budi, session_tier)
    mitra_budi.api.post(f"/api/mitra/sessions/{session.id}/messages",
                        {"client_message_id": "m1", "body": "Halo"}, format="json")
    dina = make_mitra("Dina", online=True)
    from pairing.models import MitraPresence

    MitraPresence.objects.filter(mitra_id=mitra_budi.id).update(
        last_heartbeat_at=timezone.now() - timedelta(seconds=120))
    assert presence_sweep_auto_offline() == 1
    session.refresh_from_db()
    # The grace period runs: nothing moves yet.
    assert session.mitra_away_since is not None and session.reroute_needed_since is None
    assert care.care_sweep() == 0
    session.refresh_from_db()
    assert session.mitra_id == mitra_budi.id
    # Still away after the grace period (120 s by default): rerouted, the wait credited
    # from the moment the mitra was set offline, no more.
    ends_before = session.ends_at
    later = timezone.now() + timedelta(seconds=125)
    assert care.care_sweep(now=later) == 2  # marked, then rerouted
    session.refresh_from_db()
    assert session.mitra_id == dina.id and session.reroute_needed_since is None
    assignments = list(SessionAssignment.objects.filter(session=session).order_by("assigned_at"))
    assert [(a.mitra_id, a.end_reason) for a in assignments] == [(mitra_budi.id, "mitra_offline"), (dina.id, "")]
    assert 0 <= assignments[1].credited_seconds <= 10  # real clock: rerouted seconds after going offline
    assert (session.ends_at - ends_before).total_seconds() == assignments[1].credited_seconds


def test_blocked_mitra_is_never_offered_that_clients_requests(client_ani, mitra_budi, session_tier):
    session = _paid_active_session(client_ani, mitra_budi, session_tier)
    lifecycle.session_end(session_id=session.pk, by=client_ani.user)
    r = client_ani.api.post(f"/api/client/sessions/{session.id}/block-mitra")
    assert r.status_code == 201 and r.json()["mitra_id"] == str(mitra_budi.id)
    dina = make_mitra("Dina", online=True)
    r = client_ani.api.post("/api/client/pairing-requests", {"tier_id": str(session_tier.id)}, format="json")
    offered = set(PairingOffer.objects.filter(request_id=r.json()["id"]).values_list("mitra_id", flat=True))
    assert offered == {dina.id}
    assert mitra_budi.api.post(f"/api/mitra/pairing-requests/{r.json()['id']}/accept").status_code == 404


def test_report_lands_once_and_only_for_own_sessions(client_ani, client_citra, mitra_budi, session_tier):
    session = _paid_active_session(client_ani, mitra_budi, session_tier)
    r = client_ani.api.post(f"/api/client/sessions/{session.id}/report",
                            {"reason": "unprofessional", "note": "tidak sopan"}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "open"
    assert SessionReport.objects.get().mitra_id == mitra_budi.id
    again = client_ani.api.post(f"/api/client/sessions/{session.id}/report", {"reason": "other"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    other = client_citra.api.post(f"/api/client/sessions/{session.id}/report", {"reason": "other"}, format="json")
    assert other.status_code == 404
    bad = client_ani.api.post(f"/api/client/sessions/{session.id}/report", {"reason": "nope"}, format="json")
    assert bad.status_code == 400 and "reason" in bad.json()["fields"]


def test_return_to_previous_mitra_first_then_everyone(client_ani, mitra_budi, mitra_dina, session_tier):
    first = _paid_active_session(client_ani, mitra_budi, session_tier)
    lifecycle.session_end(session_id=first.pk, by=client_ani.user)
    r = client_ani.api.post("/api/client/pairing-requests",
                            {"tier_id": str(session_tier.id), "prefer_previous_mitra": True}, format="json")
    assert r.status_code == 201
    assert r.json()["waiting"]["preferred_mitra_first"] is True
    rid = r.json()["id"]
    assert set(PairingOffer.objects.filter(request_id=rid).values_list("mitra_id", flat=True)) == {mitra_budi.id}

    from pairing.services import pairing_sweep_expired

    pairing_sweep_expired(now=timezone.now() + timedelta(seconds=21))
    offered = set(PairingOffer.objects.filter(request_id=rid).values_list("mitra_id", flat=True))
    assert offered == {mitra_budi.id, mitra_dina.id}


def test_waiting_screen_says_at_once_when_no_mitra_is_online(client_ani):
    r = client_ani.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json")
    assert r.status_code == 201
    waiting = r.json()["waiting"]
    assert waiting == {"offered_to": 0, "mitras_available": 0, "no_mitra_online": True,
                       "median_wait_seconds": None, "preferred_mitra_first": False}


def test_waiting_screen_counts_offers(client_ani, mitra_budi, mitra_dina):
    r = client_ani.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json")
    assert r.json()["waiting"]["offered_to"] == 2
    assert r.json()["waiting"]["no_mitra_online"] is False


def test_daily_cap_keeps_a_mitra_out_of_new_offers(client_ani, client_citra, mitra_budi, session_tier):
    platform_settings_update(actor=None, changes={"mitra_daily_session_cap": 1})
    _paid_active_session(client_ani, mitra_budi, session_tier)
    r = client_citra.api.post("/api/client/pairing-requests", {"tier_id": str(session_tier.id)}, format="json")
    assert r.json()["waiting"]["offered_to"] == 0


def test_pause_after_a_flagged_session(client_ani, client_citra, mitra_budi, session_tier):
    session = _paid_active_session(client_ani, mitra_budi, session_tier)
    Session.objects.filter(pk=session.pk).update(risk_level="high", first_flagged_at=timezone.now())
    lifecycle.session_end(session_id=session.pk, by=mitra_budi.user)
    r = client_citra.api.post("/api/client/pairing-requests", {"tier_id": str(session_tier.id)}, format="json")
    assert r.json()["waiting"]["offered_to"] == 0
    platform_settings_update(actor=None, changes={"pause_after_flagged_minutes": 0})
    from pairing.selectors import available_mitras

    assert list(available_mitras().values_list("id", flat=True)) == [mitra_budi.id]
