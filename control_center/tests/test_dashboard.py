"""Dashboard figures (selectors) and the page with its polled fragment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Transaction
from control_center import selectors
from halobestie.testing.fixtures import make_client, make_mitra
from pairing.models import PairingRequest
from pairing.services import pairing_request_create

from .factories import flag, live_session

pytestmark = [pytest.mark.urls("halobestie.urls_internal"), pytest.mark.django_db]


def _request(state: str, *, wait_seconds: float = 0, created=None) -> PairingRequest:
    client = make_client("Tamu").user
    created = created or timezone.now()
    request = PairingRequest.objects.create(
        client=client, free_trial=True, state=state, expires_at=created + timedelta(seconds=60)
    )
    PairingRequest.objects.filter(pk=request.pk).update(
        created_at=created, ended_at=created + timedelta(seconds=wait_seconds) if state != "searching" else None
    )
    return request


def test_no_bestie_rate_and_median_wait_today():
    assert selectors.no_bestie_rate_today() is None
    assert selectors.median_wait_today() is None
    for wait in (10, 20, 40):
        _request("matched", wait_seconds=wait)
    _request("expired", wait_seconds=60)
    _request("cancelled", wait_seconds=5)  # neither a match nor a no-bestie
    _request("searching")
    # Yesterday's requests do not count.
    _request("expired", wait_seconds=60, created=selectors.today_start() - timedelta(minutes=5))
    assert selectors.no_bestie_rate_today() == pytest.approx(1 / 4)
    assert selectors.median_wait_today() == pytest.approx(20)


def test_revenue_today_counts_paid_transactions_paid_today(session_tier):
    paid_today = live_session(client=make_client("A").user, tier=session_tier)
    paid_yesterday = live_session(client=make_client("B").user, tier=session_tier)
    still_pending = live_session(client=make_client("C").user, tier=session_tier)
    now = timezone.now()
    Transaction.objects.filter(session=paid_today).update(status="paid", paid_at=now)
    Transaction.objects.filter(session=paid_yesterday).update(
        status="paid", paid_at=selectors.today_start() - timedelta(seconds=1)
    )
    assert Transaction.objects.filter(session=still_pending, status="pending").exists()
    assert selectors.revenue_today() == session_tier.price


def test_live_sessions_put_flagged_ones_first():
    calm = live_session()
    flagged = flag(live_session())
    also_calm = live_session()
    ordered = list(selectors.live_sessions())
    assert ordered[0] == flagged
    assert set(ordered[1:]) == {calm, also_calm}
    figures = selectors.dashboard_figures()
    assert figures.flagged_sessions == [flagged]
    assert figures.sessions_today == 3
    assert len(figures.online_mitras) == 3


def test_dashboard_page_shows_the_figures(cc, session_tier):
    make_mitra("Budi", online=True)
    waiting = pairing_request_create(client=make_client("Ani").user, free_trial=True)
    session = flag(live_session())
    Transaction.objects.create(
        client=session.client,
        session=session,
        kind="session",
        amount=90000,
        status="paid",
        paid_at=timezone.now(),
        external_id="hb-test-1",
        expires_at=timezone.now(),
    )
    r = cc.get("/")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-figure="online_mitras">2<' in html
    assert 'data-figure="searching_requests">1<' in html
    assert 'data-figure="live_sessions">1<' in html
    assert 'data-figure="revenue_today">Rp 90.000<' in html
    assert f'data-request-id="{waiting.id}"' in html
    assert f'data-flagged-id="{session.id}"' in html
    assert 'data-testid="flagged-alert"' in html
    assert 'data-live-url="/dashboard/live/"' in html


def test_dashboard_fragment_is_only_the_live_part(cc):
    r = cc.get("/dashboard/live/", HTTP_X_REQUESTED_WITH="fetch")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-testid="figures"' in html
    assert "<html" not in html and "<nav" not in html


def test_dashboard_queries_do_not_grow_with_rows(cc, django_assert_max_num_queries):
    for _ in range(2):
        live_session()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        cc.get("/dashboard/live/")
    for _ in range(6):
        flag(live_session())
        pairing_request_create(client=make_client("Wait").user, free_trial=True)
    with CaptureQueriesContext(connection) as many:
        cc.get("/dashboard/live/")
    assert len(many) == len(few)


def test_today_is_the_staff_day(settings):
    settings.STAFF_TIME_ZONE = "Asia/Jakarta"
    start = selectors.today_start()
    assert (start.hour, start.minute, start.utcoffset()) == (0, 0, timedelta(hours=7))
