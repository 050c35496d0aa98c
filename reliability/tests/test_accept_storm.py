"""200 rounds of 10 simultaneous accepts on one pairing request.

Ten mitra threads, each with its own PostgreSQL connection and its own API client, are
released by a barrier onto the same request, round after round. Capacity is 2 and
sessions are ended only now and then, so most rounds also race mitras that are at, or
one below, capacity. Every round: exactly one 201, every other answer `already_taken`
or `capacity_reached`; after every round no mitra holds more than 2 live sessions.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count, Q

from accounts.models import Mitra
from chat.models import LIVE_STATES, Session
from chat.services.lifecycle import session_end
from halobestie.testing.fixtures import make_client, make_mitra, set_platform_settings
from pairing.models import PairingOffer, PairingRequest
from pairing.services import pairing_request_create
from reliability.figures import record

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROUNDS = 200
RACERS = 10
CAPACITY = 2
KEEP_LIVE = 15  # of RACERS * CAPACITY = 20 slots: always someone free, often someone full


class Racers:
    """RACERS threads that, each round, accept the same request at the same moment."""

    def __init__(self, mitras):
        self.mitras = mitras
        self.request_id = None
        self.results: list = [None] * len(mitras)
        self.go = threading.Barrier(len(mitras) + 1)
        self.done = threading.Barrier(len(mitras) + 1)
        self.stop = False
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(len(mitras))]
        for t in self.threads:
            t.start()

    def _run(self, i):
        api = self.mitras[i].api
        try:
            while True:
                self.go.wait(30)
                if self.stop:
                    return
                try:
                    r = api.post(f"/api/mitra/pairing-requests/{self.request_id}/accept")
                    self.results[i] = (r.status_code, r.json())
                except Exception as exc:  # noqa: BLE001 - reported by the round
                    self.results[i] = exc
                self.done.wait(30)
        finally:
            connection.close()

    def round(self, request_id) -> list:
        self.request_id = request_id
        self.results = [None] * len(self.mitras)
        self.go.wait(30)
        self.done.wait(30)
        return list(self.results)

    def close(self):
        self.stop = True
        self.go.wait(30)
        for t in self.threads:
            t.join(10)


def live_per_mitra() -> dict:
    return dict(
        Mitra.objects.annotate(live=Count("sessions", filter=Q(sessions__state__in=LIVE_STATES))).values_list(
            "id", "live"
        )
    )


def test_two_hundred_rounds_of_ten_simultaneous_accepts():
    set_platform_settings(max_customers_per_mitra=CAPACITY)
    mitras = [make_mitra(f"Mitra{i}", online=True) for i in range(RACERS)]
    racers = Racers(mitras)
    answers: Counter = Counter()
    winners: Counter = Counter()
    most_live = 0
    try:
        for n in range(ROUNDS):
            client = make_client(f"Klien{n}")
            request = pairing_request_create(client=client.user, free_trial=True)
            # Offered to all ten, full or not, so the capacity check races too.
            PairingOffer.objects.bulk_create(
                [PairingOffer(request=request, mitra=m.user) for m in mitras], ignore_conflicts=True
            )
            results = racers.round(str(request.id))
            errors = [r for r in results if isinstance(r, Exception)]
            assert not errors, errors
            statuses = Counter(status for status, _ in results)
            assert statuses[201] == 1, f"round {n}: {results}"
            codes = Counter(body["code"] for status, body in results if status != 201)
            assert set(codes) <= {"already_taken", "capacity_reached"} and sum(codes.values()) == RACERS - 1, (
                f"round {n}: {results}"
            )
            answers.update(codes)
            winner = next(body for status, body in results if status == 201)
            winners[winner["mitra"]["id"]] += 1
            request.refresh_from_db()
            assert request.state == "matched" and str(request.session_id) == winner["id"]
            live = live_per_mitra()
            most_live = max(most_live, max(live.values()))
            assert max(live.values()) <= CAPACITY, f"round {n}: capacity exceeded {live}"
            # End the oldest sessions now and then, keeping most slots taken.
            live_ids = list(
                Session.objects.filter(state__in=LIVE_STATES).order_by("matched_at").values_list("id", "client_id")
            )
            if len(live_ids) >= KEEP_LIVE:
                for sid, _ in live_ids[:5]:
                    session = Session.objects.select_related("client").get(pk=sid)
                    session_end(session_id=sid, by=session.client)
    finally:
        racers.close()

    assert Session.objects.count() == ROUNDS
    assert PairingRequest.objects.filter(state="matched").count() == ROUNDS
    assert not PairingRequest.objects.values("session").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert most_live == CAPACITY  # mitras really were at capacity during races
    assert answers["capacity_reached"] > 0 and answers["already_taken"] > 0
    record(
        "accept races",
        f"{ROUNDS} rounds x {RACERS} simultaneous accepts: {ROUNDS} winners (1 per round), "
        f"{answers['already_taken']} already_taken, {answers['capacity_reached']} "
        f"capacity_reached, capacity {CAPACITY} never exceeded",
    )
