"""Every non-2xx answer has api.md's shape: {"code", "detail"} (+ "fields" for validation)."""

import pytest
from django.test import override_settings
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from halobestie.testing.fixtures import make_mitra, request_trial

pytestmark = pytest.mark.django_db


def assert_shape(response, status: int, code: str, *, fields: bool = False) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    assert set(body) <= {"code", "detail", "fields", "retry_after"}
    if fields:
        assert isinstance(body["fields"], dict) and body["fields"]
        for messages in body["fields"].values():
            assert isinstance(messages, list) and all(isinstance(m, str) for m in messages)
    else:
        assert "fields" not in body
    return body


def test_400_validation_error(client_ani):
    body = assert_shape(client_ani.api.post("/api/client/pairing-requests", {"topic": "x" * 201,
                                                                              "free_trial": "maybe"},
                                            format="json"), 400, "validation_error", fields=True)
    assert {"topic", "free_trial"} <= set(body["fields"])


def test_400_malformed_json(client_ani):
    r = client_ani.api.generic("POST", "/api/client/pairing-requests", "{not json", content_type="application/json")
    assert_shape(r, 400, "validation_error")


def test_401_not_authenticated_and_invalid_token(anon_api):
    assert_shape(anon_api.get("/api/client/sessions"), 401, "not_authenticated")
    anon_api.credentials(HTTP_AUTHORIZATION="Bearer nope")
    assert_shape(anon_api.get("/api/client/sessions"), 401, "invalid_token")


def test_403_permission_denied(client_ani):
    assert_shape(client_ani.api.get("/api/mitra/sessions"), 403, "permission_denied")


def test_404_unknown_object_and_unknown_path(client_ani):
    assert_shape(client_ani.api.get("/api/client/pairing-requests/00000000-0000-0000-0000-000000000000"),
                 404, "not_found")
    assert_shape(client_ani.api.get("/api/client/sessions/not-a-uuid"), 404, "not_found")
    assert_shape(client_ani.api.get("/api/client/no-such-thing"), 404, "not_found")
    assert_shape(client_ani.api.get("/nothing-here"), 404, "not_found")


def test_405_method_not_allowed(client_ani):
    assert_shape(client_ani.api.get("/api/client/auth/session"), 405, "method_not_allowed")
    assert_shape(client_ani.api.delete("/api/client/pairing-requests"), 405, "method_not_allowed")


def test_409_conflict(client_ani, mitra_budi):
    request_trial(client_ani)
    assert_shape(client_ani.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json"),
                 409, "conflict")


def test_415_unsupported_media_type(client_ani):
    r = client_ani.api.generic("POST", "/api/client/pairing-requests", "free_trial=true",
                               content_type="application/x-www-form-urlencoded")
    assert_shape(r, 415, "unsupported_media_type")


def test_429_throttled_with_retry_after(monkeypatch, client_ani):
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "sign_in": "2/day"}
    rest = {**api_settings.user_settings, "DEFAULT_THROTTLE_RATES": rates}
    with override_settings(REST_FRAMEWORK=rest):
        # DRF copies the rates onto the throttle class at import time.
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", api_settings.DEFAULT_THROTTLE_RATES)
        assert client_ani.api.post("/api/client/auth/session").status_code == 200
        assert client_ani.api.post("/api/client/auth/session").status_code == 200
        r = client_ani.api.post("/api/client/auth/session")
        body = assert_shape(r, 429, "throttled")
        assert body["retry_after"] >= 1
        assert int(r["Retry-After"]) == body["retry_after"]
        # Reads are not throttled by the sign-in limit.
        assert client_ani.api.get("/api/client/me").status_code == 200


def test_429_on_pairing_create_per_client(monkeypatch, client_ani, client_citra):
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "pairing_create": "1/day"}
    rest = {**api_settings.user_settings, "DEFAULT_THROTTLE_RATES": rates}
    make_mitra("Budi", online=True)
    with override_settings(REST_FRAMEWORK=rest):
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", api_settings.DEFAULT_THROTTLE_RATES)
        rid = request_trial(client_ani)["id"]
        assert client_ani.api.post(f"/api/client/pairing-requests/{rid}/cancel").status_code == 200
        assert_shape(client_ani.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json"),
                     429, "throttled")
        # Per client, not global.
        assert client_citra.api.post("/api/client/pairing-requests", {"free_trial": True},
                                     format="json").status_code == 201


def test_api_answers_are_never_cached(client_ani):
    for r in (client_ani.api.get("/api/client/me"), client_ani.api.get("/api/client/sessions/x")):
        assert r["Cache-Control"] == "no-store"
        assert r["X-Request-ID"]
