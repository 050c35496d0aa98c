"""Payment gateways: Xendit when credentials are configured, the local sandbox otherwise.

Both expose the same two calls the payment services need. Only tasks call them (never a
request handler holding a transaction), so a slow gateway never blocks a lock.
"""

from __future__ import annotations

from django.conf import settings

from .base import Gateway, GatewayError, InvoiceRef
from .sandbox import SandboxGateway
from .xendit import XenditGateway

__all__ = [
    "Gateway",
    "GatewayError",
    "InvoiceRef",
    "SandboxGateway",
    "XenditGateway",
    "active_gateway",
    "active_gateway_name",
    "gateway_named",
    "sandbox_active",
]


def active_gateway_name() -> str:
    return XenditGateway.name if settings.XENDIT_SECRET_KEY else SandboxGateway.name


def sandbox_active() -> bool:
    return active_gateway_name() == SandboxGateway.name


def active_gateway() -> Gateway:
    return gateway_named(active_gateway_name())


def gateway_named(name: str) -> Gateway:
    """The gateway a transaction was opened with (it keeps it even if settings change)."""
    if name == SandboxGateway.name:
        return SandboxGateway(public_base_url=settings.PUBLIC_BASE_URL)
    if not settings.XENDIT_SECRET_KEY:
        raise GatewayError("XENDIT_SECRET_KEY is not configured.", retryable=False)
    return XenditGateway(secret_key=settings.XENDIT_SECRET_KEY, base_url=settings.XENDIT_BASE_URL)
