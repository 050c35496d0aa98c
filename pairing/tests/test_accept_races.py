"""First accept wins, and capacity holds, under real concurrency: threads, each with its own
PostgreSQL connection, hitting the accept endpoint at the same moment."""

from collections import Counter

import pytest

from chat.models import LIVE_STATES, Session
from halobestie.testing.concurrency import race
from halobestie.testing.fixtures import make_client, make_mitra, request_trial, set_platform_settings
from pairing.models import PairingOffer, PairingRequest

pytestmark = pytest.mark.django_db(transaction=True)


def accept_call(mitra, request_id):
    def call():
        r = mitra.api.post(f"/api/mitra/pairing-requests/{request_id}/accept")
        return r.status_code, r.json()
    return call


def test_twenty_mitras_accepting_at_once_exactly_one_wins():
    mitras = [make_mitra(f"M{i}", online=True) for i in range(20)]
    ani = make_client("Ani")
    rid = request_trial(ani)["id"]
    assert PairingOffer.objects.filter(request_id=rid).count() == 20

    results = race([accept_call(m, rid) for m in mitras])

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: 19}, results
    assert {body["code"] for status, body in results if status == 409} == {"already_taken"}
    winner_index = next(i for i, (status, _) in enumerate(results) if status == 201)
    winner = mitras[winner_index]
    session = results[winner_index][1]
    assert Session.objects.count() == 1
    row = Session.objects.get()
    assert str(row.id) == session["id"] and row.mitra_id == winner.id and row.client_id == ani.id
    request = PairingRequest.objects.get(pk=rid)
    assert request.state == "matched" and request.session_id == row.id and request.matched_mitra_id == winner.id
    states = Counter(PairingOffer.objects.filter(request_id=rid).values_list("state", flat=True))
    assert states == {"accepted": 1, "withdrawn": 19}
    assert PairingOffer.objects.get(request_id=rid, state="accepted").mitra_id == winner.id


@pytest.mark.parametrize("capacity", [1, 3])
def test_mitra_at_capacity_minus_one_racing_two_accepts_never_exceeds_capacity(capacity):
    set_platform_settings(max_customers_per_mitra=capacity)
    budi = make_mitra("Budi", online=True)
    rounds = 5
    for round_no in range(rounds):
        # Bring Budi to capacity - 1 live sessions (sessions of earlier rounds are closed).
        Session.objects.filter(mitra=budi.user, state__in=LIVE_STATES).update(state="closed")
        for i in range(capacity - 1):
            filler = make_client(f"F{round_no}-{i}")
            rid = request_trial(filler)["id"]
            assert budi.api.post(f"/api/mitra/pairing-requests/{rid}/accept").status_code == 201
        first, second = make_client(f"A{round_no}"), make_client(f"B{round_no}")
        r1, r2 = request_trial(first)["id"], request_trial(second)["id"]

        results = race([accept_call(budi, r1), accept_call(budi, r2)])

        statuses = sorted(status for status, _ in results)
        assert statuses == [201, 409], results
        assert [b["code"] for s, b in results if s == 409] == ["capacity_reached"]
        live = Session.objects.filter(mitra=budi.user, state__in=LIVE_STATES).count()
        assert live == capacity, f"round {round_no}: {live} live sessions"
        states = sorted(PairingRequest.objects.filter(pk__in=[r1, r2]).values_list("state", flat=True))
        assert states == ["matched", "searching"]


def test_two_mitras_each_at_capacity_minus_one_racing_for_several_requests():
    """Many accepts for many requests at once: no mitra exceeds the cap, no request gets two
    sessions, no client gets two live sessions."""
    set_platform_settings(max_customers_per_mitra=2)
    mitras = [make_mitra(f"M{i}", online=True) for i in range(3)]
    clients = [make_client(f"C{i}") for i in range(6)]
    rids = [request_trial(c)["id"] for c in clients]
    calls = [accept_call(m, rid) for m in mitras for rid in rids]

    results = race(calls)

    created = [body for status, body in results if status == 201]
    assert len(created) == 6  # 3 mitras x capacity 2 = 6 seats for 6 requests
    codes = Counter(body["code"] for status, body in results if status == 409)
    assert set(codes) <= {"already_taken", "capacity_reached"}
    for m in mitras:
        assert Session.objects.filter(mitra=m.user, state__in=LIVE_STATES).count() <= 2
    assert Session.objects.count() == 6
    assert set(PairingRequest.objects.values_list("state", flat=True)) == {"matched"}
    assert len({s["client"]["id"] for s in created}) == 6


def test_cancel_racing_accepts_has_one_outcome():
    mitras = [make_mitra(f"M{i}", online=True) for i in range(3)]
    for round_no in range(5):
        ani = make_client(f"Ani{round_no}")
        rid = request_trial(ani)["id"]

        def cancel(ani=ani, rid=rid):
            r = ani.api.post(f"/api/client/pairing-requests/{rid}/cancel")
            return r.status_code, r.json()

        results = race([cancel] + [accept_call(m, rid) for m in mitras])
        request = PairingRequest.objects.get(pk=rid)
        cancel_status = results[0][0]
        accepted = [body for status, body in results[1:] if status == 201]
        if request.state == "cancelled":
            assert cancel_status == 200 and accepted == []
            assert not Session.objects.filter(client=ani.user).exists()
            assert set(PairingOffer.objects.filter(request_id=rid).values_list("state", flat=True)) == {"withdrawn"}
        else:
            assert request.state == "matched"
            assert cancel_status == 409 and results[0][1]["code"] == "invalid_state"
            assert len(accepted) == 1
            assert Session.objects.filter(client=ani.user).count() == 1
        losers = [body["code"] for status, body in results[1:] if status == 409]
        assert set(losers) <= {"already_taken", "invalid_state"}
