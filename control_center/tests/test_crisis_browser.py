"""Crisis triage in real headless Chromium: the repeating alert until a human acknowledges,
the case page (acknowledge, take, the flagged message marked in the audited transcript), and
the reroute picker with live and flagged load."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import AuditLog
from chat.models import CrisisCase, Session
from chat.services.messages import message_send
from halobestie.testing.fixtures import make_client, make_mitra

from .factories import live_session, make_staff
from .test_browser import _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _client_in_crisis(mitra=None, body="aku udah siapin tali, malam ini aku pergi"):
    # The real path: the message is stored, then the check (after commit) opens the case.
    session = live_session(client=make_client("Citra").user, mitra=mitra)
    message_send(session_id=session.id, sender=session.client, client_message_id="c1", body=body)
    return Session.objects.get(pk=session.pk), CrisisCase.objects.get(session_id=session.pk)


def test_the_alert_repeats_until_a_supervisor_acknowledges_then_takes_the_case(browser_page, backend):
    page = browser_page
    staff = backend(make_staff, "supervisor")
    _sign_in(page, staff)
    sound = page.get_by_test_id("sound-toggle")
    expect(sound).to_have_attribute("data-sound", "off")
    sound.click()                                   # the shift starts: one click unlocks the sound
    expect(sound).to_have_attribute("data-sound", "on")
    expect(page.locator("body")).to_have_attribute("data-alert", "idle")

    session, case = backend(_client_in_crisis)
    expect(page.locator(f'[data-unacked-case="{case.id}"]')).to_be_visible(timeout=15_000)
    expect(page.locator("body")).to_have_attribute("data-alert", "repeating")
    # It keeps ringing while nobody acknowledges: the count climbs past the first ring.
    expect(page.locator("#live")).to_have_attribute("data-alert-count", re.compile(r"^([3-9]|\d\d+)$"), timeout=20_000)
    expect(page.locator(f'tr[data-flagged-id="{session.id}"]')).to_have_class(re.compile(r"flagged-high"))

    page.get_by_test_id("case-link").first.click()           # the banner links to the case
    expect(page).to_have_url(re.compile(rf"/crisis/{case.id}/$"))
    expect(page.get_by_test_id("case-state")).to_have_text("new")
    expect(page.get_by_test_id("case-level")).to_have_text("high")
    expect(page.get_by_test_id("last-reply")).to_contain_text("no reply yet")
    expect(page.get_by_test_id("time-left")).to_have_text(re.compile(r"\d"))
    page.get_by_test_id("case-transcript-link").click()      # the audited transcript, flag marked
    expect(page.get_by_test_id("flagged-message")).to_contain_text("aku udah siapin tali")
    page.get_by_role("link", name="Back to the high crisis case").click()

    page.get_by_test_id("acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text("Case acknowledged")
    expect(page.get_by_test_id("case-state")).to_have_text("acknowledged")
    expect(page.get_by_test_id("acknowledged")).to_contain_text(staff.email)
    page.get_by_test_id("claim").click()
    expect(page.get_by_role("status")).to_contain_text("You have taken this case")
    expect(page.get_by_test_id("claimed")).to_contain_text("you")

    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator('[data-case-level="high"]')).to_contain_text("acknowledged")
    expect(page.locator("body")).to_have_attribute("data-alert", "idle")
    case = backend(CrisisCase.objects.get, pk=case.pk)
    assert case.state == "acknowledged" and case.claimed_by_id == staff.id
    actions = backend(lambda: list(AuditLog.objects.filter(target_id=str(case.pk)).values_list("action", flat=True)))
    assert "crisis_case.acknowledge" in actions and "crisis_case.claim" in actions
    assert backend(lambda: AuditLog.objects.filter(action="transcript.view", target_id=str(session.pk)).exists())


def test_high_and_medium_cases_look_different(browser_page, backend):
    page = browser_page
    staff = backend(make_staff, "operator")
    high_session, high = backend(_client_in_crisis)
    medium_session, medium = backend(_client_in_crisis, None, "capek hidup, pengen udahan aja")
    assert (high.level, medium.level) == ("high", "medium")
    _sign_in(page, staff)
    high_badge = page.locator(f'tr[data-flagged-id="{high_session.id}"] .badge.risk')
    medium_badge = page.locator(f'tr[data-flagged-id="{medium_session.id}"] .badge.risk')
    expect(high_badge).to_have_class(re.compile(r"risk-high"))
    expect(medium_badge).to_have_class(re.compile(r"risk-medium"))
    colours = [b.evaluate("el => getComputedStyle(el).backgroundColor") for b in (high_badge, medium_badge)]
    assert colours[0] != colours[1]


def test_reroute_from_the_case_shows_each_mitras_load(browser_page, backend):
    page = browser_page

    def setup():
        budi = make_mitra("Budi", online=True).user
        dina = make_mitra("Dina", online=True).user
        eka = make_mitra("Eka", online=True).user
        fajar = make_mitra("Fajar", online=True).user
        live_session(mitra=dina)                                  # Dina: 1 live, none flagged
        _client_in_crisis(mitra=fajar)                            # Fajar holds a flagged session
        session, case = _client_in_crisis(mitra=budi)
        return make_staff("supervisor"), session, case, dina, eka, fajar

    staff, session, case, dina, eka, fajar = backend(setup)
    _sign_in(page, staff)
    page.goto(f"/crisis/{case.id}/")
    picker = page.get_by_test_id("reroute-candidates")
    eka_row = picker.locator(f'tr[data-mitra-id="{eka.id}"]')
    dina_row = picker.locator(f'tr[data-mitra-id="{dina.id}"]')
    expect(eka_row.locator('[data-load="live"]')).to_have_text("0")
    expect(dina_row.locator('[data-load="live"]')).to_have_text("1")
    expect(dina_row.locator('[data-load="flagged"]')).to_have_text("0")
    expect(picker.locator(f'tr[data-mitra-id="{fajar.id}"]')).to_have_count(0)   # at the flagged limit
    # Least loaded first.
    expect(picker.locator("tbody tr").first).to_have_attribute("data-mitra-id", str(eka.id))

    eka_row.get_by_role("button", name="Reroute to Eka").click()   # the confirm dialog is accepted
    expect(page.get_by_role("status")).to_contain_text("Session rerouted to Eka.")
    expect(page.get_by_test_id("case-mitra")).to_have_text("Eka")
    session = backend(Session.objects.get, pk=session.pk)
    assert session.mitra_id == eka.id
    assert backend(lambda: AuditLog.objects.filter(action="crisis_case.reroute", target_id=str(case.id)).exists())
