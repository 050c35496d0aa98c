import json
import uuid

from asgiref.sync import sync_to_async
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


# The contract's code for each status Django or a library may answer without our handler
# (DEBUG's technical pages, CommonMiddleware, the CSRF view, a crash in a middleware).
CODE_BY_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
    503: "service_unavailable",
}


class ApiJsonErrorsMiddleware:
    """Every error under /api/ answers `{"code", "detail"}` JSON, in every mode.

    DRF's handler and `handler404/500` cover production; with DEBUG on (the embedded mode)
    Django answers unknown paths and crashes with HTML pages, and a few refusals happen
    before any view. Outermost, this rewrites any non-JSON error body under /api/ in place
    (headers such as Allow, Retry-After and X-Request-ID stay).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path.startswith("/api/")
            and not getattr(response, "streaming", False)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            status = response.status_code
            code = CODE_BY_STATUS.get(status, "server_error" if status >= 500 else "bad_request")
            detail = "Internal error." if status >= 500 else code.replace("_", " ").capitalize() + "."
            response.content = json.dumps({"code": code, "detail": detail}).encode()
            response["Content-Type"] = "application/json"
            if response.has_header("Content-Length"):  # CommonMiddleware measured the old body
                response["Content-Length"] = str(len(response.content))
        return response


async def _async_chunks(iterator):
    while True:
        chunk = await sync_to_async(next, thread_sensitive=False)(iterator, None)
        if chunk is None:
            return
        yield chunk


class AsyncFileStreamMiddleware:
    """Static files (WhiteNoise, the API docs' assets) stream from a synchronous file
    iterator; under ASGI Django then warns "StreamingHttpResponse must consume synchronous
    iterators" on every file and reads it whole. Wrapping the iterator in an async one
    streams it chunk by chunk from a worker thread, without the warning. Sits before
    WhiteNoise, which answers static files itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(response, "streaming", False) and not response.is_async and hasattr(request, "scope"):
            response.streaming_content = _async_chunks(iter(response.streaming_content))
        return response
