"""What a push says: one fixed Indonesian title and body per event type.

Lock screens are not private, so no push ever carries message text, a client's name or
alias, or a pairing topic: only these fixed strings and, in the data payload, the event
`type`, public ids and enumerated states the app needs to open the right screen.

Data payload per type (all values are strings; FCM data maps are string to string):

| type                  | data keys                                  | Android channel |
|-----------------------|--------------------------------------------|-----------------|
| `pairing_offer`       | `request_id`                               | `offers`        |
| `new_message`         | `session_id`, `message_id`                 | `messages`      |
| `session_started`     | `session_id`                               | `sessions`      |
| `session_ending_soon` | `session_id`                               | `sessions`      |
| `session_closed`      | `session_id`                               | `sessions`      |
| `payment_result`      | `session_id`, `payment_id`, `status`, `extension_id`? | `sessions` |
| `extension_requested` | `session_id`, `extension_id`               | `sessions`      |
| `extension_answered`  | `session_id`, `extension_id`, `state`      | `sessions`      |
| `test`                | (none)                                     | `sessions`      |
"""

from __future__ import annotations

from dataclasses import dataclass

# The event types the callers of notifications.services may ask for.
SESSION_EVENTS = (
    "session_started",
    "session_ending_soon",
    "session_closed",
    "payment_result",
    "extension_requested",
    "extension_answered",
)
EVENTS = ("pairing_offer", "new_message", *SESSION_EVENTS, "test")

# Android notification channels the apps create at start-up (ids are part of the contract).
CHANNEL_OFFERS = "offers"
CHANNEL_MESSAGES = "messages"
CHANNEL_SESSIONS = "sessions"


@dataclass(frozen=True)
class PushText:
    title: str
    body: str
    channel: str = CHANNEL_SESSIONS
    # iOS: also wake the app in the background so it can refresh the session's state.
    background_refresh: bool = False


_TEXTS: dict[str, PushText] = {
    "pairing_offer": PushText(
        "Ada yang ingin curhat", "Seseorang sedang mencari Bestie. Buka Halo Bestie untuk menerima.",
        CHANNEL_OFFERS,
    ),
    "new_message": PushText("Pesan baru", "Kamu punya pesan baru di Halo Bestie", CHANNEL_MESSAGES),
    "session_started": PushText("Sesi dimulai", "Pembayaran diterima. Sesi curhat sudah dimulai.",
                                background_refresh=True),
    "session_ending_soon": PushText("Sesi segera berakhir", "Waktu sesi curhat kamu hampir habis.",
                                    background_refresh=True),
    "session_closed": PushText("Sesi selesai", "Sesi curhat kamu sudah berakhir.", background_refresh=True),
    "extension_requested": PushText(
        "Permintaan perpanjangan", "Ada permintaan perpanjangan sesi. Jawab sebelum waktunya habis.",
        background_refresh=True,
    ),
    "test": PushText("Tes notifikasi", "Notifikasi Halo Bestie berfungsi dengan baik."),
}

# Events whose wording follows an enumerated state carried in the data payload.
_BY_STATE: dict[str, tuple[str, dict[str, PushText], PushText]] = {
    "payment_result": ("status", {
        "paid": PushText("Pembayaran berhasil", "Pembayaran kamu sudah kami terima.", background_refresh=True),
        "expired": PushText("Pembayaran kedaluwarsa", "Batas waktu pembayaran sudah lewat.",
                            background_refresh=True),
        "failed": PushText("Pembayaran gagal", "Pembayaran kamu tidak berhasil. Silakan coba lagi.",
                           background_refresh=True),
        "refund_needed": PushText(
            "Pembayaran diterima", "Pembayaran kamu masuk setelah sesi berakhir. Tim kami akan memprosesnya.",
            background_refresh=True,
        ),
        "refunded": PushText("Dana dikembalikan", "Pembayaran kamu sudah dikembalikan.",
                             background_refresh=True),
    }, PushText("Status pembayaran", "Buka Halo Bestie untuk melihat status pembayaran.",
                background_refresh=True)),
    "extension_answered": ("state", {
        "accepted": PushText(
            "Perpanjangan disetujui", "Bestie kamu setuju memperpanjang sesi. Selesaikan pembayaran untuk lanjut.",
            background_refresh=True,
        ),
        "rejected": PushText("Perpanjangan tidak disetujui", "Bestie kamu belum bisa memperpanjang sesi ini.",
                             background_refresh=True),
        "expired": PushText("Perpanjangan kedaluwarsa", "Permintaan perpanjangan tidak dijawab tepat waktu.",
                            background_refresh=True),
        "applied": PushText("Sesi diperpanjang", "Waktu sesi curhat kamu sudah ditambah.",
                            background_refresh=True),
    }, PushText("Perpanjangan sesi", "Buka Halo Bestie untuk melihat status perpanjangan.",
                background_refresh=True)),
}


def text_for(event: str, data: dict[str, str]) -> PushText:
    """The fixed text of `event`. Unknown events are a programming error (KeyError)."""
    if event in _BY_STATE:
        key, texts, fallback = _BY_STATE[event]
        return texts.get(data.get(key, ""), fallback)
    return _TEXTS[event]


def all_texts() -> list[PushText]:
    """Every string a push can carry (for tests that scan payloads)."""
    out = list(_TEXTS.values())
    for _key, texts, fallback in _BY_STATE.values():
        out.extend(texts.values())
        out.append(fallback)
    return out
