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
from control_center.auth import totp
from control_center.services import staff_set_role
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
    staff = backend(make_staff, "admin")  # mitras are the admins' to create
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
    expect(page.get_by_test_id("flagged-alert")).to_contain_text("1 flagged live session")
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
    form.get_by_label("New mitra").select_option(label="Dina")
    form.get_by_role("button", name="Reroute").click()
    expect(page.get_by_role("status")).to_contain_text("Session rerouted to Dina.")
    expect(page.get_by_test_id("session-mitra")).to_have_text("Dina")
    expect(page.get_by_test_id("timeline")).to_contain_text("rerouted")

    session = backend(Session.objects.get, pk=session.pk)
    assert session.mitra_id == dina.id and session.state == "active"
    assert backend(
        lambda: AuditLog.objects.filter(action="session.reroute", actor=staff, target_id=str(session.id)).exists()
    )


def test_a_refused_action_shows_the_403_page_and_changes_nothing(browser_page, backend):
    """The supervisor has the session page open; meanwhile an admin makes them an operator.
    Their click on "Close session now" is refused at once: a clear page, the session still
    live, the attempt in the audit log."""
    page = browser_page

    def setup():
        return make_staff("supervisor"), make_staff("admin"), live_session()

    staff, admin, session = backend(setup)
    _sign_in(page, staff)
    expect(page.get_by_test_id("my-role")).to_have_text("Supervisor")
    expect(page.get_by_role("link", name="Audit log")).to_be_visible()
    page.goto(f"/sessions/{session.id}/")
    close = page.get_by_role("button", name="Close session now")
    expect(close).to_be_visible()

    backend(lambda: staff_set_role(actor=admin, user_id=staff.pk, role="operator"))
    page.fill("textarea[name=note]", "client asked by email")
    close.click()  # the confirm dialog is accepted
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_test_id("forbidden")).to_contain_text(
        "Your role (Operator) cannot force-close a live session. Nothing was changed."
    )
    expect(page.get_by_test_id("forbidden")).to_contain_text("Who can: Supervisor, Admin")
    assert backend(lambda: Session.objects.get(pk=session.pk).state) == "active"
    denial = backend(lambda: AuditLog.objects.get(action="staff.denied", actor=staff))
    assert denial.after["permission"] == "control_center.force_close_session"
    # The menu now matches the role: no audit log, no close button.
    expect(page.get_by_test_id("my-role")).to_have_text("Operator")
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    page.goto(f"/sessions/{session.id}/")
    expect(page.get_by_role("button", name="Close session now")).to_have_count(0)
    expect(page.get_by_role("button", name="Reroute")).to_be_visible()


def test_enrol_two_factor_and_sign_in_with_a_recovery_code(browser_page, backend):
    page = browser_page
    staff = backend(make_staff, "operator")
    _sign_in(page, staff)
    page.get_by_role("link", name=staff.first_name).click()
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    form = page.get_by_test_id("totp-enrol-form")
    # A session alone cannot turn it on: the password is asked for again.
    form.get_by_label("Your password").fill("not my password")
    form.get_by_label("Code from the app, or a recovery code").fill(totp.totp(secret))
    form.get_by_role("button", name="Turn on").click()
    expect(page.get_by_text("Your password is not right.")).to_be_visible()
    assert page.get_by_test_id("totp-secret").inner_text().strip() == secret  # same key as in the app

    form = page.get_by_test_id("totp-enrol-form")
    form.get_by_label("Your password").fill(PASSWORD)
    form.get_by_label("Code from the app, or a recovery code").fill(totp.totp(secret))
    form.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in is on")).to_be_visible()
    codes = page.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_test_id("codes-left")).to_contain_text("10 of 10")
    assert backend(lambda: AuditLog.objects.filter(action="staff.totp_enrol", actor=staff).count()) == 1
    # Nothing of the codes is kept by the browser.
    assert not any(code in (page.evaluate("JSON.stringify(localStorage) + JSON.stringify(sessionStorage)"))
                   for code in codes)

    page.get_by_test_id("logout").click()
    page.fill("input[name=email]", staff.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Sign-in code")).to_be_visible()
    page.fill("input[name=code]", codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text("You signed in with a recovery code; 9 left.")
