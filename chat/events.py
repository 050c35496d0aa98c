"""What the apps are told about sessions and messages, and to whom."""

from __future__ import annotations

from django.utils import timezone

from halobestie.realtime import client_group, mitra_group, send_on_commit

from .models import Message, Session

SYSTEM_TEXT = {
    "session_active": "Sesi dimulai. Selamat bercerita, kamu aman di sini.",
    "session_paid": "Pembayaran diterima. Sesi dimulai.",
    "session_closing": "Waktu sesi habis. Kalian masih punya waktu sebentar untuk berpamitan.",
    "session_closed": "Sesi telah berakhir. Terima kasih sudah bercerita.",
    "session_cancelled": "Sesi dibatalkan.",
    "session_ended_by_client": "Klien mengakhiri sesi.",
    "session_ended_by_mitra": "Mitra mengakhiri sesi.",
    "session_closed_by_staff": "Sesi diakhiri oleh tim Halo Bestie.",
    "session_extended": "Sesi diperpanjang.",
    "session_rerouted": "Mitra baru telah bergabung dan melanjutkan sesi ini.",
    "extension_requested": "Klien meminta perpanjangan sesi.",
    "extension_accepted": "Mitra menyetujui perpanjangan. Menunggu pembayaran.",
    "extension_rejected": "Mitra tidak dapat memperpanjang sesi.",
    "extension_expired": "Permintaan perpanjangan kedaluwarsa.",
}


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


def participants(session: Session) -> list[tuple[str, str]]:
    return [("client", client_group(session.client_id)), ("mitra", mitra_group(session.mitra_id))]


def session_updated(session: Session) -> None:
    """`session.updated` to both sides, each with its own view of the session."""
    from .api.serializers import session_data

    send_on_commit(
        (group, "session.updated", session_data(session, role)) for role, group in participants(session)
    )


def message_new(message: Message) -> None:
    data = message_data(message)
    send_on_commit((group, "message.new", data) for _, group in participants(message.session))


def session_ending_soon(session: Session) -> None:
    seconds_left = max(0, int((session.ends_at - timezone.now()).total_seconds()))
    data = {"session_id": str(session.id), "ends_at": session.ends_at.isoformat(), "seconds_left": seconds_left}
    send_on_commit((group, "session.ending_soon", data) for _, group in participants(session))
