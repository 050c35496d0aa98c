"""What each OpenAPI operation is for, in words an app developer can use without the source.

`halobestie.openapi.AutoSchema` takes each operation's summary and description from here
(by operationId); `halobestie/tests/test_schema.py` checks every operation has both.
"""

from __future__ import annotations

API_DESCRIPTION = """\
The contract of the Halo Bestie client and mitra apps.

**Auth.** Every `/api/client/…`, `/api/mitra/…` and `/api/shared/…` call takes
`Authorization: Bearer <Firebase ID token>` (webhooks and health aside). A client token on a
mitra path, or the reverse, answers 403 `permission_denied`.

**Errors.** Every non-2xx answer is `{"code": "<snake_case>", "detail": "<message>"}`, plus
`"fields": {field: [messages]}` for `validation_error` and `"retry_after"` (seconds, also the
`Retry-After` header) for `throttled`. Another user's object answers 404 `not_found`, never 403.

**Conventions.** JSON, UTF-8. Timestamps ISO 8601 in UTC. Money in integer rupiah (IDR).
Public ids are UUIDs. Paged lists are `{"results": [...], "next": cursor|null}`; `next` is
non-null exactly when more items exist.

**Real time.** Sockets at `/ws/client/` and `/ws/mitra/`: the protocol (frames, events,
close codes) is the AsyncAPI 3 document at [/api/asyncapi.yaml](/api/asyncapi.yaml),
readable at [/api/docs/sockets/](/api/docs/sockets/). Sockets deliver at most once: after a reconnect, catch up through
`GET …/sessions/{id}` and `GET …/messages?after_seq=`.

**Payments.** A paid session is `awaiting_payment` when matched; its invoice is created just
after. `pairing.matched` carries `session.payment.invoice_url` when the invoice already
exists; when it is `null`, the socket event `payment.updated` follows with the `invoice_url`
(or read the session again). Take the URL from whichever comes first and never clear a known
one. The same holds for an accepted extension (`extension.updated`, then `payment.updated`
with its `extension_id`).
"""

_SESSION_STATES = (
    "`awaiting_payment` (paid, not yet paid) → `active` → `closing` (the goodbye window) → `closed`; "
    "or `cancelled` (never paid in time)."
)

