"""Production's sign-in path in the browser: with the development sign-in off, the page
loads the vendored Firebase Web SDK from us (no CDN), under the same strict CSP, without
an error, and offers the same sign-in choices."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from halobestie.testing.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def web_server(django_db_setup):
    server = LiveServer(env={"WEBCHAT_DEV_SIGN_IN": "false", "FIREBASE_WEB_API_KEY": "AIza-test-key"}).start()
    yield server
    server.stop()


def test_firebase_sdk_loads_from_us(people):
    client = people(mobile=True)
    page = client.page
    page.goto("/chat/")
    expect(page.get_by_role("button", name="Masuk tanpa nama")).to_be_visible()
    expect(page.get_by_role("button", name="Masuk dengan Google")).to_be_visible()
    expect(page.get_by_text("Mode pengembangan")).to_have_count(0)
    loaded = [u for u in client.requests if "/vendor/firebase/" in u]
    assert any(u.endswith("firebase-auth.js") for u in loaded) and any(u.endswith("firebase-app.js") for u in loaded)
    assert client.foreign_requests() == []  # nothing fetched from anyone else before a sign-in
    assert client.errors == [], client.errors
