"""Session and extension payments (filled in by the billing issue)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.utils import timezone

from accounts.selectors import platform_settings

from ..models import Transaction


def session_payment_start(*, session) -> Transaction:
    now = timezone.now()
    return Transaction.objects.create(
        client_id=session.client_id, session=session, kind=Transaction.Kind.SESSION, amount=session.price,
        external_id=f"hb-session-{uuid.uuid4().hex}",
        expires_at=now + timedelta(seconds=platform_settings().payment_timeout),
    )


def session_payment_expire(*, session) -> None:
    Transaction.objects.filter(session=session, kind="session", status="pending").update(status="expired")


def payment_sweep_overdue(now=None) -> int:
    return 0
