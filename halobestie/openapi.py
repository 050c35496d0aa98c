"""The OpenAPI schema tells the whole contract: bearer auth and the error answers too.

drf-spectacular documents only the success answer of each operation. The apps (and the
schema fuzzer in reliability/tests) also rely on the errors: every non-2xx answer has
api.md's shape `{"code", "detail"[, "fields"]}`, and which statuses an operation can
give follows from what the view is (authenticated, throttled, naming an object, writing).
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from .api_docs import operation_text

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


SECURITY_SCHEME = "firebaseIdToken"


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="snake_case: not_authenticated, invalid_token, permission_denied, mitra_not_registered, "
        "account_deactivated, client_blocked, registration_required, early_end_not_allowed, not_found, "
        "validation_error, already_taken, conflict, invalid_state, capacity_reached, free_trial_unavailable, "
        "throttled, service_unavailable (and bad_request, method_not_allowed, unsupported_media_type, "
        "server_error for HTTP-level refusals)"
    )
    detail = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="validation errors: field -> messages",
    )
    retry_after = serializers.IntegerField(required=False, help_text="seconds (throttled answers)")

    class Meta:
        ref_name = "Error"


ERRORS = {
    400: "validation_error: the request has invalid fields or a malformed body",
    401: "not_authenticated / invalid_token",
    403: "permission_denied (wrong role), account_deactivated, client_blocked, registration_required, ...",
    404: "not_found: no such object, or not the caller's (never 403)",
    405: "method_not_allowed",
    409: "conflict / invalid_state / already_taken / capacity_reached / free_trial_unavailable",
    429: "throttled",
    503: "service_unavailable: the database is unreachable; retry later",
}


class AutoSchema(SpectacularAutoSchema):
    def get_summary(self):
        text = operation_text(self.get_operation_id())
        return text[0] if text else super().get_summary()

    def get_description(self):
        text = operation_text(self.get_operation_id())
        return text[1] if text else super().get_description()

    def _firebase_authenticated(self) -> bool:
        from accounts.authentication import FirebaseAuthentication

        return any(isinstance(a, FirebaseAuthentication) for a in self.view.get_authenticators())

    def get_auth(self):
        # Every app endpoint takes the same bearer token (one scheme, whichever role).
        if not self._firebase_authenticated():
            return super().get_auth()
        from accounts.authentication import FirebaseAuthentication

        self.registry.register_on_missing(
            ResolvedComponent(
                name=SECURITY_SCHEME,
                type=ResolvedComponent.SECURITY_SCHEMA,
                object=FirebaseAuthentication,
                schema={"type": "http", "scheme": "bearer", "bearerFormat": "Firebase ID token (JWT)"},
            )
        )
        return [{SECURITY_SCHEME: []}]

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        # Views whose body is optional read a JSON `null` as no body (`accepts_null_body`):
        # the schema says so, or a fuzzer rightly calls the accepted null a violation.
        if body and getattr(self.view, "accepts_null_body", False):
            for media in body["content"].values():
                media["schema"] = {"allOf": [media["schema"]], "nullable": True}
        return body

    def _error_statuses(self) -> list[int]:
        if not self.path.startswith("/api/"):
            return []
        statuses = {503}
        if self._firebase_authenticated():
            statuses |= {400, 401, 403}
        if "{" in self.path:
            statuses.add(404)
        if self.method in WRITE_METHODS:
            statuses |= {400, 409}
        overrides = [p for p in self.get_override_parameters() if hasattr(p, "location")]
        if any(p.location == "query" for p in overrides):
            statuses.add(400)
        if any(p.location == "header" and p.required for p in overrides):
            statuses.add(403)  # authenticated by a header of its own (the Xendit callback token)
        if self.method in WRITE_METHODS and getattr(self.view, "throttle_classes", None):
            statuses.add(429)
        return sorted(statuses)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status in self._error_statuses():
            key = str(status)
            if key not in responses:
                responses[key] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=ERRORS[status]), key, direction=direction
                )
        return responses


def allow_empty_query_values(result, generator, request, public):
    """Postprocessing hook: the views read an empty query value (`?state=`) as the
    parameter left out, and the schema says so (OpenAPI 3.0 `allowEmptyValue`)."""
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
    return result
