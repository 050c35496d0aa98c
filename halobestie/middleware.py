import uuid

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.utils import timezone

from halobestie.logging import request_id_var


class RequestIdMiddleware:
    """Tags every request (and its log lines) with an id, echoed as X-Request-ID."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if 8 <= len(incoming) <= 64 and incoming.isascii() else uuid.uuid4().hex
        token = request_id_var.set(rid)
        scope = getattr(request, "scope", None)
        internal = bool(scope and scope.get("halobestie_entrypoint") == "internal")
        if internal:
            request.urlconf = settings.INTERNAL_URLCONF
            timezone.activate(settings.STAFF_TIME_ZONE)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
            if internal:
                timezone.deactivate()
        response["X-Request-ID"] = rid
        return response


class ApiNoStoreMiddleware:
    """API answers are personal: never cached by a proxy or the device.

    Also turns a database outage anywhere in a request into the contract's 503.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/"):
            response["Cache-Control"] = "no-store"
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, (OperationalError, InterfaceError)) and request.path.startswith(
            "/api/"
        ):
            response = JsonResponse(
                {"code": "service_unavailable", "detail": "Database unavailable; retry soon."},
                status=503,
            )
            response["Retry-After"] = "5"
            response["Cache-Control"] = "no-store"
            return response
        return None