OPERATIONS: dict[str, tuple[str, str]] = {
    # --- client: account ---------------------------------------------------------------------
    "client_auth_session": (
        "Sign in (client app)",
        "Creates the client for this Firebase user on first sign-in (201) or updates it (200). An optional "
        "`display_name` is stored. Anonymous Firebase users become anonymous clients (`is_registered: false`). "
        "Limited per Firebase user and per token, with a generous ceiling per network address.",
    ),
    "client_me": ("The signed-in client", "The caller's `client` profile."),
    "client_me_update": ("Change the display name", "Sets `display_name` (at most 60 characters, trimmed, not blank)."),
    "client_me_delete": (
        "Delete the account",
        "UU PDP erasure: the profile and the client's message text are removed; sessions stay as anonymous "
        "records and transactions are kept for accounting. Refused with 409 `conflict` during a live session.",
    ),
    "client_me_export": (
        "Export my data",
        "Everything stored about the caller (profile, sessions with their messages, transactions) as one "
        "JSON document (UU PDP data portability).",
    ),
    "client_pricing": (
        "Prices and the free trial",
        "Session tiers and extension tiers (`{id, name, minutes, price}`), and whether the caller may still "
        "use the free trial.",
    ),
    # --- client: pairing ---------------------------------------------------------------------
    "client_pairing_create": (
        "Ask for a mitra (Mulai Curhat)",
        "Starts searching: either `{\"tier_id\"}` for a paid session or `{\"free_trial\": true}`; optional "
        "`topic` (≤ 200 characters) shown to mitras, and `prefer_previous_mitra` to offer the request to the "
        "client's last mitra first. The request is offered to every available mitra; the first to accept wins. "
        "One open request per client (409 `conflict`); the free trial once (409 `free_trial_unavailable`); "
        "anonymous clients only get the free trial (403 `registration_required`). The socket then sends "
        "`pairing.matched` or `pairing.expired`.",
    ),
    "client_pairing_get": (
        "A pairing request",
        "Its state (`searching`, `matched`, `expired`, `cancelled`), the `session_id` once matched, and "
        "`waiting` (how many mitras it was offered to, whether any is online) while it searches.",
    ),
    "client_pairing_cancel": (
        "Cancel a search",
        "Stops a `searching` request and withdraws its offers. 409 `invalid_state` once it matched or expired.",
    ),
    # --- sessions (both apps) ----------------------------------------------------------------
    "client_sessions_list": (
        "My sessions",
        "Newest first, paged by `cursor` (`limit` 1–200, default 50). `state=live` for sessions not yet closed "
        "or cancelled, `state=past` for the others; without `state`, all.",
    ),
    "mitra_sessions_list": (
        "My sessions",
        "Newest first, paged by `cursor` (`limit` 1–200, default 50). `state=live` for sessions not yet closed "
        "or cancelled, `state=past` for the others; without `state`, all.",
    ),
    "client_session_retrieve": (
        "A session",
        "The session as this app sees it, with `server_time` to correct the device clock. States: "
        + _SESSION_STATES,
    ),
    "mitra_session_retrieve": (
        "A session",
        "The session as the mitra sees it (the client's alias, never their account). States: " + _SESSION_STATES,
    ),
    "client_sessions_end_create": (
        "End the session early",
        "The client leaves before the time is up: the session goes to `closed` with reason `early_end` "
        "(403 `early_end_not_allowed` when the platform does not allow it; see `can_end_early`).",
    ),
    "mitra_sessions_end_create": (
        "End the session",
        "The mitra ends the session (reason optional); it closes for both apps.",
    ),
    "client_sessions_messages_retrieve": (
        "Messages of a session",
        "In creation order. Either `after_seq=N` (messages with `seq > N`, the catch-up after a reconnect or a "
        "gap), or `after` / `before` a message id; `limit` 1–200, default 50.",
    ),
    "mitra_sessions_messages_retrieve": (
        "Messages of a session",
        "In creation order. Either `after_seq=N` (messages with `seq > N`, the catch-up after a reconnect or a "
        "gap), or `after` / `before` a message id; `limit` 1–200, default 50.",
    ),
    "client_sessions_messages_create": (
        "Send a message",
        "`{\"client_message_id\", \"body\"}`: 201 with the stored message; the same `client_message_id` again "
        "answers 200 with the same message (safe to retry). Only while the session is `active` or `closing`. "
        "The socket frame `message.send` does the same.",
    ),
    "mitra_sessions_messages_create": (
        "Send a message",
        "`{\"client_message_id\", \"body\"}`: 201 with the stored message; the same `client_message_id` again "
        "answers 200 with the same message (safe to retry). Only while the session is `active` or `closing`. "
        "The socket frame `message.send` does the same.",
    ),
    "client_sessions_transcript_retrieve": (
        "Transcript",
        "The whole session and all its messages in order, for a session of the caller's.",
    ),
    "mitra_sessions_transcript_retrieve": (
        "Transcript",
        "The whole session and all its messages in order, for a session the mitra holds or held.",
    ),
    "client_session_extension_request": (
        "Ask for more time",
        "`{\"tier_id\"}` of an extension tier, while the session is `active` or `closing`. The mitra accepts or "
        "rejects (`extension.updated`); once accepted the client pays the extension's invoice "
        "(`payment.updated` carries its `invoice_url`) and `ends_at` moves. One pending extension at a time.",
    ),
    "client_session_feedback": (
        "Rate the session",
        "`{\"rating\": 1..5, \"comment\"?}` once per session, once it is closed (409 `invalid_state` before); "
        "409 `conflict` the second time.",
    ),
    "client_session_block_mitra": (
        "Never be offered to this mitra again",
        "The session's mitra will not receive this client's future requests.",
    ),
    "client_session_unblock_mitra": ("Undo a block", "The session's mitra may be offered this client's requests again."),
    "client_session_report": (
        "Report the session",
        "`{\"reason\", \"note\"?}`: goes to the staff's reports queue (staff may read the transcript).",
    ),
    # --- mitra ----------------------------------------------------------------------------------
    "mitra_auth_session": (
        "Sign in (mitra app)",
        "Links the Firebase phone sign-in to the mitra registered for that number. 403 `mitra_not_registered` "
        "for an unknown number, `account_deactivated` for a deactivated mitra.",
    ),
    "mitra_me": ("The signed-in mitra", "The caller's `mitra` profile."),
    "mitra_presence_get": (
        "My availability",
        "`online`/`offline`, when it changed, the last heartbeat, and the heartbeat interval and auto-offline "
        "delay the app must respect.",
    ),
    "mitra_presence_set": (
        "Go online or offline",
        "`{\"status\": \"online\"|\"offline\"}`. Online mitras receive `pairing.offer` events.",
    ),
    "mitra_presence_heartbeat": (
        "Heartbeat",
        "Keeps an online mitra online: without a heartbeat (or an open mitra socket) for `auto_offline_after` "
        "seconds the mitra goes offline (`presence.updated`).",
    ),
    "mitra_offers": ("Open offers", "The pairing requests currently offered to this mitra."),
    "mitra_offer_accept": (
        "Accept an offer",
        "Creates the session (201). Exactly one mitra wins a request: the others get 409 `already_taken`; a mitra "
        "at `max_customers` gets 409 `capacity_reached`.",
    ),
    "mitra_offer_decline": ("Decline an offer", "The offer disappears for this mitra (204)."),
    "mitra_session_extension_accept": (
        "Accept an extension",
        "Before its `respond_by`: the client is asked to pay; the session is extended once paid.",
    ),
    "mitra_session_extension_reject": ("Reject an extension", "The client is told (`extension.updated`)."),
    # --- shared ---------------------------------------------------------------------------------
    "device_register": (
        "Register this device for pushes",
        "`{\"fcm_token\", \"platform\": \"android\"|\"ios\"}`: 201, or 200 for a token already registered. Pushes "
        "carry a fixed text and ids only, never message text.",
    ),
    "device_unregister": ("Unregister a device", "Stops pushes to this FCM token (204), e.g. at sign-out."),
    "shared_webhook_xendit_invoice": (
        "Xendit invoice callback",
        "Called by Xendit, authenticated by the `x-callback-token` header (403 otherwise). Always 200 quickly, "
        "duplicates included; the payment is applied exactly once.",
    ),
}


def operation_text(operation_id: str) -> tuple[str, str] | None:
    return OPERATIONS.get(operation_id)
