"""Pairing requests: create (tier or trial, and every refusal), get, cancel, the mitra's
offers, decline, accept, expiry, and late-coming mitras."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import client_set_blocked
from chat.models import Message, Session
from halobestie.realtime import client_group, mitra_group
from halobestie.testing.events import EventProbe
from halobestie.testing.fixtures import (
    accept,
    make_client,
    make_mitra,
    request_trial,
    set_platform_settings,
    start_trial_session,
)
from pairing.models import MitraPresence, PairingOffer, PairingRequest
from pairing.services import pairing_sweep_expired

pytestmark = pytest.mark.django_db

REQUEST_KEYS = {"id", "state", "tier", "free_trial", "created_at", "expires_at", "session_id"}
OFFER_KEYS = {"id", "client", "topic", "created_at", "expires_at"}


def create(actor, **payload):
    return actor.api.post("/api/client/pairing-requests", payload, format="json")


def offers_of(mitra) -> list[str]:
    r = mitra.api.get("/api/mitra/pairing-requests")
    assert r.status_code == 200
    return [o["id"] for o in r.json()]


def offer_states(request_id) -> dict:
    return dict(PairingOffer.objects.filter(request_id=request_id).values_list("mitra_id", "state"))


# --- create ------------------------------------------------------------------------------

def test_free_trial_request_is_blasted_to_every_available_mitra(client_ani, mitra_budi, mitra_dina,
                                                                django_capture_on_commit_callbacks):
    offline = make_mitra("Eko")  # never online: not offered
    groups = [mitra_group(m.id) for m in (mitra_budi, mitra_dina, offline)]
    with EventProbe(*groups) as probe:
        with django_capture_on_commit_callbacks(execute=True):
            r = create(client_ani, free_trial=True, topic="  susah tidur  ")
        assert r.status_code == 201, r.content
        body = r.json()
        for mitra in (mitra_budi, mitra_dina):
            offer = probe.wait_event("pairing.offer", group=mitra_group(mitra.id), id=body["id"])["data"]
            assert set(offer) >= OFFER_KEYS
            assert offer["client"] == {"alias": client_ani.user.alias}
            assert offer["topic"] == "susah tidur"
            assert offer["expires_at"] == body["expires_at"]
        probe.settle()
        assert probe.events("pairing.offer", group=mitra_group(offline.id)) == []
    assert set(body) >= REQUEST_KEYS
    assert body["state"] == "searching" and body["free_trial"] is True and body["tier"] is None
    assert body["session_id"] is None
    row = PairingRequest.objects.get(pk=body["id"])
    assert row.client_id == client_ani.id and row.topic == "susah tidur"
    assert abs((row.expires_at - row.created_at) - timedelta(seconds=60)) < timedelta(seconds=1)
    assert offer_states(row.id) == {mitra_budi.id: "open", mitra_dina.id: "open"}
    # The client never sees the offers; the mitras see them listed.
    assert offers_of(mitra_budi) == [body["id"]] and offers_of(mitra_dina) == [body["id"]]
    assert offers_of(offline) == []


def test_paid_request_with_a_tier(client_ani, mitra_budi, session_tier):
    r = create(client_ani, tier_id=str(session_tier.id))
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["tier"] == {"id": str(session_tier.id), "name": session_tier.name, "minutes": 30, "price": 50000}
    assert body["free_trial"] is False
    assert PairingRequest.objects.get(pk=body["id"]).tier_id == session_tier.id


@pytest.mark.parametrize("payload,field", [
    ({}, "tier_id"),
    ({"free_trial": False}, "tier_id"),
    ({"free_trial": True, "tier_id": "TIER"}, "tier_id"),
    ({"tier_id": "not-a-uuid"}, "tier_id"),
    ({"tier_id": str(uuid.UUID(int=7))}, "tier_id"),
    ({"tier_id": "EXTENSION"}, "tier_id"),
    ({"tier_id": "INACTIVE"}, "tier_id"),
    ({"free_trial": True, "topic": "t" * 201}, "topic"),
])
def test_create_validation(client_ani, mitra_budi, session_tier, extension_tier, payload, field):
    from billing.models import Tier

    inactive = Tier.objects.create(kind="session", name="Lama", minutes=10, price=1000, is_active=False)
    swap = {"TIER": str(session_tier.id), "EXTENSION": str(extension_tier.id), "INACTIVE": str(inactive.id)}
    payload = {k: swap.get(v, v) if isinstance(v, str) else v for k, v in payload.items()}
    r = create(client_ani, **payload)
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "validation_error"
    assert field in r.json()["fields"]
    assert not PairingRequest.objects.exists()


def test_one_open_request_per_client(client_ani, mitra_budi):
    first = request_trial(client_ani)
    r = create(client_ani, free_trial=True)
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    assert PairingRequest.objects.filter(client=client_ani.user).count() == 1
    assert client_ani.api.post(f"/api/client/pairing-requests/{first['id']}/cancel").status_code == 200
    assert create(client_ani, free_trial=True).status_code == 201


def test_no_new_request_while_a_session_is_live(client_ani, mitra_budi, session_tier):
    start_trial_session(client_ani, mitra_budi)
    r = create(client_ani, tier_id=str(session_tier.id))
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    assert PairingRequest.objects.filter(client=client_ani.user, state="searching").count() == 0


def test_blocked_client_cannot_start(client_ani, mitra_budi, session_tier):
    client_set_blocked(client=client_ani.user, blocked=True, actor=None, reason="spam")
    for payload in ({"free_trial": True}, {"tier_id": str(session_tier.id)}):
        r = create(client_ani, **payload)
        assert r.status_code == 403 and r.json()["code"] == "client_blocked"
    assert not PairingRequest.objects.exists()


def test_blocking_a_searching_client_withdraws_its_request(client_ani, mitra_budi,
                                                          django_capture_on_commit_callbacks):
    rid = request_trial(client_ani)["id"]
    with EventProbe(mitra_group(mitra_budi.id)) as probe:
        with django_capture_on_commit_callbacks(execute=True):
            client_set_blocked(client=client_ani.user, blocked=True, actor=None, reason="abuse")
        withdrawn = probe.wait_event("pairing.offer_withdrawn", id=rid)
        assert withdrawn["data"]["reason"] == "cancelled"
    assert PairingRequest.objects.get(pk=rid).state == "cancelled"
    assert offers_of(mitra_budi) == []
    r = mitra_budi.api.post(f"/api/mitra/pairing-requests/{rid}/accept")
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    assert not Session.objects.exists()


def test_anonymous_client_and_paid_tier_needs_registration(mitra_budi, session_tier):
    anon = make_client("Tamu", anonymous=True)
    r = create(anon, tier_id=str(session_tier.id))
    assert r.status_code == 403 and r.json()["code"] == "registration_required"
    assert not PairingRequest.objects.exists()


def test_anonymous_trial_follows_the_setting(mitra_budi):
    anon = make_client("Tamu", anonymous=True)
    set_platform_settings(anonymous_trial_allowed=False)
    r = create(anon, free_trial=True)
    assert r.status_code == 403 and r.json()["code"] == "registration_required"
    set_platform_settings(anonymous_trial_allowed=True)
    assert create(anon, free_trial=True).status_code == 201


def test_free_trial_only_once(client_ani, mitra_budi):
    session = start_trial_session(client_ani, mitra_budi)
    assert client_ani.refresh().free_trial_used is True
    assert client_ani.api.get("/api/client/me").json()["free_trial_used"] is True
    assert client_ani.api.post(f"/api/client/sessions/{session['id']}/end").status_code == 200
    r = create(client_ani, free_trial=True)
    assert r.status_code == 409 and r.json()["code"] == "free_trial_unavailable"


def test_cancelled_trial_request_does_not_use_the_trial(client_ani, mitra_budi):
    rid = request_trial(client_ani)["id"]
    client_ani.api.post(f"/api/client/pairing-requests/{rid}/cancel")
    assert client_ani.refresh().free_trial_used is False
    assert create(client_ani, free_trial=True).status_code == 201


def test_free_trial_turned_off(client_ani, mitra_budi):
    set_platform_settings(free_trial_enabled=False)
    r = create(client_ani, free_trial=True)
    assert r.status_code == 409 and r.json()["code"] == "free_trial_unavailable"


# --- get and cancel ----------------------------------------------------------------------

def test_get_own_request_only(client_ani, client_citra, mitra_budi):
    body = request_trial(client_ani)
    r = client_ani.api.get(f"/api/client/pairing-requests/{body['id']}")
    assert r.status_code == 200 and r.json() == body
    r = client_citra.api.get(f"/api/client/pairing-requests/{body['id']}")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert client_citra.api.post(f"/api/client/pairing-requests/{body['id']}/cancel").status_code == 404
    assert PairingRequest.objects.get(pk=body["id"]).state == "searching"
    assert client_ani.api.get("/api/client/pairing-requests/nope").status_code == 404


def test_cancel_withdraws_every_offer(client_ani, mitra_budi, mitra_dina, django_capture_on_commit_callbacks):
    rid = request_trial(client_ani)["id"]
    with EventProbe(mitra_group(mitra_budi.id), mitra_group(mitra_dina.id), client_group(client_ani.id)) as probe:
        with django_capture_on_commit_callbacks(execute=True):
            r = client_ani.api.post(f"/api/client/pairing-requests/{rid}/cancel")
        assert r.status_code == 200
        assert r.json()["state"] == "cancelled"
        for mitra in (mitra_budi, mitra_dina):
            event = probe.wait_event("pairing.offer_withdrawn", group=mitra_group(mitra.id))
            assert event["data"] == {"id": rid, "reason": "cancelled"}
    row = PairingRequest.objects.get(pk=rid)
    assert row.state == "cancelled" and row.ended_at is not None
    assert set(offer_states(rid).values()) == {"withdrawn"}
    assert offers_of(mitra_budi) == []
    r = client_ani.api.post(f"/api/client/pairing-requests/{rid}/cancel")
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    r = mitra_budi.api.post(f"/api/mitra/pairing-requests/{rid}/accept")
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    assert not Session.objects.exists()


# --- the mitra side ----------------------------------------------------------------------

def test_offer_shows_alias_or_display_name_per_setting(client_ani, mitra_budi):
    request_trial(client_ani, topic="kerja")
    offer = mitra_budi.api.get("/api/mitra/pairing-requests").json()[0]
    assert offer["client"] == {"alias": client_ani.user.alias}
    assert "Ani" not in str(offer)
    set_platform_settings(client_identity_for_mitra="display_name")
    offer = mitra_budi.api.get("/api/mitra/pairing-requests").json()[0]
    assert offer["client"] == {"alias": "Ani"}


def test_decline_keeps_the_request_open_for_others(client_ani, mitra_budi, mitra_dina):
    rid = request_trial(client_ani)["id"]
    r = mitra_budi.api.post(f"/api/mitra/pairing-requests/{rid}/decline")
    assert r.status_code == 204 and not r.content
    assert offer_states(rid) == {mitra_budi.id: "declined", mitra_dina.id: "open"}
    assert PairingRequest.objects.get(pk=rid).state == "searching"
    assert offers_of(mitra_budi) == [] and offers_of(mitra_dina) == [rid]
    # A declined offer cannot be accepted or declined again.
    assert mitra_budi.api.post(f"/api/mitra/pairing-requests/{rid}/accept").status_code == 404
    assert mitra_budi.api.post(f"/api/mitra/pairing-requests/{rid}/decline").status_code == 404
    assert accept(mitra_dina, rid)["state"] == "active"


def test_accept_creates_an_active_trial_session_and_tells_everyone(client_ani, mitra_budi, mitra_dina,
                                                                   django_capture_on_commit_callbacks):
    third = make_mitra("Eko", online=True)
    rid = request_trial(client_ani)["id"]
    groups = [client_group(client_ani.id), *(mitra_group(m.id) for m in (mitra_budi, mitra_dina, third))]
    with EventProbe(*groups) as probe:
        with django_capture_on_commit_callbacks(execute=True):
            r = mitra_budi.api.post(f"/api/mitra/pairing-requests/{rid}/accept")
        assert r.status_code == 201, r.content
        session = r.json()
        matched = probe.wait_event("pairing.matched", group=client_group(client_ani.id))["data"]
        assert matched["request_id"] == rid
        assert matched["session"]["id"] == session["id"] and matched["session"]["state"] == "active"
        for mitra in (mitra_dina, third):
            withdrawn = probe.wait_event("pairing.offer_withdrawn", group=mitra_group(mitra.id))
            assert withdrawn["data"] == {"id": rid, "reason": "taken"}
        probe.settle()
        assert probe.events("pairing.offer_withdrawn", group=mitra_group(mitra_budi.id)) == []
        assert probe.events("pairing.matched", group=mitra_group(mitra_budi.id)) == []

    assert session["state"] == "active" and session["free_trial"] is True
    assert session["mitra"]["id"] == str(mitra_budi.id) and session["client"]["id"] == str(client_ani.id)
    assert session["started_at"] and session["ends_at"] and session["closure"] is None
    row = Session.objects.get(pk=session["id"])
    assert row.state == "active" and row.mitra_id == mitra_budi.id and row.client_id == client_ani.id
    assert row.ends_at - row.started_at == timedelta(minutes=15)
    request = PairingRequest.objects.get(pk=rid)
    assert (request.state, request.session_id, request.matched_mitra_id) == ("matched", row.id, mitra_budi.id)
    assert offer_states(rid) == {mitra_budi.id: "accepted", mitra_dina.id: "withdrawn", third.id: "withdrawn"}
    assert client_ani.refresh().free_trial_used is True
    assert list(Message.objects.filter(session=row).values_list("sender", "system_code")) == [
        ("system", "session_active")]
    # The client's view of its request and session.
    got = client_ani.api.get(f"/api/client/pairing-requests/{rid}").json()
    assert got["state"] == "matched" and got["session_id"] == session["id"]
    assert client_ani.api.get(f"/api/client/sessions/{session['id']}").json()["state"] == "active"
    # Late accepts lose.
    for mitra in (mitra_dina, third):
        r = mitra.api.post(f"/api/mitra/pairing-requests/{rid}/accept")
        assert r.status_code == 409 and r.json()["code"] == "already_taken"
    assert Session.objects.count() == 1


def test_accept_paid_request_waits_for_payment(client_ani, mitra_budi, session_tier):
    r = create(client_ani, tier_id=str(session_tier.id))
    session = accept(mitra_budi, r.json()["id"])
    assert session["state"] == "awaiting_payment"
    assert session["started_at"] is None and session["ends_at"] is None
    row = Session.objects.get(pk=session["id"])
    assert (row.minutes, row.price, row.tier_id) == (30, 50000, session_tier.id)
    assert row.payment_due_at is not None
    assert client_ani.refresh().free_trial_used is False


def test_accept_needs_an_offer(client_ani, mitra_budi):
    late = make_mitra("Late")  # offline at blast time
    rid = request_trial(client_ani)["id"]
    r = late.api.post(f"/api/mitra/pairing-requests/{rid}/accept")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert late.api.post(f"/api/mitra/pairing-requests/{uuid.uuid4()}/accept").status_code == 404
    assert late.api.post("/api/mitra/pairing-requests/garbage/accept").status_code == 404


def test_capacity_limits_offers_and_accepts(mitra_budi):
    set_platform_settings(max_customers_per_mitra=1)
    ani, citra, dewi = make_client("Ani"), make_client("Citra"), make_client("Dewi")
    first, second = request_trial(ani)["id"], request_trial(citra)["id"]
    assert set(offers_of(mitra_budi)) == {first, second}
    accept(mitra_budi, first)
    r = mitra_budi.api.post(f"/api/mitra/pairing-requests/{second}/accept")
    assert r.status_code == 409 and r.json()["code"] == "capacity_reached"
    assert PairingRequest.objects.get(pk=second).state == "searching"
    assert Session.objects.filter(mitra=mitra_budi.user).count() == 1
    # At capacity: not offered new requests.
    third = request_trial(dewi)["id"]
    assert not PairingOffer.objects.filter(request_id=third, mitra=mitra_budi.user).exists()
    presence = mitra_budi.api.get("/api/mitra/presence").json()
    assert (presence["live_sessions"], presence["max_customers"]) == (1, 1)


# --- expiry and late mitras ----------------------------------------------------------------

def test_expiry_by_the_sweep(client_ani, mitra_budi, mitra_dina, django_capture_on_commit_callbacks):
    rid = request_trial(client_ani)["id"]
    row = PairingRequest.objects.get(pk=rid)
    assert pairing_sweep_expired(now=row.expires_at - timedelta(seconds=1)) == 0
    groups = [client_group(client_ani.id), mitra_group(mitra_budi.id), mitra_group(mitra_dina.id)]
    with EventProbe(*groups) as probe:
        with django_capture_on_commit_callbacks(execute=True):
            assert pairing_sweep_expired(now=row.expires_at + timedelta(seconds=1)) == 1
        assert probe.wait_event("pairing.expired", group=client_group(client_ani.id))["data"] == {"request_id": rid}
        for mitra in (mitra_budi, mitra_dina):
            event = probe.wait_event("pairing.offer_withdrawn", group=mitra_group(mitra.id))
            assert event["data"] == {"id": rid, "reason": "expired"}
    row.refresh_from_db()
    assert row.state == "expired" and row.ended_at is not None
    assert set(offer_states(rid).values()) == {"withdrawn"}
    assert client_ani.api.get(f"/api/client/pairing-requests/{rid}").json()["state"] == "expired"
    assert pairing_sweep_expired(now=row.expires_at + timedelta(seconds=5)) == 0
    r = mitra_budi.api.post(f"/api/mitra/pairing-requests/{rid}/accept")
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    # "No bestie": the client may try again.
    assert create(client_ani, free_trial=True).status_code == 201


def test_accept_after_the_deadline_but_before_the_sweep_is_refused(client_ani, mitra_budi):
    rid = request_trial(client_ani)["id"]
    PairingRequest.objects.filter(pk=rid).update(expires_at=timezone.now() - timedelta(seconds=1))
    r = mitra_budi.api.post(f"/api/mitra/pairing-requests/{rid}/accept")
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    assert not Session.objects.exists()
    assert offers_of(mitra_budi) == []


def test_mitra_who_comes_online_later_is_offered_waiting_requests(client_ani, client_citra,
                                                                  django_capture_on_commit_callbacks):
    budi = make_mitra("Budi")
    first = request_trial(client_ani)["id"]
    second = request_trial(client_citra)["id"]
    client_citra.api.post(f"/api/client/pairing-requests/{second}/cancel")
    with EventProbe(mitra_group(budi.id)) as probe:
        with django_capture_on_commit_callbacks(execute=True):
            assert budi.api.put("/api/mitra/presence", {"status": "online"}, format="json").status_code == 200
        offer = probe.wait_event("pairing.offer", id=first)
        assert offer["data"]["client"]["alias"] == client_ani.user.alias
        probe.settle()
        assert [e["data"]["id"] for e in probe.events("pairing.offer")] == [first]
    assert offers_of(budi) == [first]
    assert accept(budi, first)["state"] == "active"


@pytest.mark.parametrize("free_up", ["client_ends", "mitra_ends", "time_up", "unpaid", "rerouted"])
def test_mitra_freed_from_capacity_is_offered_waiting_requests(mitra_budi, session_tier, free_up,
                                                               django_capture_on_commit_callbacks):
    """Available = online, fresh and below capacity: a slot that frees up counts as becoming
    available, so a request still searching reaches that mitra."""
    from chat.services.lifecycle import session_reroute, session_sweep_overdue

    set_platform_settings(max_customers_per_mitra=1)
    citra, ani = make_client("Citra"), make_client("Ani")
    if free_up == "unpaid":
        r = create(citra, tier_id=str(session_tier.id))
        sid = accept(mitra_budi, r.json()["id"])["id"]
    else:
        sid = start_trial_session(citra, mitra_budi)["id"]
    rid = request_trial(ani)["id"]
    assert offers_of(mitra_budi) == []  # at capacity
    with EventProbe(mitra_group(mitra_budi.id)) as probe:
        with django_capture_on_commit_callbacks(execute=True):
            if free_up == "client_ends":
                assert citra.api.post(f"/api/client/sessions/{sid}/end").status_code == 200
            elif free_up == "mitra_ends":
                assert mitra_budi.api.post(f"/api/mitra/sessions/{sid}/end").status_code == 200
            elif free_up == "time_up":
                Session.objects.filter(pk=sid).update(ends_at=timezone.now() - timedelta(minutes=5))
                session_sweep_overdue()
            elif free_up == "unpaid":
                Session.objects.filter(pk=sid).update(payment_due_at=timezone.now() - timedelta(seconds=1))
                session_sweep_overdue()
            else:
                dina = make_mitra("Dina", online=True)
                PairingOffer.objects.filter(request_id=rid, mitra=dina.user).delete()  # Dina busy elsewhere
                session_reroute(session_id=sid, to_mitra=dina.user, actor=None)
        assert Session.objects.get(pk=sid).mitra_id != mitra_budi.id or Session.objects.get(pk=sid).state in (
            "closed", "cancelled")
        offer = probe.wait_event("pairing.offer", id=rid)
        assert offer["data"]["client"]["alias"] == ani.user.alias
    assert offers_of(mitra_budi) == [rid]
    assert accept(mitra_budi, rid)["state"] == "active"


def test_mitra_back_from_stale_heartbeat_is_offered_waiting_requests(client_ani, mitra_budi):
    MitraPresence.objects.filter(mitra=mitra_budi.user).update(
        last_heartbeat_at=timezone.now() - timedelta(seconds=120))
    rid = request_trial(client_ani)["id"]
    assert offers_of(mitra_budi) == []
    mitra_budi.api.post("/api/mitra/presence/heartbeat")
    assert offers_of(mitra_budi) == [rid]
