"""A paid session in the browser: an anonymous client registers with her phone, pays through the sandbox invoice page,
asks for an extension that the mitra accepts and the client pays, the mitra ends the
session, and the client reports it and reads the transcript in the history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from accounts.models import Client
from billing.models import Tier
from chat.models import Session, SessionReport
from halobestie.testing.fixtures import make_mitra

from .flows import OTP, client_signs_in_anonymously, message, mitra_signs_in, panel, pay_in_sandbox, send

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def tiers():
    Tier.objects.create(kind="session", name="Curhat 30 menit", minutes=30, price=50000)
    Tier.objects.create(kind="extension", name="Tambah 15 menit", minutes=15, price=25000)


def test_paid_session_extension_mitra_ends_report_and_history(people, backend):
    backend(tiers)
    budi = backend(make_mitra, "Budi").user
    mitra, client = people(), people(mobile=True)
    mitra.page.on("dialog", lambda dialog: dialog.accept())
    mitra_signs_in(mitra.page, budi)

    # Anonymous first: a paid tier needs a registered client, so she registers with her
    # phone, which links it to the same Firebase user (same client row, same history).
    client_signs_in_anonymously(client.page, "Ani")
    anon_id = backend(lambda: str(Client.objects.get(display_name="Ani").id))
    client.page.get_by_label("Curhat 30 menit · 30 menit").check()
    client.page.get_by_role("button", name="Mulai Curhat").click()
    expect(client.page.get_by_role("alert")).to_contain_text("perlu mendaftar")
    register = client.page.get_by_test_id("register")
    register.get_by_label("Nomor HP").fill("081234500001")
    register.get_by_role("button", name="Kirim kode").click()
    register.get_by_label("Kode OTP (6 angka)").fill(OTP)
    register.get_by_role("button", name="Daftar", exact=True).click()
    expect(client.page.get_by_test_id("register")).to_have_count(0)
    ani = backend(Client.objects.get, pk=anon_id)
    assert (ani.is_anonymous, ani.phone, ani.sign_in_provider) == (False, "+6281234500001", "phone")
    client.page.get_by_label("Curhat 30 menit · 30 menit").check()
    client.page.get_by_role("button", name="Mulai Curhat").click()
    mitra.page.get_by_test_id("offer").get_by_role("button", name="Terima").click()

    # Matched: the session waits for payment; the invoice opens in a new tab (the sandbox).
    chat = panel(client.page)
    expect(chat.get_by_test_id("session-state")).to_have_text("Menunggu pembayaran")
    expect(chat.get_by_test_id("payment")).to_contain_text("Rp50.000")
    expect(chat.get_by_test_id("composer")).to_be_disabled()
    session_id = chat.get_attribute("data-session-id")
    m_chat = panel(mitra.page, session_id)
    expect(m_chat.get_by_test_id("notice-payment")).to_contain_text("Menunggu klien")
    pay_in_sandbox(client.page)
    expect(chat.get_by_test_id("session-state")).to_have_text("Berlangsung")
    expect(chat.get_by_test_id("payment")).to_have_count(0)
    expect(chat.get_by_test_id("clock")).to_contain_text("Sisa waktu 2")  # 30:00 → 29:5x
    send(chat, "Aku sudah bayar")
    expect(message(m_chat, "Aku sudah bayar")).to_be_visible()
    send(m_chat, "Terima kasih, ceritakan saja")
    expect(message(chat, "Terima kasih, ceritakan saja")).to_be_visible()

    # An extension: asked by the client, accepted by the mitra, paid by the client.
    ends_before = backend(lambda: Session.objects.get(pk=session_id).ends_at)
    chat.get_by_test_id("extend").click()
    chat.get_by_label("15 menit").check()
    chat.get_by_role("button", name="Minta perpanjangan").click()
    expect(chat.get_by_test_id("extension")).to_contain_text("Menunggu jawaban mitra")
    expect(m_chat.get_by_test_id("extension")).to_contain_text("Klien meminta perpanjangan 15 menit")
    m_chat.get_by_test_id("extension").get_by_role("button", name="Setujui").click()
    expect(chat.get_by_test_id("extension")).to_contain_text("Rp25.000")
    pay_in_sandbox(client.page)
    expect(chat.get_by_test_id("extension")).to_have_text("Sesi diperpanjang.")
    expect(chat.get_by_test_id("clock")).to_contain_text("Sisa waktu 4")  # 44:5x
    ends_after = backend(lambda: Session.objects.get(pk=session_id).ends_at)
    assert ends_after - ends_before == timedelta(minutes=15)

    # The mitra ends the session; the client reports it and blocks the mitra.
    m_chat.get_by_role("button", name="Akhiri sesi").click()
    expect(chat.get_by_test_id("session-state")).to_have_text("Selesai")
    ended = client.page.get_by_test_id("ended")
    ended.get_by_test_id("report").click()
    ended.get_by_label("Alasan").select_option("unprofessional")
    ended.get_by_label("Ceritakan singkat (opsional)").fill("Diakhiri tiba-tiba")
    ended.get_by_role("button", name="Kirim laporan").click()
    expect(ended.get_by_role("status")).to_contain_text("Laporanmu sudah kami terima")
    report = backend(SessionReport.objects.get, session_id=session_id)
    assert (report.reason, report.note) == ("unprofessional", "Diakhiri tiba-tiba")
    ended.get_by_test_id("block").click()
    expect(ended.get_by_text("tidak akan dipasangkan denganmu lagi")).to_be_visible()

    # History and the transcript.
    ended.get_by_role("button", name="Ke beranda").click()
    client.page.get_by_role("button", name="Riwayat sesi").click()
    history = client.page.get_by_test_id("history")
    expect(history).to_contain_text("Budi")
    history.get_by_role("button", name="Lihat transkrip").click()
    transcript = client.page.get_by_test_id("transcript")
    expect(transcript).to_contain_text("Aku sudah bayar")
    expect(transcript).to_contain_text("Terima kasih, ceritakan saja")
    assert client.foreign_requests() == [] and mitra.foreign_requests() == []
    # The one error the console saw is the registration_required answer Chromium logs.
    assert client.errors == ["Failed to load resource: the server responded with a status of 403 (Forbidden)"]
    assert mitra.errors == [], mitra.errors
