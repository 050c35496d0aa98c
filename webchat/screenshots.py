"""Take the README's screenshots of the web chat: `./dev.sh run`'s embedded mode on free
ports with a throwaway SQLite database, a mitra and two clients in headless Chromium.

    .venv/bin/python -m webchat.screenshots      # writes docs/webchat-client.png, docs/webchat-mitra.png
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from halobestie.testing.browser import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MITRA_PHONE = "+6281100000001"  # seed_demo's Bestie Sari


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_embedded(tmp: str) -> tuple[subprocess.Popen, int]:
    port, internal = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(PORT=str(port), INTERNAL_PORT=str(internal), DATABASE_URL=f"sqlite:///{tmp}/shots.sqlite3",
               PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    proc = subprocess.Popen([sys.executable, "-m", "halobestie.embedded"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the embedded server did not start")


def sign_in_mitra(page) -> None:
    page.goto("/mitra/")
    page.get_by_label("Nomor HP").fill(MITRA_PHONE)
    page.get_by_role("button", name="Kirim kode").click()
    page.get_by_label("Kode OTP (6 angka)").fill("123456")
    page.get_by_role("button", name="Masuk", exact=True).click()
    page.get_by_test_id("presence-toggle").click()
    expect(page.get_by_test_id("presence-toggle")).to_have_attribute("aria-pressed", "true")


def start_client(page, name: str, topic: str) -> None:
    page.goto("/chat/")
    page.get_by_label("Nama panggilan (boleh samaran)").fill(name)
    page.get_by_role("button", name="Masuk tanpa nama").click()
    page.get_by_label("Topik (opsional)").fill(topic)
    page.get_by_role("button", name="Mulai Curhat").click()


def say(page, session_panel, text: str) -> None:
    session_panel.get_by_test_id("composer").fill(text)
    session_panel.get_by_test_id("composer").press("Enter")
    expect(session_panel.locator(".msg .body", has_text=text)).to_be_visible()


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_embedded(tmp)
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                mitra = browser.new_context(base_url=base, viewport={"width": 1280, "height": 860}).new_page()
                ani = browser.new_context(base_url=base, viewport={"width": 360, "height": 740}, is_mobile=True,
                                          has_touch=True, device_scale_factor=2).new_page()
                budi = browser.new_context(base_url=base, viewport={"width": 360, "height": 740}).new_page()
                sign_in_mitra(mitra)
                for page, name, topic in ((ani, "Ani", "pekerjaan"), (budi, "Bima", "keluarga")):
                    start_client(page, name, topic)
                    mitra.get_by_test_id("offer").first.get_by_role("button", name="Terima").click()
                    expect(page.get_by_test_id("chat-panel")).to_be_visible()
                a_client = ani.get_by_test_id("chat-panel")
                panels = mitra.get_by_test_id("chat-panel")
                expect(panels).to_have_count(2)
                def mitra_panel(client_page):
                    sid = client_page.get_by_test_id("chat-panel").get_attribute("data-session-id")
                    return mitra.locator(f'[data-testid=chat-panel][data-session-id="{sid}"]')

                a_mitra, b_mitra = mitra_panel(ani), mitra_panel(budi)
                say(ani, a_client, "Halo kak, aku lagi capek banget sama kerjaan")
                say(mitra, a_mitra, "Halo Ani, terima kasih sudah cerita. Capeknya seperti apa?")
                say(ani, a_client, "Lembur terus, rasanya nggak ada habisnya")
                say(budi, budi.get_by_test_id("chat-panel"), "Kak, boleh cerita soal keluarga?")
                say(mitra, b_mitra, "Boleh banget, aku dengarkan ya")
                expect(a_client.locator(".msg.mine .status").last).to_have_attribute("data-status", "read")
                a_mitra.get_by_test_id("composer").press_sequentially("Itu berat", delay=30)
                expect(a_client.get_by_test_id("typing")).not_to_be_empty()
                ani.screenshot(path=DOCS / "webchat-client.png")
                mitra.screenshot(path=DOCS / "webchat-mitra.png")
                browser.close()
        finally:
            proc.terminate()
            proc.wait(15)
    print(f"wrote {DOCS / 'webchat-client.png'} and {DOCS / 'webchat-mitra.png'}")


if __name__ == "__main__":
    main()
