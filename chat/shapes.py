"""What the API and the sockets send about sessions and messages (api.md `session`,
`message`): one builder per shape, used by the serializers' views and by `events.py`
alike. Each rule that decides a field (the client's alias, who may end early) is here once."""

from __future__ import annotations

from django.utils import timezone

from accounts.selectors import platform_settings

from . import hooks
from .models import Message, Session


def _iso(value):
    return value.isoformat() if value else None


def client_alias_for(session: Session, role: str) -> str:
    client = session.client
    if role == "mitra" and platform_settings().client_identity_for_mitra == "display_name":
        return client.display_name or client.alias
    return client.alias


def payment_for(session: Session) -> dict | None:
    answers = hooks.SESSION_PAYMENT(session=session)
    return answers[0] if answers else None


def pending_extension_for(session: Session) -> dict | None:
    answers = hooks.SESSION_PENDING_EXTENSION(session=session)
    return answers[0] if answers else None


def can_end_early(session: Session, role: str) -> bool:
    settings_row = platform_settings()
    allowed = settings_row.client_can_end_early if role == "client" else settings_row.mitra_can_end_early
    return allowed and session.state in ("active", "closing")


def session_data(session: Session, role: str) -> dict:
    closure = getattr(session, "closure", None) if session.state in ("closed", "cancelled") else None
    data = {
        "id": str(session.id),
        "state": session.state,
        "client": {"id": str(session.client_id), "alias": client_alias_for(session, role)},
        "mitra": {
            "id": str(session.mitra_id),
            "display_name": session.mitra.display_name,
            "photo_url": session.mitra.photo_url or None,
        },
        "free_trial": session.free_trial,
        "minutes": session.minutes,
        "started_at": _iso(session.started_at),
        "ends_at": _iso(session.ends_at),
        "closing_ends_at": _iso(session.closing_ends_at),
        "closed_at": _iso(session.closed_at),
        "server_time": timezone.now().isoformat(),
        "payment": payment_for(session),
        "pending_extension": pending_extension_for(session),
        "closure": (
            {"closed_by": closure.closed_by, "reason": closure.reason, "closed_at": _iso(closure.closed_at)}
            if closure
            else None
        ),
        "can_end_early": can_end_early(session, role),
        # For the mitra (and staff) only: a client is never shown a label about themselves.
        "risk_level": (session.risk_level or None) if role == "mitra" else None,
    }
    return data


def message_data(message: Message) -> dict:
    """The api.md `message` shape. Plain dict: this is the hot path."""
    return {
        "id": str(message.id),
        "session_id": str(message.session_id),
        "seq": message.seq,
        "client_message_id": message.client_message_id or None,
        "sender": message.sender,
        "body": message.body,
        "created_at": message.created_at.isoformat(),
        "status": message.status,
        "delivered_at": message.delivered_at.isoformat() if message.delivered_at else None,
        "read_at": message.read_at.isoformat() if message.read_at else None,
    }
