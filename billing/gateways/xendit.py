"""Xendit invoices through the official `xendit-python` SDK (v7).

`XENDIT_BASE_URL` points the SDK somewhere else (a local fake server in tests).
"""

from __future__ import annotations

import logging

import urllib3
import xendit
from xendit.apis import InvoiceApi
from xendit.invoice.model.create_invoice_request import CreateInvoiceRequest

from .base import GatewayError, InvoiceRef

logger = logging.getLogger(__name__)

TIMEOUT = (5, 15)  # connect, read (seconds)


class XenditGateway:
    name = "xendit"

    def __init__(self, *, secret_key: str, base_url: str):
        self.secret_key = secret_key
        self.base_url = base_url.rstrip("/")

    def _client(self) -> xendit.ApiClient:
        config = xendit.Configuration(host=self.base_url)
        config.api_key = self.secret_key
        return xendit.ApiClient(configuration=config)

    def create_invoice(
        self,
        *,
        external_id: str,
        amount: int,
        description: str,
        duration_seconds: int,
        success_redirect_url: str = "",
        failure_redirect_url: str = "",
    ) -> InvoiceRef:
        fields = {
            "external_id": external_id,
            "amount": float(amount),
            "description": description,
            "invoice_duration": float(max(1, int(duration_seconds))),
            "currency": "IDR",
        }
        if success_redirect_url:
            fields["success_redirect_url"] = success_redirect_url
        if failure_redirect_url:
            fields["failure_redirect_url"] = failure_redirect_url
        with self._client() as client:
            invoice = self._call(
                lambda: InvoiceApi(client).create_invoice(
                    create_invoice_request=CreateInvoiceRequest(**fields), _request_timeout=TIMEOUT
                )
            )
        invoice_id = getattr(invoice, "id", None)
        if not invoice_id or not invoice.invoice_url:
            raise GatewayError("Xendit answered without an invoice id or URL.")
        return InvoiceRef(invoice_id=str(invoice_id), invoice_url=str(invoice.invoice_url))

    def expire_invoice(self, *, invoice_id: str) -> None:
        with self._client() as client:
            self._call(lambda: InvoiceApi(client).expire_invoice(invoice_id=invoice_id, _request_timeout=TIMEOUT))

    @staticmethod
    def _call(fn):
        try:
            return fn()
        except xendit.XenditSdkException as exc:
            status = str(getattr(exc, "status", "") or "")
            # A 4xx is Xendit saying no (bad request, unknown or already paid invoice).
            definite = status.isdigit() and 400 <= int(status) < 500 and status not in ("408", "429")
            raise GatewayError(
                f"Xendit error {status} {getattr(exc, 'errorCode', '')}".strip(), retryable=not definite, status=status
            ) from exc
        except (xendit.OpenApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise GatewayError(f"Xendit unreachable: {type(exc).__name__}") from exc
