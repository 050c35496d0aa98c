"""Mitra presence: online/offline, heartbeats (and when they write), auto-offline, online logs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import mitra_set_active
from halobestie.realtime import mitra_group
from halobestie.testing.events import EventProbe
from halobestie.testing.fixtures import make_client, make_mitra, set_platform_settings
from pairing.models import MitraOnlineLog, MitraPresence, PairingOffer
from pairing.services import presence_go_offline, presence_sweep_auto_offline

pytestmark = pytest.mark.django_db

PRESENCE_KEYS = {"status", "since", "last_heartbeat_at", "heartbeat_interval", "auto_offline_after",
                 "live_sessions", "max_customers"}


def presence_row(actor) -> MitraPresence:
    return MitraPresence.objects.get(mitra=actor.user)


def age_heartbeat(actor, seconds: int) -> None:
    MitraPresence.objects.filter(mitra=actor.user).update(
        last_heartbeat_at=timezone.now() - timedelta(seconds=seconds))


def test_presence_of_a_new_mitra_is_offline():
    budi = make_mitra("Budi")
    r = budi.api.get("/api/mitra/presence")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == PRESENCE_KEYS
    assert body["status"] == "offline" and body["since"] is None and body["last_heartbeat_at"] is None
    assert (body["heartbeat_interval"], body["auto_offline_after"], body["live_sessions"],
            body["max_customers"]) == (30, 90, 0, 3)


def test_put_online_then_offline_writes_one_log_row_per_period():
    budi = make_mitra("Budi")
    r = budi.api.put("/api/mitra/presence", {"status": "online"}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "online" and body["since"] and body["last_heartbeat_at"]
    presence = presence_row(budi)
    assert presence.status == "online" and presence.current_log is not None
    first_log = presence.current_log

    # Going online again is not a new period.
    assert budi.api.put("/api/mitra/presence", {"status": "online"}, format="json").json()["since"] == body["since"]
    assert MitraOnlineLog.objects.filter(mitra=budi.user).count() == 1

    r = budi.api.put("/api/mitra/presence", {"status": "offline"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "offline"
    first_log.refresh_from_db()
    assert first_log.ended_at is not None and first_log.end_reason == "manual"
    assert first_log.duration_seconds is not None and first_log.duration_seconds >= 0
    assert presence_row(budi).current_log is None

    # Offline twice: nothing new.
    budi.api.put("/api/mitra/presence", {"status": "offline"}, format="json")
    budi.api.put("/api/mitra/presence", {"status": "online"}, format="json")
    logs = list(MitraOnlineLog.objects.filter(mitra=budi.user).order_by("started_at"))
    assert len(logs) == 2 and logs[1].ended_at is None
    assert budi.api.get("/api/mitra/presence").json()["status"] == "online"


@pytest.mark.parametrize("payload", [{}, {"status": "away"}, {"status": None}])
def test_put_presence_validation(payload):
    budi = make_mitra("Budi")
    r = budi.api.put("/api/mitra/presence", payload, format="json")
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error" and "status" in r.json()["fields"]
    assert not MitraPresence.objects.filter(mitra=budi.user, status="online").exists()


def test_rest_heartbeat_refreshes_a_stale_beat(mitra_budi):
    age_heartbeat(mitra_budi, 40)
    before = presence_row(mitra_budi).last_heartbeat_at
    r = mitra_budi.api.post("/api/mitra/presence/heartbeat")
    assert r.status_code == 200
    assert set(r.json()) == PRESENCE_KEYS
    after = presence_row(mitra_budi).last_heartbeat_at
    assert after > before
    assert r.json()["last_heartbeat_at"] == after.isoformat()


def test_fresh_heartbeat_skips_the_write(mitra_budi, django_assert_max_num_queries):
    from pairing.services import presence_heartbeat

    age_heartbeat(mitra_budi, 5)  # fresher than half the 30 s interval
    before = presence_row(mitra_budi).last_heartbeat_at
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        presence_heartbeat(mitra=mitra_budi.user)
    writes = [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))]
    assert writes == []
    assert presence_row(mitra_budi).last_heartbeat_at == before
    # The REST endpoint answers without writing either, but its answer is the beat it
    # just received, not the stored one (never stale).
    from datetime import datetime

    answered = datetime.fromisoformat(
        mitra_budi.api.post("/api/mitra/presence/heartbeat").json()["last_heartbeat_at"])
    assert answered >= before + timedelta(seconds=5)
    assert presence_row(mitra_budi).last_heartbeat_at == before


def test_heartbeat_does_not_bring_an_offline_mitra_online():
    budi = make_mitra("Budi")
    r = budi.api.post("/api/mitra/presence/heartbeat")
    assert r.status_code == 200 and r.json()["status"] == "offline"
    assert not MitraPresence.objects.filter(mitra=budi.user, status="online").exists()
    assert not MitraOnlineLog.objects.filter(mitra=budi.user).exists()


def test_auto_offline_sweep_closes_the_period_and_tells_the_app(mitra_budi, mitra_dina,
                                                                django_capture_on_commit_callbacks):
    age_heartbeat(mitra_budi, 91)
    age_heartbeat(mitra_dina, 60)
    with EventProbe(mitra_group(mitra_budi.id), mitra_group(mitra_dina.id)) as probe:
        with django_capture_on_commit_callbacks(execute=True):
            assert presence_sweep_auto_offline() == 1
        event = probe.wait_event("presence.updated", group=mitra_group(mitra_budi.id))
        assert event["data"]["status"] == "offline"
        assert set(event["data"]) >= PRESENCE_KEYS
        probe.settle()
        assert probe.events("presence.updated", group=mitra_group(mitra_dina.id)) == []
    budi = presence_row(mitra_budi)
    assert budi.status == "offline" and budi.current_log is None
    log = MitraOnlineLog.objects.get(mitra=mitra_budi.user)
    assert log.end_reason == "auto_offline" and log.ended_at is not None
    assert presence_row(mitra_dina).status == "online"
    # Idempotent.
    assert presence_sweep_auto_offline() == 0
    assert MitraOnlineLog.objects.get(mitra=mitra_budi.user).ended_at == log.ended_at
    assert mitra_budi.api.get("/api/mitra/presence").json()["status"] == "offline"


def test_online_log_end_reasons(db):
    budi = make_mitra("Budi", online=True)
    presence_go_offline(mitra=budi.user, reason="manual")
    budi.api.put("/api/mitra/presence", {"status": "online"}, format="json")
    age_heartbeat(budi, 100)
    presence_sweep_auto_offline()
    budi.api.put("/api/mitra/presence", {"status": "online"}, format="json")
    presence_go_offline(mitra=budi.user, reason="staff")
    budi.api.put("/api/mitra/presence", {"status": "online"}, format="json")
    mitra_set_active(mitra=budi.user, active=False, actor=None)
    reasons = list(MitraOnlineLog.objects.filter(mitra=budi.user).order_by("started_at")
                   .values_list("end_reason", flat=True))
    assert reasons == ["manual", "auto_offline", "staff", "deactivated"]
    assert not MitraOnlineLog.objects.filter(mitra=budi.user, ended_at__isnull=True).exists()
    assert presence_row(budi).status == "offline"


def test_staff_offline_tells_the_app_but_manual_offline_does_not_need_to(mitra_budi,
                                                                        django_capture_on_commit_callbacks):
    with EventProbe(mitra_group(mitra_budi.id)) as probe:
        with django_capture_on_commit_callbacks(execute=True):
            presence_go_offline(mitra=mitra_budi.user, reason="staff")
        assert probe.wait_event("presence.updated")["data"]["status"] == "offline"


def test_stale_mitra_is_not_offered_new_requests_until_it_beats_again(mitra_budi, mitra_dina):
    age_heartbeat(mitra_dina, 95)  # the sweep has not run yet: still "online" in the row
    ani = make_client("Ani")
    r = ani.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json")
    assert r.status_code == 201
    rid = r.json()["id"]
    assert set(PairingOffer.objects.filter(request_id=rid).values_list("mitra_id", flat=True)) == {mitra_budi.id}
    assert mitra_dina.api.get("/api/mitra/pairing-requests").json() == []
    # A stale mitra cannot accept what it was never offered.
    assert mitra_dina.api.post(f"/api/mitra/pairing-requests/{rid}/accept").status_code == 404
    # Its next heartbeat makes it available again, and the waiting request reaches it.
    assert mitra_dina.api.post("/api/mitra/presence/heartbeat").status_code == 200
    assert [o["id"] for o in mitra_dina.api.get("/api/mitra/pairing-requests").json()] == [rid]


def test_settings_drive_the_presence_numbers():
    set_platform_settings(heartbeat_interval=10, auto_offline_after=25, max_customers_per_mitra=2)
    budi = make_mitra("Budi", online=True)
    body = budi.api.get("/api/mitra/presence").json()
    assert (body["heartbeat_interval"], body["auto_offline_after"], body["max_customers"]) == (10, 25, 2)
    age_heartbeat(budi, 26)
    assert presence_sweep_auto_offline() == 1
