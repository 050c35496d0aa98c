"""The blast is one fan-out: the number of queries does not grow with the number of mitras."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Mitra
from halobestie.realtime import mitra_group
from halobestie.testing.events import EventProbe
from halobestie.testing.fixtures import make_client
from pairing.models import MitraOnlineLog, MitraPresence, PairingOffer
from pairing.services import pairing_request_create

pytestmark = pytest.mark.django_db


def online_mitras(count: int, tag: str) -> list[Mitra]:
    now = timezone.now()
    mitras = Mitra.objects.bulk_create(
        [Mitra(phone=f"+62877{tag}{i:05d}", display_name=f"{tag}{i}") for i in range(count)])
    logs = MitraOnlineLog.objects.bulk_create([MitraOnlineLog(mitra=m, started_at=now) for m in mitras])
    MitraPresence.objects.bulk_create([
        MitraPresence(mitra=m, status="online", since=now, last_heartbeat_at=now, current_log=log)
        for m, log in zip(mitras, logs, strict=True)])
    return mitras


def blast_queries(client) -> tuple[int, list]:
    with CaptureQueriesContext(connection) as ctx:
        request = pairing_request_create(client=client.user, free_trial=True)
    return len(ctx.captured_queries), [request, ctx.captured_queries]


def test_query_count_is_the_same_for_10_and_100_mitras(django_capture_on_commit_callbacks):
    ten = online_mitras(10, "10")
    blast_queries(make_client("Warm"))  # fills the per-process caches (settings row)
    small_count, (small_request, _) = blast_queries(make_client("Ani"))
    assert PairingOffer.objects.filter(request=small_request).count() == 10
    assert small_count <= 10

    hundred = online_mitras(90, "99")  # 100 available now
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        big_count, (big_request, queries) = blast_queries(make_client("Citra"))
    assert PairingOffer.objects.filter(request=big_request).count() == 100
    assert big_count == small_count, "\n".join(q["sql"][:160] for q in queries)

    # And the fan-out really reaches every one of the 100 (one batch after commit).
    groups = [mitra_group(m.id) for m in ten + hundred]
    with EventProbe(*groups) as probe:
        with CaptureQueriesContext(connection) as ctx:
            for callback in callbacks:
                callback()
        for group in groups:
            probe.wait_event("pairing.offer", group=group, id=str(big_request.id))
    # Sending the events after commit costs no query per mitra either.
    assert len(ctx.captured_queries) <= small_count
