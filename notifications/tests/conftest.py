import pytest

from .fake_fcm import FakeFcm


@pytest.fixture
def fake_fcm(settings):
    """A local fake FCM server, with the push backend set to the real firebase-admin path."""
    server = FakeFcm().start()
    settings.PUSH_BACKEND = "fcm"
    settings.FCM_BASE_URL = server.base_url
    yield server
    server.stop()
