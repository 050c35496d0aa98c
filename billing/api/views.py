"""Pricing, extensions, and Xendit's invoice webhook."""

from __future__ import annotations

import hmac

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.base import ClientAPIView, MitraAPIView
from halobestie import metrics
from halobestie.errors import ApplicationError

from .. import selectors
from ..services import extensions, payments
from .serializers import (
    ExtensionRequestInput,
    ExtensionSerializer,
    PricingSerializer,
    WebhookAnswerSerializer,
    XenditInvoiceCallbackSerializer,
)


class PricingView(ClientAPIView):
    @extend_schema(responses=PricingSerializer, operation_id="client_pricing")
    def get(self, request):
        return Response(selectors.pricing_data(request.user))


def _extension_body(ext) -> dict:
    return {**selectors.extension_data(ext), "session_id": str(ext.session_id)}


class ClientExtensionsView(ClientAPIView):
    @extend_schema(
        request=ExtensionRequestInput,
        responses={201: ExtensionSerializer},
        operation_id="client_session_extension_request",
    )
    def post(self, request, session_id):
        data = ExtensionRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        ext = extensions.extension_request(
            session_id=session_id, client=request.user, tier_id=data.validated_data["tier_id"]
        )
        return Response(_extension_body(ext), status=status.HTTP_201_CREATED)


class MitraExtensionAnswerView(MitraAPIView):
    accept = True

    def post(self, request, session_id, extension_id):
        ext = extensions.extension_answer(
            session_id=session_id, extension_id=extension_id, mitra=request.user, accept=self.accept
        )
        return Response(_extension_body(ext))


class MitraExtensionAcceptView(MitraExtensionAnswerView):
    accept = True

    @extend_schema(request=None, responses=ExtensionSerializer, operation_id="mitra_session_extension_accept")
    def post(self, request, session_id, extension_id):
        return super().post(request, session_id, extension_id)


class MitraExtensionRejectView(MitraExtensionAnswerView):
    accept = False

    @extend_schema(request=None, responses=ExtensionSerializer, operation_id="mitra_session_extension_reject")
    def post(self, request, session_id, extension_id):
        return super().post(request, session_id, extension_id)


def callback_token_valid(token: str) -> bool:
    expected = settings.XENDIT_CALLBACK_TOKEN or ""
    return bool(expected) and hmac.compare_digest((token or "").encode(), expected.encode())


class XenditInvoiceWebhookView(APIView):
    """Xendit's invoice callback. Authenticated by the callback token, not Firebase.

    Always answers quickly: the service only writes rows; any gateway call it causes
    leaves as a task after commit. Duplicates answer 200 too (Xendit stops retrying).
    """

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(
        request=XenditInvoiceCallbackSerializer,
        responses=WebhookAnswerSerializer,
        auth=[],
        parameters=[OpenApiParameter("x-callback-token", str, OpenApiParameter.HEADER, required=True)],
        operation_id="shared_webhook_xendit_invoice",
    )
    def post(self, request):
        if not callback_token_valid(request.headers.get("x-callback-token", "")):
            metrics.payment_webhook("rejected")
            raise ApplicationError("permission_denied", "Invalid callback token.")
        if not isinstance(request.data, dict):
            metrics.payment_webhook("invalid")
            raise ApplicationError("validation_error", "Expected a JSON object.")
        serializer = XenditInvoiceCallbackSerializer(data=request.data)
        if not serializer.is_valid():
            metrics.payment_webhook("invalid")
            raise ValidationError(serializer.errors)
        result = payments.invoice_callback_handle(payload=dict(request.data))
        metrics.payment_webhook(result)
        return Response({"received": True, "result": result})
