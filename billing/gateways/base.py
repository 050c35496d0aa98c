from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class InvoiceRef:
    invoice_id: str
    invoice_url: str


class GatewayError(Exception):
    """The gateway did not do what we asked. `retryable` is False for a definite refusal
    (a 4xx: retrying would get the same answer)."""

    def __init__(self, message: str, *, retryable: bool = True, status: str = ""):
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class Gateway(Protocol):
    name: str

    def create_invoice(
        self,
        *,
        external_id: str,
        amount: int,
        description: str,
        duration_seconds: int,
        success_redirect_url: str = "",
        failure_redirect_url: str = "",
    ) -> InvoiceRef: ...

    def expire_invoice(self, *, invoice_id: str) -> None: ...
