"""Reads of sessions and messages for the apps: always scoped to the caller."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime, timedelta

from halobestie.errors import ApplicationError
from halobestie.ids import parse_uuid

from .models import LIVE_STATES, Message, Session

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


def _owned(user):
    if user.role == "client":
        return Session.objects.filter(client_id=user.id)
    return Session.objects.filter(mitra_id=user.id)


def session_for(user, session_id) -> Session:
    """The caller's session or 404 (another user's session never reveals it exists)."""
    sid = parse_uuid(session_id)
    session = _owned(user).select_related("client", "mitra", "closure").filter(pk=sid).first() if sid else None
    if session is None:
        raise ApplicationError("not_found", "Session not found.")
    return session


def _digits(raw) -> int | None:
    """A whole number written as digits only (int() would also take " 5", "+5" and "5_0")."""
    return int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19 else None


def parse_limit(raw) -> int:
    if raw in (None, ""):
        return DEFAULT_LIMIT
    value = _digits(raw)
    if value is None:
        raise ApplicationError("validation_error", "limit must be a number.",
                               fields={"limit": ["A valid integer is required."]})
    if not 1 <= value <= MAX_LIMIT:
        raise ApplicationError("validation_error", "limit must be between 1 and 200.",
                               fields={"limit": ["Must be between 1 and 200."]})
    return value


# A sessions cursor: the last row's created_at in microseconds since the epoch, and its id.
# Any text of this form is a valid cursor (it pages from that point), so the schema can say
# exactly what is accepted.
CURSOR_PATTERN = r"^[0-9]{16}_[0-9a-f]{32}$"
_CURSOR = re.compile(CURSOR_PATTERN)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _encode_cursor(created_at: datetime, pk) -> str:
    micros = (created_at - _EPOCH) // timedelta(microseconds=1)  # exact, no float
    return f"{micros:016d}_{uuid.UUID(str(pk)).hex}"


def _decode_cursor(cursor: str):
    if _CURSOR.match(cursor):
        micros, pk = cursor.split("_")
        return _EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(hex=pk)
    try:  # the earlier base64 form, for cursors an app still holds across an upgrade
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, pk = raw.split("|", 1)
        return datetime.fromisoformat(stamp), parse_uuid(pk)
    except (ValueError, UnicodeDecodeError):
        return None, None


def sessions_page(user, *, state: str | None, cursor: str | None, limit: int):
    qs = _owned(user).select_related("client", "mitra", "closure")
    if state == "live":
        qs = qs.filter(state__in=LIVE_STATES)
    elif state == "past":
        qs = qs.exclude(state__in=LIVE_STATES)
    elif state not in (None, ""):
        raise ApplicationError("validation_error", "state must be live or past.",
                               fields={"state": ['Must be "live" or "past".']})
    if cursor:
        stamp, pk = _decode_cursor(cursor)
        if stamp is None or pk is None:
            raise ApplicationError("validation_error", "Invalid cursor.", fields={"cursor": ["Invalid cursor."]})
        from django.db.models import Q

        qs = qs.filter(Q(created_at__lt=stamp) | Q(created_at=stamp, id__lt=pk))
    rows = list(qs.order_by("-created_at", "-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return rows, next_cursor


def parse_after_seq(raw) -> int | None:
    if raw in (None, ""):
        return None
    value = _digits(raw)
    if value is None or value > 2**62:
        raise ApplicationError("validation_error", "after_seq must be a whole number from 0.",
                               fields={"after_seq": ["A whole number from 0 is required."]})
    return value


def messages_page(session: Session, *, after=None, before=None, after_seq=None, limit: int = DEFAULT_LIMIT):
    """Messages in stream order. `after_seq`: those with a greater `seq` (catch-up; `next`
    is the seq to pass next); `after`: those after that message id; `before`: the `limit`
    just before it (scrolling back). `next` is the cursor to pass in the same direction,
    non-null exactly when more exist."""
    given = [name for name, value in (("after", after), ("before", before), ("after_seq", after_seq))
             if value not in (None, "")]
    if len(given) > 1:
        raise ApplicationError("validation_error", f"Use one of after_seq, after or before, not {' and '.join(given)}.",
                               fields={given[0]: [f"Not allowed with {given[1]}."]})
    qs = Message.objects.filter(session=session)
    seq_cursor = parse_after_seq(after_seq)
    if seq_cursor is not None:
        rows = list(qs.filter(seq__gt=seq_cursor).order_by("seq")[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (str(rows[-1].seq) if more and rows else None)

    def anchor(value, name):
        mid = parse_uuid(value)
        seq = qs.filter(id=mid).values_list("seq", flat=True).first() if mid else None
        if seq is None:
            raise ApplicationError("validation_error", f"{name} must be a message of this session.",
                                   fields={name: ["Unknown message id."]})
        return seq

    if before:
        seq = anchor(before, "before")
        rows = list(qs.filter(seq__lt=seq).order_by("-seq")[: limit + 1])
        more = len(rows) > limit
        rows = list(reversed(rows[:limit]))
        return rows, (str(rows[0].id) if more and rows else None)
    if after:
        qs = qs.filter(seq__gt=anchor(after, "after"))
    rows = list(qs.order_by("seq")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1].id) if more and rows else None)


def transcript_messages(session: Session, cap: int = 20000) -> list[Message]:
    return list(Message.objects.filter(session=session).order_by("seq")[:cap])
