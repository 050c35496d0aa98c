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

from . import hooks
from .models import Client


def client_export(*, client: Client) -> dict:
    """Everything we hold about the client: the profile here, each app's part by hook."""
    export = {
        "exported_at": timezone.now().isoformat(),
        "client": {"id": str(client.id), "display_name": client.display_name, "is_anonymous": client.is_anonymous,
                   "phone": client.phone, "email": client.email, "created_at": client.created_at.isoformat()},
    }
    for section in hooks.CLIENT_EXPORT(client=client):
        export.update(section)
    return export


def client_delete(*, client: Client) -> None:
    """Erase every free text the client wrote and the profile. Each app does its part by
    hook in this transaction (pairing cancels a searching request through its service, so
    the mitras' offers are withdrawn, and blanks topics; chat blanks messages, feedback
    comments and report notes and refuses during a live session; notifications forgets the
    devices); a refusal rolls everything back."""
    now = timezone.now()
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client.pk)
        hooks.CLIENT_DELETING(client=client, now=now)
        client.display_name = ""
        client.phone = ""
        client.email = ""
        client.firebase_uid = f"deleted:{client.pk}"
        client.deleted_at = now
        client.save()


def purge_expired_messages(*, now=None, days: int | None = None) -> int:
    """Retention: every app blanks client free text older than the retention period
    (message text in finished sessions, request topics, feedback comments, report notes).
    Returns the number of messages blanked."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=days if days is not None else settings.MESSAGE_RETENTION_DAYS)
    with transaction.atomic():
        return sum(hooks.RETENTION_PURGE(cutoff=cutoff, now=now))
