"""Prometheus metrics: served on the internal entrypoint only; every process's numbers
summed through Redis (two real web servers); counters survive a process that stops, its
gauges do not; a Redis blip loses no counts; Celery queue depth and sweep lag at scrape."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.test import Client as DjangoClient
from django.test import override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from chat.models import Session
from halobestie import metrics
from halobestie.celery import app as celery_app
from halobestie.metrics import shipping
from halobestie.testing.fixtures import make_client, make_mitra, start_trial_session
from halobestie.testing.live import LiveServer, WsClient
from halobestie.timers import run_sweep

from .factories import live_session


def scrape(web: DjangoClient | None = None, **headers) -> dict:
    """{(sample name, ((label, value), ...)): value} from the internal /metrics."""
    web = web or DjangoClient()
    with override_settings(ROOT_URLCONF="halobestie.urls_internal"):
        r = web.get("/metrics", **headers)
    assert r.status_code == 200, r.content
    assert r["Content-Type"].startswith("text/plain; version=0.0.4")
    values = {}
    for family in text_string_to_metric_families(r.content.decode()):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def wait_for(predicate, *, timeout: float = 20.0, what: str = "condition"):
    """Poll until the predicate returns a truthy value (condition, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def metrics_prefix(settings):
    """A prefix of this test's own, removed afterwards (the Redis is shared)."""
    settings.METRICS_PREFIX = f"hbtest-metrics-{uuid.uuid4().hex[:10]}"
    yield settings.METRICS_PREFIX
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=f"{settings.METRICS_PREFIX}:*"))
    if keys:
        client.delete(*keys)


@pytest.mark.django_db
def test_metrics_are_served_on_the_internal_entrypoint_only(metrics_prefix):
    values = scrape()
    assert ("halobestie_celery_queue_depth", (("queue", settings.CELERY_TASK_DEFAULT_QUEUE),)) in values
    assert values[("halobestie_sweep_lag_seconds", (("deadline", "session_end"),))] == 0.0
    assert values[("halobestie_metrics_processes", ())] == 0.0  # nothing shipped under this prefix yet


@pytest.mark.django_db
def test_a_metrics_token_can_be_required(metrics_prefix, settings):
    settings.METRICS_TOKEN = "scrape-secret"
    settings.ROOT_URLCONF = "halobestie.urls_internal"
    web = DjangoClient()
    assert web.get("/metrics").status_code == 401
    assert web.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert scrape(web, HTTP_AUTHORIZATION="Bearer scrape-secret")


@pytest.mark.django_db
def test_sweep_lag_shows_a_late_clock_and_clears_when_the_sweep_runs(metrics_prefix):
    session = live_session()
    Session.objects.filter(pk=session.pk).update(ends_at=timezone.now() - timedelta(minutes=2))
    lag = scrape()[("halobestie_sweep_lag_seconds", (("deadline", "session_end"),))]
    assert 120 <= lag < 180
    run_sweep()
    # Ended two minutes ago: past its goodbye window too, so the one sweep closes it.
    assert Session.objects.get(pk=session.pk).state == "closed"
    lags = {labels: v for (name, labels), v in scrape().items() if name == "halobestie_sweep_lag_seconds"}
    assert len(lags) == 7 and set(lags.values()) == {0.0}


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")  # send_task always sends
def test_celery_queue_depth_counts_waiting_tasks(metrics_prefix):
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(queue)
    try:
        for _ in range(3):
            celery_app.send_task("halobestie.timers.sweep", queue=queue)  # no worker: they wait
        assert scrape()[("halobestie_celery_queue_depth", (("queue", queue),))] == 3.0
    finally:
        broker.delete(queue)


@pytest.mark.django_db
def test_a_failed_flush_loses_nothing(metrics_prefix):
    """Redis unreachable for a flush: the increase is kept and shipped by the next one."""
    good = redis.Redis.from_url(settings.REDIS_URL)
    shipper = shipping.Shipper(client=good, interval=60)
    assert shipper.flush()  # the baseline: whatever this process counted before
    base = scrape().get(("halobestie_messages_total", (("sender", "client"),)), 0.0)
    metrics.MESSAGES_BY_SENDER["client"].inc(3)
    shipper.client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    assert shipper.flush() is False
    assert scrape().get(("halobestie_messages_total", (("sender", "client"),)), 0.0) == base
    metrics.MESSAGES_BY_SENDER["client"].inc(2)
    shipper.client = good
    assert shipper.flush()
    assert scrape()[("halobestie_messages_total", (("sender", "client"),))] == base + 5
    assert shipper.flush()  # nothing new: nothing added twice
    assert scrape()[("halobestie_messages_total", (("sender", "client"),))] == base + 5
    shipper.stop()


