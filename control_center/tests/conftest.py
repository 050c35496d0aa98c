"""Fixtures for control-center tests: staff users, a signed-in test client, and a real
headless Chromium driven by Playwright against the internal entrypoint on loopback."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import Client as DjangoClient

from halobestie.testing.browser import CHROMIUM, CHROMIUM_ARGS

from .factories import make_staff


@pytest.fixture
def operator(db):
    """Staff without transcript permission."""
    return make_staff("operator")


@pytest.fixture
def supervisor(db):
    """Staff who may read transcripts (chat.view_transcript)."""
    return make_staff("supervisor", transcripts=True)


@pytest.fixture
def cc(operator) -> DjangoClient:
    """The Django test client, signed in as the operator."""
    web = DjangoClient()
    web.force_login(operator)
    web.user = operator
    return web


@pytest.fixture
def cc_supervisor(supervisor) -> DjangoClient:
    web = DjangoClient()
    web.force_login(supervisor)
    web.user = supervisor
    return web


@pytest.fixture
def live_internal():
    """The internal ASGI app (control center + admin) on loopback; use transaction=True."""
    from halobestie.testing.live import LiveServer

    server = LiveServer(app="halobestie.asgi_internal:application").start()
    yield server
    server.stop()


def _off_loop(fn, *args, **kwargs):
    """Run Django code on a worker thread and return its result.

    Playwright's sync API keeps an asyncio loop on the test thread; Django refuses ORM
    calls there, and services that send socket events (async_to_sync) cannot run there
    either. A worker thread is plain synchronous code, as in a real request."""

    def call():
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


@pytest.fixture
def backend():
    """`backend(fn, *args)`: run setup or checks against the database from a browser test."""
    return _off_loop


@pytest.fixture
def browser_page(live_internal):
    """A fresh Chromium page; confirmation dialogs are accepted like a staff member would."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_internal.http_url)
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        yield page
        context.close()
        browser.close()
