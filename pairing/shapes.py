"""What the API and the sockets send about presence and pairing (api.md `presence`,
`pairing_request`, the offer): one builder per shape, used by views and `events.py` alike."""

from __future__ import annotations

from accounts.selectors import client_name_for_mitra, platform_settings
from pricing.shapes import tier_data

from . import selectors
from .models import MitraPresence, PairingRequest


def presence_data(presence: MitraPresence) -> dict:
    settings_row = platform_settings()
    return {
        "status": presence.status,
        "since": presence.since.isoformat() if presence.since else None,
        "last_heartbeat_at": presence.last_heartbeat_at.isoformat() if presence.last_heartbeat_at else None,
        "heartbeat_interval": settings_row.heartbeat_interval,
        "auto_offline_after": settings_row.auto_offline_after,
        "live_sessions": selectors.mitra_live_sessions(presence.mitra_id),
        "max_customers": settings_row.max_customers_per_mitra,
    }


def pairing_request_data(request: PairingRequest) -> dict:
    return {
        "id": str(request.id),
        "state": request.state,
        "tier": tier_data(request.tier) if request.tier_id else None,
        "free_trial": request.free_trial,
        "topic": request.topic or None,
        "created_at": request.created_at.isoformat(),
        "expires_at": request.expires_at.isoformat(),
        "session_id": str(request.session_id) if request.session_id else None,
        # The honest waiting screen (additions to api.md's shape).
        "waiting": waiting_data(request) if request.state == PairingRequest.State.SEARCHING else None,
    }


def waiting_data(request: PairingRequest) -> dict:
    available = selectors.available_mitras().count()
    return {
        "offered_to": request.offers.count(),
        "mitras_available": available,
        "no_mitra_online": available == 0,
        "median_wait_seconds": selectors.recent_median_wait_seconds(),
        "preferred_mitra_first": request.preferred_mitra_id is not None,
    }


def offer_data(request: PairingRequest) -> dict:
    return {
        "id": str(request.id),
        "client": {"alias": client_name_for_mitra(request.client)},
        "topic": request.topic or None,
        "created_at": request.created_at.isoformat(),
        "expires_at": request.expires_at.isoformat(),
        "free_trial": request.free_trial,
        "minutes": request.tier.minutes if request.tier_id else platform_settings().free_trial_minutes,
    }
