"""The control center in real headless Chromium (Playwright) against the internal
entrypoint served by uvicorn on loopback. Database work goes through `backend(...)`
(a worker thread), because Playwright's loop owns the test thread."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import AuditLog, Mitra
from chat.models import Session
from chat.services.messages import message_send
from halobestie.testing.fixtures import make_client, make_mitra
from pairing.services import pairing_request_create

from .factories import PASSWORD, live_session, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, user):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_log_in_create_a_mitra_and_deactivate_it(browser_page, backend):
    page = browser_page
    staff = backend(make_staff, "operator")
    # A wrong password first: refused with a clear message.
    page.goto("/login/")
    page.fill("input[name=email]", staff.email)
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("Email or password is incorrect.")
    _sign_in(page, staff)

    page.get_by_role("link", name="Mitras").click()
    page.get_by_role("link", name="New mitra").click()
    page.fill("input[name=phone]", "081299990001")
    page.fill("input[name=display_name]", "Bestie Laras")
    page.fill("textarea[name=bio]", "Psikolog klinis")
    page.get_by_role("button", name="Create mitra").click()
    expect(page.get_by_role("status")).to_contain_text("Mitra Bestie Laras created")
    mitra = backend(Mitra.objects.get, phone="+6281299990001")
    assert mitra.display_name == "Bestie Laras" and mitra.is_active

    page.get_by_role("button", name="Deactivate").click()  # the confirm dialog is accepted
    expect(page.get_by_role("status")).to_contain_text("deactivated")
    expect(page.get_by_role("button", name="Reactivate")).to_be_visible()
    mitra = backend(Mitra.objects.get, pk=mitra.pk)
    assert not mitra.is_active
    actions = backend(
        lambda: list(AuditLog.objects.filter(target_id=str(mitra.id)).order_by("id").values_list("action", flat=True))
    )
    assert actions == ["mitra.create", "mitra.deactivate"]

    page.get_by_test_id("logout").click()
    expect(page.get_by_role("status")).to_contain_text("You are signed out.")


def test_dashboard_shows_figures_and_refreshes_itself(browser_page, backend):
    page = browser_page
    staff = backend(make_staff, "operator")
    backend(make_mitra, "Budi", online=True)
    _sign_in(page, staff)
    expect(page.locator('[data-figure="online_mitras"]')).to_have_text("1")
    expect(page.locator('[data-figure="searching_requests"]')).to_have_text("0")
    expect(page.locator('[data-figure="revenue_today"]')).to_have_text("Rp 0")
    page.evaluate("window.__notReloaded = true")

    # Things happen while the page is open: a client starts searching, a live session is flagged.
    request = backend(lambda: pairing_request_create(client=make_client("Ani").user, free_trial=True))
    expect(page.locator(f'[data-request-id="{request.id}"]')).to_be_visible(timeout=15_000)
    expect(page.locator('[data-figure="searching_requests"]')).to_have_text("1")

    def client_in_crisis():
        # The real path: the client's message hits the crisis lexicon and flags the session.
        session = live_session(client=make_client("Citra").user)
        message_send(
            session_id=session.id, sender=session.client, client_message_id="c1", body="aku pengen bunuh diri aja"
        )
        return Session.objects.get(pk=session.pk)

    session = backend(client_in_crisis)
    assert session.risk_level == "high"
    expect(page.locator(f'[data-flagged-id="{session.id}"]')).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("flagged-alert")).to_contain_text("1 open crisis case")
    expect(page.locator('[data-figure="live_sessions"]')).to_have_text("1")
    expect(page.get_by_test_id("live-status")).to_contain_text("updated")
    # The flagged session is at the top of the live sessions, and the tab title says so.
    first_row = page.locator('[data-testid="live-sessions"] tbody tr').first
    expect(first_row).to_have_attribute("data-flagged-id", str(session.id))
    expect(page).to_have_title(re.compile(r"^\(1 flagged\) "))
    assert page.evaluate("window.__notReloaded") is True


def test_reroute_a_live_session_to_another_available_mitra(browser_page, backend):
    page = browser_page

    def setup():
        budi = make_mitra("Budi", online=True).user
        session = live_session(mitra=budi)
        dina = make_mitra("Dina", online=True).user
        return make_staff("supervisor"), session, dina

    staff, session, dina = backend(setup)
    _sign_in(page, staff)

    page.get_by_role("link", name="Sessions").click()
    page.get_by_role("link", name=str(session.id)[:8]).click()
    expect(page.get_by_test_id("session-mitra")).to_have_text("Budi")
    form = page.get_by_test_id("reroute-form")
    form.get_by_label("New mitra").select_option(label="Dina — 0 live · 0 flagged")   # load shown
    form.get_by_role("button", name="Reroute").click()
    expect(page.get_by_role("status")).to_contain_text("Session rerouted to Dina.")
    expect(page.get_by_test_id("session-mitra")).to_have_text("Dina")
    expect(page.get_by_test_id("timeline")).to_contain_text("rerouted")

    session = backend(Session.objects.get, pk=session.pk)
    assert session.mitra_id == dina.id and session.state == "active"
    assert backend(
        lambda: AuditLog.objects.filter(action="session.reroute", actor=staff, target_id=str(session.id)).exists()
    )
