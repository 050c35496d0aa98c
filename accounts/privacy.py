"""Personal data under Indonesia's UU PDP: export, deletion, retention.

Deleting an account anonymises it: the profile and the client's message text go, the
sessions stay as anonymous records for the mitra's history, and transactions are kept for
accounting. Retention purges old message text and keeps the metadata.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from halobestie.errors import ApplicationError

from .models import Client

PURGED_BODY = "[pesan dihapus]"


def client_export(*, client: Client) -> dict:
    from billing.models import Transaction
    from chat.events import message_data
    from chat.models import Message, Session

    sessions = []
    for session in Session.objects.filter(client=client).select_related("mitra").order_by("created_at"):
        messages = Message.objects.filter(session=session).order_by("seq")
        sessions.append({
            "id": str(session.id), "state": session.state, "mitra": session.mitra.display_name,
            "free_trial": session.free_trial, "minutes": session.minutes,
            "started_at": session.started_at.isoformat() if session.started_at else None,
            "closed_at": session.closed_at.isoformat() if session.closed_at else None,
            "messages": [message_data(m) for m in messages],
        })
    transactions = [
        {"id": str(t.id), "kind": t.kind, "amount": t.amount, "status": t.status,
         "created_at": t.created_at.isoformat(), "paid_at": t.paid_at.isoformat() if t.paid_at else None}
        for t in Transaction.objects.filter(client=client).order_by("created_at")
    ]
    return {
        "exported_at": timezone.now().isoformat(),
        "client": {"id": str(client.id), "display_name": client.display_name, "is_anonymous": client.is_anonymous,
                   "phone": client.phone, "email": client.email, "created_at": client.created_at.isoformat()},
        "sessions": sessions,
        "transactions": transactions,
    }


def client_delete(*, client: Client) -> None:
    """Erase every free text the client wrote (messages, request topics, feedback
    comments, report notes); a request still searching is cancelled through pairing, so
    the mitras' offers are withdrawn."""
    from chat.models import LIVE_STATES, Feedback, Message, Session, SessionReport
    from notifications.models import Device
    from pairing.models import PairingRequest
    from pairing.services import pairing_request_cancel

    now = timezone.now()
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client.pk)
        if Session.objects.filter(client=client, state__in=LIVE_STATES).exists():
            raise ApplicationError("conflict", "End your live session before deleting your account.")
        for request_id in PairingRequest.objects.filter(client=client, state="searching").values_list("pk", flat=True):
            pairing_request_cancel(client=client, request_id=request_id)
        Message.objects.filter(session__client=client, sender="client").update(body=PURGED_BODY, body_purged_at=now)
        PairingRequest.objects.filter(client=client).exclude(topic="").update(topic="")
        Feedback.objects.filter(session__client=client).exclude(comment="").update(comment="")
        SessionReport.objects.filter(client=client).exclude(note="").update(note="")
        Device.objects.filter(client=client).delete()
        client.display_name = ""
        client.phone = ""
        client.email = ""
        client.firebase_uid = f"deleted:{client.pk}"
        client.deleted_at = now
        client.save()


def purge_expired_messages(*, now=None, days: int | None = None) -> int:
    """Blank every client free text older than the retention period: message text in
    finished sessions, and the request topics, feedback comments and report notes of the
    same age. Returns the number of messages blanked."""
    from chat.models import LIVE_STATES, Feedback, Message, SessionReport
    from pairing.models import PairingRequest

    now = now or timezone.now()
    cutoff = now - timedelta(days=days if days is not None else settings.MESSAGE_RETENTION_DAYS)
    with transaction.atomic():
        PairingRequest.objects.filter(created_at__lt=cutoff).exclude(state="searching").exclude(topic="").update(
            topic="")
        Feedback.objects.filter(created_at__lt=cutoff).exclude(comment="").update(comment="")
        SessionReport.objects.filter(created_at__lt=cutoff).exclude(note="").update(note="")
        return (
            Message.objects.filter(created_at__lt=cutoff, body_purged_at__isnull=True)
            .exclude(session__state__in=LIVE_STATES)
            .update(body=PURGED_BODY, body_purged_at=now)
        )
