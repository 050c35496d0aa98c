"""ApplicationError and the DRF exception handler: every error answers api.md's shape.

`{"code": "<snake_case>", "detail": "<message>"}` plus `"fields"` for validation errors.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)

# api.md's codes and their HTTP status; services raise ApplicationError with one of these.
STATUS_BY_CODE: dict[str, int] = {
    "not_authenticated": 401,
    "invalid_token": 401,
    "permission_denied": 403,
    "mitra_not_registered": 403,
    "account_deactivated": 403,
    "client_blocked": 403,
    "registration_required": 403,
    "early_end_not_allowed": 403,
    "not_found": 404,
    "validation_error": 400,
    "already_taken": 409,
    "conflict": 409,
    "invalid_state": 409,
    "capacity_reached": 409,
    "free_trial_unavailable": 409,
    "throttled": 429,
    "service_unavailable": 503,
}


class ApplicationError(Exception):
    """A business rule said no. Carries an api.md code; the status follows from it."""

    def __init__(self, code: str, detail: str = "", *, fields: dict | None = None,
                 retry_after: float | None = None):
        super().__init__(detail or code)
        self.code = code
        self.detail = detail or code.replace("_", " ").capitalize() + "."
        self.fields = fields
        self.retry_after = retry_after
        self.status = STATUS_BY_CODE.get(code, 400)

    def as_dict(self) -> dict:
        body = {"code": self.code, "detail": self.detail}
        if self.fields:
            body["fields"] = self.fields
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after  # seconds; an addition to the error shape
        return body


def _flatten_fields(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub, msgs in _flatten_fields(value).items():
                    out[f"{key}.{sub}"] = msgs
            elif isinstance(value, list):
                out[key] = [str(v) if not isinstance(v, dict) else str(v) for v in value]
            else:
                out[key] = [str(value)]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(v) for v in detail]}
    return {"non_field_errors": [str(detail)]}


def error_body(exc: Exception) -> tuple[dict, int]:
    """Map any exception we answer for to (body, status)."""
    if isinstance(exc, ApplicationError):
        return exc.as_dict(), exc.status
    if isinstance(exc, exceptions.ValidationError):
        return {
            "code": "validation_error",
            "detail": "The request has invalid fields.",
            "fields": _flatten_fields(exc.detail),
        }, 400
    if isinstance(exc, exceptions.ParseError):
        return {"code": "validation_error", "detail": f"Malformed request body: {exc.detail}"}, 400
    if isinstance(exc, exceptions.NotAuthenticated):
        return {"code": "not_authenticated", "detail": str(exc.detail)}, 401
    if isinstance(exc, exceptions.AuthenticationFailed):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "invalid_token"
        if code not in ("invalid_token", "not_authenticated"):
            code = "invalid_token"
        return {"code": code, "detail": str(exc.detail)}, 401
    if isinstance(exc, (exceptions.PermissionDenied, DjangoPermissionDenied)):
        detail = getattr(exc, "detail", "You do not have permission to do this.")
        return {"code": "permission_denied", "detail": str(detail)}, 403
    if isinstance(exc, (exceptions.NotFound, Http404)):
        return {"code": "not_found", "detail": "Not found."}, 404
    if isinstance(exc, exceptions.Throttled):
        body = {"code": "throttled", "detail": "Too many requests; slow down."}
        if exc.wait:
            body["retry_after"] = int(exc.wait + 0.999)
        return body, 429
    if isinstance(exc, exceptions.MethodNotAllowed):
        return {"code": "method_not_allowed", "detail": str(exc.detail)}, 405
    if isinstance(exc, exceptions.NotAcceptable):
        return {"code": "not_acceptable", "detail": str(exc.detail)}, 406
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return {"code": "unsupported_media_type", "detail": str(exc.detail)}, 415
    if isinstance(exc, exceptions.APIException):
        return {"code": exc.default_code, "detail": str(exc.detail)}, exc.status_code
    if isinstance(exc, (OperationalError, InterfaceError)):
        return {"code": "service_unavailable", "detail": "Database unavailable; retry soon."}, 503
    raise exc


def exception_handler(exc: Exception, context) -> Response | None:
    try:
        body, code = error_body(exc)
    except (OperationalError, InterfaceError, DatabaseError):
        raise
    except Exception:  # noqa: BLE001 - not ours: let Django answer 500 and log it
        return None
    response = Response(body, status=code)
    if code == status.HTTP_401_UNAUTHORIZED and getattr(exc, "auth_header", None):
        response["WWW-Authenticate"] = exc.auth_header  # a 401 must say how to authenticate
    if code == status.HTTP_429_TOO_MANY_REQUESTS and "retry_after" in body:
        response["Retry-After"] = str(body["retry_after"])
    if code == 503:
        response["Retry-After"] = "5"
    return response


def json_400(request, exception=None):
    # Django's own refusals before any view (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a
    # Host not in ALLOWED_HOSTS): the contract's shape, not an HTML page.
    return JsonResponse({"code": "bad_request", "detail": "Bad request."}, status=400)


def json_404(request, exception=None):
    return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)


def json_500(request):
    return JsonResponse({"code": "server_error", "detail": "Internal error."}, status=500)
