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
    """Staff with the operator role (no transcripts, no settings)."""
    return make_staff("operator")


@pytest.fixture
def supervisor(db):
    """Staff with the supervisor role (transcripts, refunds, blocks)."""
    return make_staff("supervisor")


@pytest.fixture
def admin_staff(db):
    """Staff with the admin role (not a superuser): mitras, prices, settings, roles."""
    return make_staff("admin")


def _signed_in(user) -> DjangoClient:
    web = DjangoClient()
    web.force_login(user)
    web.user = user
    return web


@pytest.fixture
def cc(operator) -> DjangoClient:
    """The Django test client, signed in as an operator."""
    return _signed_in(operator)


@pytest.fixture
def cc_supervisor(supervisor) -> DjangoClient:
    return _signed_in(supervisor)


@pytest.fixture
def cc_admin(admin_staff) -> DjangoClient:
    return _signed_in(admin_staff)


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
