"""What the apps are told about presence and pairing."""

from __future__ import annotations

from collections.abc import Callable

from halobestie.realtime import client_group, mitra_group, send_on_commit

from .models import PairingRequest
from .shapes import offer_data, pairing_request_data


def offer_sent(request: PairingRequest, mitra_ids) -> None:
    data = offer_data(request)
    send_on_commit((mitra_group(mid), "pairing.offer", data) for mid in mitra_ids)


def offer_withdrawn(request_id, mitra_ids, reason: str) -> None:
    data = {"id": str(request_id), "reason": reason}
    send_on_commit((mitra_group(mid), "pairing.offer_withdrawn", data) for mid in mitra_ids)


def matched(request: PairingRequest, session_payload: dict | Callable[[], dict]) -> None:
    """`session_payload` may be a builder: then the session is read after commit, so a paid
    session's `payment.invoice_url` is there if the invoice already exists."""
    request_id = str(request.id)

    def data() -> dict:
        return {"request_id": request_id,
                "session": session_payload() if callable(session_payload) else session_payload}

    send_on_commit([(client_group(request.client_id), "pairing.matched", data)])


def expired(request: PairingRequest) -> None:
    send_on_commit([(client_group(request.client_id), "pairing.expired", {"request_id": str(request.id)})])


def request_updated(request: PairingRequest) -> None:

    send_on_commit([(client_group(request.client_id), "pairing.updated", pairing_request_data(request))])


def presence_updated(mitra, payload: dict) -> None:
    send_on_commit([(mitra_group(mitra.id), "presence.updated", payload)])
