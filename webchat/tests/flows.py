"""What a person does on the web chat pages, step by step (shared by the browser tests)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

OTP = "123456"  # the development sign-in takes any six digits


def mitra_signs_in(page, mitra, *, go_online: bool = True) -> None:
    page.goto("/mitra/")
    page.get_by_label("Nomor HP").fill(mitra.phone)
    page.get_by_role("button", name="Kirim kode").click()
    page.get_by_label("Kode OTP (6 angka)").fill(OTP)
    page.get_by_role("button", name="Masuk", exact=True).click()
    expect(page.get_by_role("heading", name=f"Halo, {mitra.display_name}")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-socket", "online")
    if go_online:
        page.get_by_test_id("presence-toggle").click()
        expect(page.get_by_test_id("presence-toggle")).to_have_attribute("aria-pressed", "true")


def client_signs_in_anonymously(page, name: str) -> None:
    page.goto("/chat/")
    page.get_by_label("Nama panggilan (boleh samaran)").fill(name)
    page.get_by_role("button", name="Masuk tanpa nama").click()
    expect(page.get_by_role("heading", name=f"Hai, {name}")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-socket", "online")


def client_signs_in_with_phone(page, phone: str) -> None:
    page.goto("/chat/")
    page.get_by_label("Nomor HP").fill(phone)
    page.get_by_role("button", name="Kirim kode").click()
    page.get_by_label("Kode OTP (6 angka)").fill(OTP)
    page.get_by_role("button", name="Masuk", exact=True).click()
    expect(page.get_by_role("button", name="Mulai Curhat")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-socket", "online")


def panel(page, session_id: str | None = None):
    if session_id:
        return page.locator(f'[data-testid=chat-panel][data-session-id="{session_id}"]')
    return page.get_by_test_id("chat-panel")


def send(chat, text: str) -> None:
    chat.get_by_test_id("composer").fill(text)
    chat.get_by_test_id("composer").press("Enter")


def message(chat, text: str):
    return chat.locator("[data-testid=message]").filter(has=chat.page.locator(".body", has_text=re.compile(f"^{re.escape(text)}$")))


def bodies(chat) -> list[str]:
    return chat.locator("[data-testid=message] .body").all_inner_texts()


def pay_in_sandbox(page, link_testid: str = "pay-link") -> None:
    """Open the invoice (a new tab, as an app opens the browser) and pay it there."""
    with page.context.expect_page() as opened:
        page.get_by_test_id(link_testid).click()
    invoice = opened.value
    invoice.get_by_role("button", name="Bayar").click()
    expect(invoice.get_by_role("status")).to_contain_text("Pembayaran berhasil")
    invoice.close()
