"""Thin Celery tasks for billing: gateway calls (after commit, never under a lock) and the
extension deadlines. Each calls one service; the periodic sweep is their safety net."""

from celery import shared_task

from .gateways import GatewayError
from .services import extensions, payments

GATEWAY_RETRIES = 4


def _retry_delay(retries: int) -> int:
    return min(60, 5 * 2**retries)


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=GATEWAY_RETRIES)
def transaction_invoice_create(self, transaction_id: str) -> bool:
    try:
        return payments.transaction_invoice_create(transaction_id=transaction_id)
    except GatewayError as exc:
        # Inline (eager) runs do not retry in a loop: the sweep retries a minute later.
        if exc.retryable and not self.request.is_eager:
            raise self.retry(exc=exc, countdown=_retry_delay(self.request.retries)) from exc
        return False


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=GATEWAY_RETRIES)
def transaction_invoice_expire(self, transaction_id: str) -> bool:
    try:
        return payments.transaction_invoice_expire(transaction_id=transaction_id)
    except GatewayError as exc:
        if not self.request.is_eager:
            raise self.retry(exc=exc, countdown=_retry_delay(self.request.retries)) from exc
        return False


@shared_task(acks_late=True, ignore_result=True)
def extension_expire(extension_id: str) -> bool:
    return extensions.extension_expire(extension_id=extension_id)


@shared_task(acks_late=True, ignore_result=True)
def extension_payment_timeout(transaction_id: str) -> bool:
    return extensions.extension_payment_expire(transaction_id=transaction_id)
