"""Chat's part of the client's data rights (registered on accounts' hooks in ChatConfig)."""

from __future__ import annotations

from halobestie.errors import ApplicationError

from ..events import message_data
from ..models import LIVE_STATES, Feedback, Message, Session, SessionReport

PURGED_BODY = "[pesan dihapus]"


def client_chat_export(*, client) -> dict:
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
    return {"sessions": sessions}


def client_chat_erase(*, client, now) -> None:
    """The client's message text, feedback comments and report notes; refused during a
    live session (the account's deletion waits for its end)."""
    if Session.objects.filter(client=client, state__in=LIVE_STATES).exists():
        raise ApplicationError("conflict", "End your live session before deleting your account.")
    Message.objects.filter(session__client=client, sender="client").update(body=PURGED_BODY, body_purged_at=now)
    Feedback.objects.filter(session__client=client).exclude(comment="").update(comment="")
    SessionReport.objects.filter(client=client).exclude(note="").update(note="")


def chat_retention_purge(*, cutoff, now) -> int:
    """Message text in finished sessions, feedback comments and report notes older than
    the cutoff. Returns the number of messages blanked."""
    Feedback.objects.filter(created_at__lt=cutoff).exclude(comment="").update(comment="")
    SessionReport.objects.filter(created_at__lt=cutoff).exclude(note="").update(note="")
    return (
        Message.objects.filter(created_at__lt=cutoff, body_purged_at__isnull=True)
        .exclude(session__state__in=LIVE_STATES)
        .update(body=PURGED_BODY, body_purged_at=now)
    )
