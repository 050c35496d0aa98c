"""Browser fixtures for the web chat: one public server per module (uvicorn on loopback,
sharing the test database and Redis), one headless Chromium, and a fresh browser context
per person, each recording every request it makes and every console error it logs."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.db import connections

from halobestie.testing.browser import CHROMIUM, CHROMIUM_ARGS
from halobestie.testing.live import LiveServer


def _off_loop(fn, *args, **kwargs):
    """Django code from a Playwright test: on a worker thread (the sync API keeps an
    asyncio loop on the test thread, where the ORM and async_to_sync refuse to run)."""

    def call():
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


@pytest.fixture
def backend():
    return _off_loop


@pytest.fixture(scope="module")
def web_server(django_db_setup, django_db_blocker):
    """The public entrypoint; invoice URLs point at it (the sandbox pay page)."""
    server = LiveServer()
    server.extra_env["PUBLIC_BASE_URL"] = server.http_url
    with django_db_blocker.unblock():
        server.start()
    yield server
    server.stop()


@pytest.fixture
def chromium():
    """Per test: Playwright's loop must be gone before pytest-django flushes the database
    (a sync ORM call with a running loop on the thread is refused)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    pw.stop()


class Person:
    """One browser context (a person's own browser): its page, requests and errors."""

    def __init__(self, context, base_url: str):
        self.context = context
        self.base_url = base_url
        self.requests: list[str] = []
        self.errors: list[str] = []
        context.on("request", lambda r: self.requests.append(r.url))
        self.page = self._watch(context.new_page())

    def _watch(self, page):
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        return page

    def foreign_requests(self, *allowed_origins: str) -> list[str]:
        """Every request that left for anyone but us (data: and blob: are local)."""
        ours = {urlsplit(self.base_url).netloc, *(urlsplit(o).netloc for o in allowed_origins)}
        return [u for u in self.requests if not u.startswith(("data:", "blob:", "about:"))
                and urlsplit(u).netloc not in ours]

    def storage(self) -> dict:
        """Everything the page's origin keeps in the browser."""
        found = self.page.evaluate("""async () => ({
            local: Object.keys(localStorage), session: Object.keys(sessionStorage),
            indexeddb: (await indexedDB.databases()).map((d) => d.name),
            caches: await caches.keys(), cookie: document.cookie })""")
        found["cookies"] = [c["name"] for c in self.context.cookies()]
        return found


@pytest.fixture
def people(chromium, web_server):
    """`people(role, base_url=None, mobile=False)` → a Person; closed after the test."""
    made: list[Person] = []

    def make(*, base_url: str | None = None, mobile: bool = False) -> Person:
        options = {"base_url": base_url or web_server.http_url, "locale": "id-ID", "timezone_id": "Asia/Jakarta"}
        if mobile:
            options.update(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, device_scale_factor=2)
        else:
            options.update(viewport={"width": 1280, "height": 860})
        context = chromium.new_context(**options)
        context.set_default_timeout(15_000)
        person = Person(context, options["base_url"])
        made.append(person)
        return person

    yield make
    for person in made:
        person.context.close()
