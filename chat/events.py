"""What the apps are told about sessions and messages, and to whom."""

from __future__ import annotations

from django.utils import timezone

from halobestie.realtime import client_group, mitra_group, publish_now, send_events_now, send_on_commit

from .models import Message, Session
from .shapes import message_data, session_data

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


def participants(session: Session) -> list[tuple[str, str]]:
    return [("client", client_group(session.client_id)), ("mitra", mitra_group(session.mitra_id))]


def session_updated(session: Session) -> None:
    """`session.updated` to both sides, each with its own view of the session."""
    send_on_commit(
        (group, "session.updated", session_data(session, role)) for role, group in participants(session)
    )


def message_new(message: Message) -> None:
    data = message_data(message)
    send_on_commit((group, "message.new", data) for _, group in participants(message.session))


async def message_new_now(data: dict, *, client_id, mitra_id) -> list[int] | None:
    """`message.new` for a message already committed (the socket's loop path,
    services/socket_send.py) to both participants; per group (client, mitra) how many
    processes have a socket in it, or None when the layer cannot tell."""
    return await publish_now([client_group(client_id), mitra_group(mitra_id)], "message.new", data)


def session_reassigned(session: Session, *, old_mitra_id) -> None:
    """`session.reassigned`: null to the mitra who lost it, the session to the new one
    and to the client (each with its own view)."""
    sid = str(session.id)
    send_on_commit([
        (mitra_group(old_mitra_id), "session.reassigned", {"session_id": sid, "session": None}),
        (mitra_group(session.mitra_id), "session.reassigned", {"session_id": sid, "session": session_data(session, "mitra")}),
        (client_group(session.client_id), "session.reassigned",
         {"session_id": sid, "session": session_data(session, "client")}),
    ])


def message_status(session: Session, *, sender_role: str, message_ids: list[str], status: str, at) -> None:
    """`message.status` to the sender of those messages (the other side of the reader)."""
    if not message_ids:
        return
    data = {"session_id": str(session.id), "message_ids": message_ids, "status": status, "at": at.isoformat()}
    group = client_group(session.client_id) if sender_role == "client" else mitra_group(session.mitra_id)
    send_on_commit([(group, "message.status", data)])


def session_risk_flagged(session: Session, *, level: str, categories: list[str], guidance: str) -> None:
    """`session.risk_flagged` to the mitra's devices (never to the client)."""
    send_on_commit([(mitra_group(session.mitra_id), "session.risk_flagged", {
        "session_id": str(session.pk), "risk_level": level, "categories": categories, "guidance": guidance,
    })])


def session_ending_soon(session: Session) -> None:
    seconds_left = max(0, int((session.ends_at - timezone.now()).total_seconds()))
    data = {"session_id": str(session.id), "ends_at": session.ends_at.isoformat(), "seconds_left": seconds_left}
    send_on_commit((group, "session.ending_soon", data) for _, group in participants(session))


async def typing(group: str, data: dict) -> None:
    """`typing` to the other participant, at once: never stored, so nothing to commit."""
    await send_events_now([(group, "typing", data)])
