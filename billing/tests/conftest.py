"""Billing fixtures (helpers live in helpers.py)."""

import pytest

from .helpers import SECRET_KEY, FakeXendit


@pytest.fixture
def fake_xendit(httpserver, settings) -> FakeXendit:
    """Switch to the Xendit gateway, pointed at the fake server."""
    fake = FakeXendit(httpserver)
    settings.XENDIT_SECRET_KEY = SECRET_KEY
    settings.XENDIT_BASE_URL = fake.base_url
    return fake
