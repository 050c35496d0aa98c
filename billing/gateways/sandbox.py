"""Behaves like Xendit's test mode, on this machine: the invoice URL opens our own page
(billing.api.sandbox) whose "pay" / "expire" buttons go through the real callback path."""

from __future__ import annotations

from urllib.parse import quote

from .base import InvoiceRef


class SandboxGateway:
    name = "sandbox"

    def __init__(self, *, public_base_url: str):
        self.public_base_url = public_base_url.rstrip("/")

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
        return InvoiceRef(
            invoice_id=f"sandbox-{external_id}", invoice_url=f"{self.public_base_url}/sandbox/pay/{quote(external_id)}"
        )

    def expire_invoice(self, *, invoice_id: str) -> None:
        # Nothing to tell anyone: the sandbox page reads the transaction's status.
        return None
