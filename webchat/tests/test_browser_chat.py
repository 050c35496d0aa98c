"""The web chat in real headless Chromium: a client and a mitra, each in their own browser
context, against the public entrypoint served by uvicorn on loopback (real PostgreSQL and
Redis). The client's traffic goes through a TCP proxy so its socket can really be cut."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from chat.models import Feedback, Message, Session
from chat.services.stream import session_lock, stream_append
from halobestie.testing.fixtures import make_client, make_mitra, request_trial, send_message, set_platform_settings
from halobestie.timers import run_sweep
from pairing.models import MitraPresence
from reliability.faults import TcpProxy, wait_until

from .flows import bodies, client_signs_in_anonymously, message, mitra_signs_in, panel, send

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DEADLINES = ("started_at", "ends_at", "closing_ends_at", "next_warning_at", "matched_at")


def travel(session_id, seconds: float) -> None:
    """Let time pass for one session: its stored moments move earlier (the backend's clock)."""
    row = Session.objects.get(pk=session_id)
    Session.objects.filter(pk=session_id).update(
        **{f: getattr(row, f) - timedelta(seconds=seconds) for f in DEADLINES if getattr(row, f)})


def seconds_left(session_id) -> float:
    return (Session.objects.get(pk=session_id).ends_at - timezone.now()).total_seconds()


def store_without_event(session_id, body: str) -> None:
    with transaction.atomic():
        session = session_lock(session_id)
        stream_append(session, sender="mitra", body=body, client_message_id="lost-event",
                      sender_mitra_id=session.mitra_id)


def last_heartbeat(mitra):
    return MitraPresence.objects.get(mitra=mitra).last_heartbeat_at


def stored_bodies(session_id) -> list[str]:
    return list(Message.objects.filter(session_id=session_id).order_by("seq").values_list("body", flat=True))


def test_client_and_mitra_chat_reconnect_clock_and_feedback(people, backend, web_server):
    proxy = TcpProxy("127.0.0.1", web_server.port).start()
    try:
        _scenario(people, backend, proxy)
    finally:
        proxy.stop()


def _scenario(people, backend, proxy):
    backend(set_platform_settings, heartbeat_interval=5)
    budi = backend(make_mitra, "Budi").user
    mitra = people()
    client = people(base_url=f"http://127.0.0.1:{proxy.port}", mobile=True)

    # The mitra signs in with a phone and goes online; heartbeats run while the page is open.
    mitra_signs_in(mitra.page, budi)
    first_beat = backend(last_heartbeat, budi)

    # The client: anonymous, the free trial, a topic, the honest waiting screen.
    client_signs_in_anonymously(client.page, "Ani")
    expect(client.page.get_by_label("Coba gratis · 15 menit")).to_be_checked()
    client.page.get_by_label("Topik (opsional)").fill("pekerjaan")
    client.page.get_by_role("button", name="Mulai Curhat").click()
    expect(client.page.get_by_role("heading", name="Mencarikan bestie untukmu…")).to_be_visible()
    expect(client.page.get_by_test_id("waiting-info")).to_contain_text("dikirim ke 1 bestie")

    # The mitra sees the offer with its topic and accepts it.
    offer = mitra.page.get_by_test_id("offer")
    expect(offer).to_contain_text("Topik: pekerjaan")
    offer.get_by_role("button", name="Terima").click()
    expect(client.page.get_by_role("heading", name="Budi")).to_be_visible()
    session_id = client.page.get_by_test_id("chat-panel").get_attribute("data-session-id")
    c_chat, m_chat = panel(client.page), panel(mitra.page, session_id)
    expect(c_chat.get_by_test_id("clock")).to_contain_text("Sisa waktu 1")  # 15:00 → 14:5x
    expect(m_chat.get_by_test_id("session-state")).to_have_text("Berlangsung")

    # Chat both ways: typing shows on the other side, receipts come back as "dibaca".
    c_chat.get_by_test_id("composer").press_sequentially("Halo kak", delay=20)
    expect(m_chat.get_by_test_id("typing")).to_have_text("Ani sedang mengetik…".replace("Ani", m_chat.locator(".panel-title").inner_text()))
    c_chat.get_by_test_id("composer").press("Enter")
    expect(message(m_chat, "Halo kak")).to_be_visible()
    expect(message(c_chat, "Halo kak").get_by_test_id("status")).to_have_attribute("data-status", "read")
    expect(m_chat.get_by_test_id("typing")).to_have_text("")
    m_chat.get_by_test_id("composer").press_sequentially("Halo, aku di sini", delay=20)
    expect(c_chat.get_by_test_id("typing")).to_have_text("Budi sedang mengetik…")
    m_chat.get_by_test_id("composer").press("Enter")
    expect(message(c_chat, "Halo, aku di sini")).to_be_visible()
    expect(message(m_chat, "Halo, aku di sini").get_by_test_id("status")).to_have_attribute("data-status", "read")

    # The client's connection is cut (TCP reset). Meanwhile the mitra writes three messages
    # and the client writes one (it waits in the outbox).
    proxy.cut()
    expect(client.page.locator("body")).not_to_have_attribute("data-socket", "online")
    for text in ("Satu", "Dua", "Tiga"):
        send(m_chat, text)
        expect(message(m_chat, text).get_by_test_id("status")).to_have_attribute("data-status", "sent")
    send(c_chat, "Maaf sinyalku hilang")
    expect(message(c_chat, "Maaf sinyalku hilang").get_by_test_id("status")).to_have_attribute("data-status", "pending")
    proxy.restore()
    expect(client.page.locator("body")).to_have_attribute("data-socket", "online", timeout=30_000)
    for text in ("Satu", "Dua", "Tiga"):
        expect(message(c_chat, text)).to_have_count(1)
    expect(message(m_chat, "Maaf sinyalku hilang")).to_have_count(1)
    expect(message(m_chat, "Tiga").get_by_test_id("status")).to_have_attribute("data-status", "read")
    expect(message(c_chat, "Maaf sinyalku hilang").get_by_test_id("status")).to_have_attribute("data-status", "read")
    stored = backend(stored_bodies, session_id)
    assert bodies(c_chat) == stored  # every message once, in the server's order
    assert bodies(m_chat) == stored
    assert stored.count("Maaf sinyalku hilang") == 1

    # An event the (at-most-once) channel layer lost: a stored message nobody was told of.
    # The next event's seq is two ahead; both sides fetch after_seq and place it.
    backend(store_without_event, session_id, "Pesan yang tak sampai")
    send(m_chat, "Sesudahnya")
    expect(message(c_chat, "Sesudahnya")).to_have_count(1)
    expect(message(c_chat, "Pesan yang tak sampai")).to_have_count(1)
    expect(message(m_chat, "Pesan yang tak sampai")).to_have_count(1)
    assert client.page.evaluate("window.__webchat.panel.timeline.gapsSeen") >= 1
    stored = backend(stored_bodies, session_id)
    assert bodies(c_chat) == stored and stored[-2:] == ["Pesan yang tak sampai", "Sesudahnya"]
    seqs = c_chat.locator("[data-testid=message]").evaluate_all("(els) => els.map((e) => Number(e.dataset.seq))")
    assert seqs == list(range(1, len(stored) + 1))  # gapless, each once

    # A second client: the mitra holds two sessions side by side, each in its own panel.
    citra = backend(make_client, "Citra")
    second = backend(request_trial, citra)
    expect(mitra.page.get_by_test_id("offer")).to_be_visible()
    mitra.page.get_by_test_id("offer").get_by_role("button", name="Terima").click()
    expect(mitra.page.get_by_test_id("chat-panel")).to_have_count(2)
    second_id = backend(lambda: str(Session.objects.get(client=citra.user).id))
    c2 = panel(mitra.page, second_id)
    expect(c2).to_be_visible()
    backend(send_message, citra, second_id, "Halo dari Citra")
    expect(message(c2, "Halo dari Citra")).to_be_visible()
    expect(message(m_chat, "Halo dari Citra")).to_have_count(0)
    send(c2, "Halo Citra")
    expect(message(c2, "Halo Citra").get_by_test_id("status")).to_have_attribute("data-status", "sent")
    assert backend(stored_bodies, second_id)[-1] == "Halo Citra"
    assert second["topic"] is None

    # A crisis signal: the mitra gets the flag with guidance; the client, the resources.
    send(c_chat, "aku ingin bunuh diri saja")
    expect(m_chat.get_by_test_id("risk")).to_contain_text("Risiko tinggi")
    expect(m_chat.get_by_test_id("risk")).to_contain_text("keselamatannya")
    expect(c_chat.locator("[data-testid=message].system").last).to_contain_text("119")

    # The backend's clock: an ending-soon warning, then the goodbye window.
    backend(travel, session_id, backend(seconds_left, session_id) - 299)
    backend(run_sweep)
    expect(c_chat.get_by_test_id("notice-ending")).to_contain_text("Sesi berakhir dalam 5 menit")
    expect(c_chat.get_by_test_id("clock")).to_contain_text("Sisa waktu 04:")
    backend(travel, session_id, 300)
    backend(run_sweep)
    expect(c_chat.get_by_test_id("session-state")).to_have_text("Waktu pamit")
    expect(c_chat.get_by_test_id("clock")).to_contain_text("Waktu pamit 0")
    expect(c_chat.get_by_test_id("notice-ending")).to_contain_text("berpamitan")
    send(c_chat, "Terima kasih kak")  # both can still write in the goodbye window
    expect(message(m_chat, "Terima kasih kak")).to_be_visible()

    # The client ends early (allowed) and leaves feedback.
    c_chat.get_by_test_id("end-session").click()
    client.page.get_by_test_id("confirm-end").click()
    expect(c_chat.get_by_test_id("session-state")).to_have_text("Selesai")
    expect(m_chat.get_by_test_id("session-state")).to_have_text("Selesai")
    ended = client.page.get_by_test_id("ended")
    ended.get_by_label("5").check()
    ended.get_by_label("Komentar (opsional)").fill("Sangat membantu")
    ended.get_by_role("button", name="Kirim ulasan").click()
    expect(client.page.get_by_test_id("feedback-thanks")).to_be_visible()
    fb = backend(Feedback.objects.get, session_id=session_id)
    assert (fb.rating, fb.comment) == (5, "Sangat membantu")

    # The mitra's open page kept beating (every heartbeat_interval) all along.
    backend(wait_until, lambda: last_heartbeat(budi) > first_beat, 15, "a heartbeat from the mitra page")
    assert backend(MitraPresence.objects.get, mitra=budi).status == "online"

    # 360 px wide: nothing scrolls sideways. Nothing left for anyone but us; no errors.
    assert client.page.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert client.foreign_requests() == [] and mitra.foreign_requests() == []
    # The only console errors: requests refused while the client's connection was cut.
    assert all(e.startswith("Failed to load resource: net::ERR_CONNECTION_") or e.startswith("WebSocket connection")
               for e in client.errors), client.errors
    assert mitra.errors == [], mitra.errors