def _post_webhook(server: LiveServer, token: str, payload: dict) -> int:
    request = urllib.request.Request(
        f"{server.http_url}/api/shared/webhooks/xendit/invoice",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "x-callback-token": token},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.django_db(transaction=True)
def test_two_web_processes_are_summed_and_a_stopped_one_keeps_its_counts(metrics_prefix):
    env = {"METRICS_SHIP": "1", "METRICS_FLUSH_SECONDS": "0.2", "METRICS_PREFIX": metrics_prefix}
    ani, budi = make_client("Ani"), make_mitra("Budi", online=True)
    session = start_trial_session(ani, budi)
    sid = session["id"]
    with LiveServer(env=env) as one, LiveServer(env=env) as two:

        async def talk():
            client_ws = await WsClient(f"{one.ws_url}/ws/client/", ani.token).connect()
            mitra_ws = await WsClient(f"{two.ws_url}/ws/mitra/", budi.token).connect()
            for n in range(3):
                ack = await client_ws.request("message.send", {"session_id": sid, "client_message_id": f"c{n}",
                                                               "body": "halo"})
                assert ack["type"] == "ack", ack
            for n in range(2):
                ack = await mitra_ws.request("message.send", {"session_id": sid, "client_message_id": f"m{n}",
                                                              "body": "iya"})
                assert ack["type"] == "ack", ack
            # A retry of a stored message is not a new message.
            await client_ws.request("message.send", {"session_id": sid, "client_message_id": "c0", "body": "halo"})
            return client_ws, mitra_ws

        # The public entrypoint has no such path (a real server, its real URLconf).
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{one.http_url}/metrics", timeout=10)
        assert refused.value.code == 404
        loop = asyncio.new_event_loop()
        client_ws, mitra_ws = loop.run_until_complete(talk())
        assert _post_webhook(one, "not the token", {"external_id": "x", "status": "PAID"}) == 403
        assert _post_webhook(two, settings.XENDIT_CALLBACK_TOKEN,
                             {"id": "inv-1", "external_id": "hb-nobody", "status": "PAID", "amount": 1000}) == 200

        want = {
            ("halobestie_sockets_open", (("role", "client"),)): 1.0,
            ("halobestie_sockets_open", (("role", "mitra"),)): 1.0,
            ("halobestie_messages_total", (("sender", "client"),)): 3.0,
            ("halobestie_messages_total", (("sender", "mitra"),)): 2.0,
            ("halobestie_socket_handler_seconds_count", (("frame", "message.send"),)): 6.0,
            ("halobestie_payment_webhooks_total", (("outcome", "rejected"),)): 1.0,
            ("halobestie_payment_webhooks_total", (("outcome", "unknown_invoice"),)): 1.0,
            ("halobestie_metrics_processes", ()): 2.0,
        }

        def summed():
            values = scrape()
            return values if all(values.get(k) == v for k, v in want.items()) else None

        values = wait_for(summed, what="both servers' numbers in /metrics")
        inf_bucket = values[("halobestie_socket_handler_seconds_bucket", (("frame", "message.send"), ("le", "+Inf")))]
        assert inf_bucket == 6.0
        assert values[("halobestie_socket_handler_seconds_sum", (("frame", "message.send"),))] > 0

        # The second server goes away: its socket stops counting, its counts stay.
        loop.run_until_complete(mitra_ws.close())
        two.stop()

        def after_stop():
            values = scrape()
            return values if values.get(("halobestie_metrics_processes", ())) == 1.0 else None

        values = wait_for(after_stop, what="the stopped server to drop out")
        assert values.get(("halobestie_sockets_open", (("role", "mitra"),)), 0.0) == 0.0
        assert values[("halobestie_sockets_open", (("role", "client"),))] == 1.0
        assert values[("halobestie_messages_total", (("sender", "mitra"),))] == 2.0
        assert values[("halobestie_payment_webhooks_total", (("outcome", "unknown_invoice"),))] == 1.0
        loop.run_until_complete(client_ws.close())
        wait_for(lambda: scrape().get(("halobestie_sockets_open", (("role", "client"),))) == 0.0,
                 what="the closed client socket")
        loop.close()


@pytest.mark.django_db
def test_the_embedded_mode_serves_its_own_process(settings):
    """No Redis (`./dev.sh run`): one process runs both entrypoints and serves its registry."""
    settings.REDIS_URL = ""
    before = scrape().get(("halobestie_messages_total", (("sender", "mitra"),)), 0.0)
    metrics.MESSAGES_BY_SENDER["mitra"].inc()
    values = scrape()
    assert values[("halobestie_messages_total", (("sender", "mitra"),))] == before + 1
    assert ("halobestie_celery_queue_depth", (("queue", settings.CELERY_TASK_DEFAULT_QUEUE),)) not in values
    assert ("halobestie_sweep_lag_seconds", (("deadline", "session_end"),)) in values
