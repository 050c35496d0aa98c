"""Discretion in the browser: nothing of the conversation in any browser storage, during
the session or after the quick exit; the exit replaces the page and its history entry;
keyboard and screen-reader basics; only our own origin is ever contacted."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from halobestie.testing.fixtures import Actor, accept, make_mitra
from pairing.models import PairingRequest

from .flows import client_signs_in_anonymously, message, panel, send

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EMPTY = {"local": [], "session": [], "indexeddb": [], "caches": [], "cookie": "", "cookies": []}
NEUTRAL = re.compile(r"/bacaan/merawat-tanaman/$")


def accept_for(mitra: Actor, display_name: str) -> None:
    request = PairingRequest.objects.get(client__display_name=display_name, state="searching")
    accept(mitra, str(request.id))


def test_quick_exit_leaves_nothing_and_no_way_back(people, backend):
    budi = backend(make_mitra, "Budi", online=True)
    client = people(mobile=True)
    page = client.page

    # Keyboard first: the skip link, then the quick exit, before anything else.
    page.goto("/chat/")
    expect(page).to_have_title("Catatan Harian")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Langsung ke isi")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Keluar cepat")).to_be_focused()

    client_signs_in_anonymously(page, "Rani")
    page.get_by_role("button", name="Mulai Curhat").click()
    expect(page.get_by_role("heading", name="Mencarikan bestie untukmu…")).to_be_visible()
    backend(accept_for, budi, "Rani")
    chat = panel(page)
    log = chat.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")  # new messages are announced
    expect(chat.get_by_label("Tulis pesan")).to_be_focused()
    send(chat, "ini rahasia sekali")
    expect(message(chat, "ini rahasia sekali").get_by_test_id("status")).to_have_attribute("data-status", "sent")
    assert client.storage() == EMPTY  # during the session: memory only
    assert page.evaluate("history.length") == 2  # about:blank, then /chat/: the app pushes no entries

    page.get_by_role("button", name="Keluar cepat").click()
    expect(page).to_have_url(NEUTRAL)
    expect(page).to_have_title("Tips Merawat Tanaman Hias")
    assert client.storage() == EMPTY
    assert page.evaluate("history.length") == 2  # the chat's entry was replaced, not left behind
    page.go_back()
    expect(page).to_have_url("about:blank")
    assert "rahasia sekali" not in page.content()

    # A new tab of the same browser starts from nothing: nothing was kept to resume.
    again = client.context.new_page()
    again.goto("/chat/")
    expect(again.get_by_role("button", name="Masuk tanpa nama")).to_be_visible()
    assert "rahasia sekali" not in again.content()

    # Escape twice is the same exit, from anywhere in the page.
    again.get_by_label("Nama panggilan (boleh samaran)").focus()
    again.keyboard.press("Escape")
    again.keyboard.press("Escape")
    expect(again).to_have_url(NEUTRAL)

    assert client.foreign_requests() == []
    assert client.errors == [], client.errors
