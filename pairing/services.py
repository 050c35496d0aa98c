"""Presence and pairing: going online, heartbeats, the blast, and the atomic accept."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Client, Mitra
from accounts.selectors import platform_settings
from halobestie.errors import ApplicationError
from halobestie.ids import parse_uuid
from halobestie.timers import schedule_at
from notifications.services import notify_offer_on_commit
from pricing.models import Tier

from . import (
    events,
    hooks,
    selectors,
    tasks,  # pairing.tasks imports this module back: a module import, used at call time
)
from .models import MitraOnlineLog, MitraPresence, PairingOffer, PairingRequest
from .shapes import presence_data

logger = logging.getLogger(__name__)


# --- presence ----------------------------------------------------------------------------

def presence_get(*, mitra: Mitra) -> MitraPresence:
    presence, _ = MitraPresence.objects.get_or_create(mitra=mitra)
    return presence


def presence_go_online(*, mitra: Mitra) -> MitraPresence:
    now = timezone.now()
    with transaction.atomic():
        presence, _ = MitraPresence.objects.select_for_update().get_or_create(mitra=mitra)
        came_back = presence.status != MitraPresence.Status.ONLINE
        if came_back:
            log = MitraOnlineLog.objects.create(mitra=mitra, started_at=now)
            presence.status = MitraPresence.Status.ONLINE
            presence.since = now
            presence.current_log = log
            presence.offline_reason = ""
        presence.last_heartbeat_at = now
        presence.save()
        # Every device of the mitra shows the same toggle.
        events.presence_updated(mitra, presence_data(presence))
        _offer_waiting_requests(mitra)
    if came_back:
        hooks.MITRA_CAME_BACK(mitra=mitra)  # after commit of the presence: see hooks.py
    return presence


def presence_go_offline(*, mitra: Mitra, reason: str = "manual") -> MitraPresence:
    now = timezone.now()
    with transaction.atomic():
        presence, _ = MitraPresence.objects.select_for_update().get_or_create(mitra=mitra)
        if presence.status == MitraPresence.Status.ONLINE:
            _end_period(presence, now, reason)
            events.presence_updated(mitra, presence_data(presence))
    return presence


def presence_deactivated(*, mitra: Mitra) -> None:
    """accounts: the mitra was deactivated (inside that transaction)."""
    presence_go_offline(mitra=mitra, reason=MitraOnlineLog.EndReason.DEACTIVATED)


def _end_period(presence: MitraPresence, now: datetime, reason: str) -> None:
    if presence.current_log_id:
        MitraOnlineLog.objects.filter(pk=presence.current_log_id, ended_at__isnull=True).update(
            ended_at=now, end_reason=reason)
    presence.status = MitraPresence.Status.OFFLINE
    presence.since = now
    presence.current_log = None
    presence.offline_reason = reason
    presence.save()


def presence_set(*, mitra: Mitra, status: str) -> MitraPresence:
    if status == "online":
        return presence_go_online(mitra=mitra)
    if status == "offline":
        return presence_go_offline(mitra=mitra, reason="manual")
    raise ApplicationError("validation_error", "status must be online or offline.",
                           fields={"status": ['Must be "online" or "offline".']})


def presence_resume(*, mitra: Mitra) -> MitraPresence:
    """The app of a mitra set offline automatically shows it is back (a heartbeat, a
    message): online again. Any other offline (manual, staff, deactivated) stands."""
    presence = presence_get(mitra=mitra)
    if (presence.status != MitraPresence.Status.ONLINE
            and presence.offline_reason == MitraOnlineLog.EndReason.AUTO_OFFLINE and mitra.is_active):
        return presence_go_online(mitra=mitra)
    return presence


def presence_heartbeat(*, mitra: Mitra) -> MitraPresence:
    """Keep an online mitra fresh. Writes only when the stored beat is older than half the
    interval, so a chatty app costs one read, not one write, per beat; the answer always
    carries the beat just received.

    A mitra set offline *automatically* (heartbeats stopped: a tunnel, a dead network)
    whose heartbeats resume is online again: that is the app coming back, and it ends the
    grace period of its live sessions. A manual, staff or deactivation offline stands."""
    now = timezone.now()
    settings_row = platform_settings()
    write_after = now - timedelta(seconds=settings_row.heartbeat_interval / 2)
    stale_before = now - timedelta(seconds=settings_row.auto_offline_after)
    presence = presence_get(mitra=mitra)
    if presence.status != MitraPresence.Status.ONLINE:
        return presence_resume(mitra=mitra)
    if presence.last_heartbeat_at and presence.last_heartbeat_at > write_after:
        presence.last_heartbeat_at = now  # coalesced: stored at most every half interval
        return presence
    with transaction.atomic():
        was_stale = presence.last_heartbeat_at is None or presence.last_heartbeat_at < stale_before
        MitraPresence.objects.filter(pk=presence.pk, status=MitraPresence.Status.ONLINE).update(
            last_heartbeat_at=now)
        presence.last_heartbeat_at = now
        if was_stale:
            _offer_waiting_requests(mitra)
    return presence


def presence_sweep_auto_offline(now: datetime | None = None) -> int:
    """Online mitras whose heartbeats stopped go offline (`auto_offline`)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=platform_settings().auto_offline_after)
    done = 0
    stale = MitraPresence.objects.filter(status=MitraPresence.Status.ONLINE, last_heartbeat_at__lt=cutoff)
    for mitra_id in stale.values_list("mitra_id", flat=True)[:1000]:
        with transaction.atomic():
            presence = MitraPresence.objects.select_for_update().select_related("mitra").get(pk=mitra_id)
            if presence.status != MitraPresence.Status.ONLINE or presence.last_heartbeat_at >= cutoff:
                continue
            _end_period(presence, now, "auto_offline")
            events.presence_updated(presence.mitra, presence_data(presence))
            done += 1
        # After the presence commit, never under its lock (hooks.py): the live sessions'
        # grace period starts.
        hooks.MITRA_WENT_AWAY(mitra=presence.mitra, at=now)
    return done


# --- capacity ----------------------------------------------------------------------------

def lock_mitra_capacity(*, mitra: Mitra, require_available: bool) -> MitraPresence:
    """Lock the mitra's presence row and check capacity. Every path that gives a mitra a
    live session (accept, reroute) holds this lock, so capacity holds across processes."""
    presence = MitraPresence.objects.select_for_update().filter(mitra=mitra).first()
    if require_available:
        fresh_after = selectors.heartbeat_fresh_after()
        if (not mitra.is_active or presence is None or presence.status != MitraPresence.Status.ONLINE
                or presence.last_heartbeat_at is None or presence.last_heartbeat_at < fresh_after):
            raise ApplicationError("invalid_state", "The mitra is not available (offline or inactive).")
    if presence is None:
        presence = MitraPresence.objects.create(mitra=mitra)
        presence = MitraPresence.objects.select_for_update().get(pk=presence.pk)
    live = selectors.mitra_live_sessions(mitra.id)
    if live >= platform_settings().max_customers_per_mitra:
        raise ApplicationError("capacity_reached", "This mitra already has the maximum number of sessions.")
    reason = selectors.mitra_wellbeing_block(mitra.id)
    if reason:
        raise ApplicationError("capacity_reached", f"This mitra cannot take a new session now ({reason}).")
    return presence


# --- pairing requests --------------------------------------------------------------------

def _free_trial_check(client: Client) -> None:
    settings_row = platform_settings()
    if not settings_row.free_trial_enabled:
        raise ApplicationError("free_trial_unavailable", "The free trial is turned off.")
    if client.free_trial_used:
        raise ApplicationError("free_trial_unavailable", "The free trial was already used.")
    if client.is_anonymous and not settings_row.anonymous_trial_allowed:
        raise ApplicationError("registration_required", "Register to use the free trial.")


def pairing_request_create(*, client: Client, tier_id=None, free_trial: bool = False, topic: str = "",
                           prefer_previous_mitra: bool = False) -> PairingRequest:
    if client.is_blocked:
        raise ApplicationError("client_blocked", "This account cannot start new sessions.")
    tier = None
    if free_trial:
        if tier_id:
            raise ApplicationError("validation_error", "Choose a tier or the free trial, not both.",
                                   fields={"tier_id": ["Not allowed with free_trial."]})
        _free_trial_check(client)
    else:
        if not tier_id:
            raise ApplicationError("validation_error", "Choose a tier or the free trial.",
                                   fields={"tier_id": ["This field is required."]})
        if client.is_anonymous:
            raise ApplicationError("registration_required", "Register to start a paid session.")
        tier_uuid = parse_uuid(tier_id)
        tier = Tier.objects.filter(pk=tier_uuid, kind=Tier.Kind.SESSION, is_active=True).first() if tier_uuid else None
        if tier is None:
            raise ApplicationError("validation_error", "Unknown tier.", fields={"tier_id": ["Unknown tier."]})
    now = timezone.now()
    settings_row = platform_settings()
    try:
        with transaction.atomic():
            # Serialise this client's creates: the constraints catch what slips past.
            Client.objects.select_for_update().filter(pk=client.pk).first()
            if PairingRequest.objects.filter(client=client, state=PairingRequest.State.SEARCHING).exists():
                raise ApplicationError("conflict", "You already have an open pairing request.")
            if hooks.SESSION_LOAD.client_has_live_session(client.id):
                raise ApplicationError("conflict", "You already have a live session.")
            preferred = _previous_mitra(client) if prefer_previous_mitra else None
            request = PairingRequest.objects.create(
                client=client, tier=tier, free_trial=free_trial, topic=(topic or "").strip()[:200],
                expires_at=now + timedelta(seconds=settings_row.pairing_timeout),
                preferred_mitra=preferred,
            )
            request.client = client
            _blast(request, only=[preferred.id] if preferred else None)
            schedule_at(tasks.pairing_expire, request.expires_at, request_id=str(request.id))
    except IntegrityError:
        raise ApplicationError("conflict", "You already have an open request or live session.") from None
    return request


def _previous_mitra(client: Client) -> Mitra | None:
    return hooks.SESSION_LOAD.previous_mitra(client)


def _blast(request: PairingRequest, only: list | None = None) -> list:
    """Offer the request to every available mitra: one SELECT, one INSERT, one fan-out."""
    mitras = selectors.available_mitras(for_client_id=request.client_id)
    if only is not None:
        mitras = mitras.filter(id__in=only)
    mitra_ids = list(mitras.values_list("id", flat=True))
    _offer_to(request, mitra_ids)
    return mitra_ids


def _offer_to(request: PairingRequest, mitra_ids: list) -> None:
    if not mitra_ids:
        return
    PairingOffer.objects.bulk_create(
        [PairingOffer(request=request, mitra_id=mid) for mid in mitra_ids], ignore_conflicts=True
    )
    events.offer_sent(request, mitra_ids)
    notify_offer_on_commit(request=request, mitra_ids=mitra_ids)


def _offer_waiting_requests(mitra: Mitra) -> None:
    """A mitra just became available: offer every request still searching."""
    if selectors.available_mitras().filter(pk=mitra.pk).exists() is False:
        return
    waiting = list(selectors.searching_requests_for_new_mitra(mitra)[:50])
    if not waiting:
        return
    PairingOffer.objects.bulk_create(
        [PairingOffer(request=r, mitra=mitra) for r in waiting], ignore_conflicts=True
    )
    for request in waiting:
        events.offer_sent(request, [mitra.id])


def pairing_offer_waiting_requests(*, mitra_id) -> None:
    """A slot of this mitra freed up (a session ended or moved to another mitra): if that
    makes the mitra available again, it is offered the requests still searching."""
    mitra = Mitra.objects.filter(pk=mitra_id).first()
    if mitra is not None:
        _offer_waiting_requests(mitra)


def _get_request_for_client(client: Client, request_id) -> PairingRequest:
    rid = parse_uuid(request_id)
    request = PairingRequest.objects.filter(pk=rid, client=client).select_related("tier").first() if rid else None
    if request is None:
        raise ApplicationError("not_found", "Pairing request not found.")
    return request


def pairing_request_get(*, client: Client, request_id) -> PairingRequest:
    return _get_request_for_client(client, request_id)


def _withdraw(request: PairingRequest, reason: str, keep=None) -> None:
    offered = PairingOffer.objects.filter(request=request, state=PairingOffer.State.OPEN)
    if keep is not None:
        offered = offered.exclude(mitra_id=keep)
    mitra_ids = list(offered.values_list("mitra_id", flat=True))
    if mitra_ids:
        PairingOffer.objects.filter(request=request, mitra_id__in=mitra_ids).update(
            state=PairingOffer.State.WITHDRAWN)
        events.offer_withdrawn(request.id, mitra_ids, reason)


def pairing_request_cancel(*, client: Client, request_id) -> PairingRequest:
    request = _get_request_for_client(client, request_id)
    now = timezone.now()
    with transaction.atomic():
        won = PairingRequest.objects.filter(pk=request.pk, state=PairingRequest.State.SEARCHING).update(
            state=PairingRequest.State.CANCELLED, ended_at=now)
        request.refresh_from_db()
        if not won:
            raise ApplicationError("invalid_state", f"The request is already {request.state}.")
        _withdraw(request, "cancelled")
        events.request_updated(request)
    return request


def pairing_request_expire(*, request_id, now: datetime | None = None) -> bool:
    """searching → expired at expires_at ("no bestie"). Guarded: runs once."""
    now = now or timezone.now()
    with transaction.atomic():
        won = PairingRequest.objects.filter(
            pk=request_id, state=PairingRequest.State.SEARCHING, expires_at__lte=now
        ).update(state=PairingRequest.State.EXPIRED, ended_at=now)
        if not won:
            return False
        request = PairingRequest.objects.select_related("client", "tier").get(pk=request_id)
        _withdraw(request, "expired")
        events.expired(request)
        events.request_updated(request)
    return True


def pairing_sweep_expired(now: datetime | None = None) -> int:
    now = now or timezone.now()
    done = 0
    overdue = PairingRequest.objects.filter(state=PairingRequest.State.SEARCHING, expires_at__lte=now)
    for rid in overdue.values_list("pk", flat=True)[:1000]:
        done += pairing_request_expire(request_id=rid, now=now)
    done += _widen_preferred(now)
    return done


def _widen_preferred(now: datetime) -> int:
    """Requests asking for a previous mitra first go to everyone after the window."""
    window = timedelta(seconds=platform_settings().preferred_mitra_window)
    due = PairingRequest.objects.filter(state=PairingRequest.State.SEARCHING, preferred_mitra__isnull=False,
                                        created_at__lte=now - window)
    done = 0
    for rid in due.values_list("pk", flat=True)[:200]:
        with transaction.atomic():
            request = (PairingRequest.objects.select_for_update(of=("self",)).select_related("client", "tier")
                       .filter(pk=rid, state=PairingRequest.State.SEARCHING, preferred_mitra__isnull=False).first())
            if request is None:
                continue
            already = list(request.offers.values_list("mitra_id", flat=True))
            request.preferred_mitra = None
            request.save(update_fields=["preferred_mitra"])
            mitra_ids = list(selectors.available_mitras(for_client_id=request.client_id, exclude_ids=already)
                             .values_list("id", flat=True))
            _offer_to(request, mitra_ids)
            done += 1
    return done


def pairing_request_claim(*, request_id, mitra: Mitra, now: datetime) -> PairingRequest:
    """The first half of an accept, inside the caller's transaction: lock the request, then
    the mitra's presence; check the request is still searching and the mitra online and
    below capacity. First accept wins: the others wait on the request's lock and then see
    it matched. Chat creates the session and calls `pairing_request_mark_matched`."""
    rid = parse_uuid(request_id)
    request = (PairingRequest.objects.select_for_update(of=("self",)).select_related("tier")
               .filter(pk=rid).first() if rid else None)
    if request is None or not _was_offered(request, mitra):
        raise ApplicationError("not_found", "Offer not found.")
    if request.state == PairingRequest.State.MATCHED:
        raise ApplicationError("already_taken", "Another mitra already accepted this request.")
    if request.state != PairingRequest.State.SEARCHING or request.expires_at <= now:
        raise ApplicationError("invalid_state", f"The request is {request.state if request.expires_at > now else 'expired'}.")
    if not mitra.is_active:
        raise ApplicationError("account_deactivated", "This mitra account is deactivated.")
    presence = lock_mitra_capacity(mitra=mitra, require_available=False)
    if presence.status != MitraPresence.Status.ONLINE:
        raise ApplicationError("invalid_state", "Go online to accept offers.")
    request.client = Client.objects.get(pk=request.client_id)
    return request


def pairing_request_mark_matched(*, request: PairingRequest, mitra: Mitra, session, session_payload: dict,
                                 now: datetime) -> PairingRequest:
    """The second half of an accept: the claimed request is matched to `session`, the
    other offers are withdrawn and the client is told (`pairing.matched`)."""
    request.state = PairingRequest.State.MATCHED
    request.ended_at = now
    request.matched_mitra = mitra
    request.session = session
    request.save(update_fields=["state", "ended_at", "matched_mitra", "session"])
    PairingOffer.objects.filter(request=request, mitra=mitra).update(state=PairingOffer.State.ACCEPTED)
    if request.free_trial:
        Client.objects.filter(pk=request.client_id).update(free_trial_used=True)
    _withdraw(request, "taken", keep=mitra.id)
    events.matched(request, session_payload)
    events.request_updated(request)
    return request


def _was_offered(request: PairingRequest, mitra: Mitra) -> bool:
    return PairingOffer.objects.filter(request=request, mitra=mitra).exclude(
        state=PairingOffer.State.DECLINED).exists()


def pairing_request_decline(*, request_id, mitra: Mitra) -> None:
    rid = parse_uuid(request_id)
    request = PairingRequest.objects.filter(pk=rid).first() if rid else None
    if request is None or not _was_offered(request, mitra):
        raise ApplicationError("not_found", "Offer not found.")
    PairingOffer.objects.filter(request=request, mitra=mitra, state=PairingOffer.State.OPEN).update(
        state=PairingOffer.State.DECLINED)


# --- the client's data rights (registered on accounts' hooks in PairingConfig) -----------

def client_requests_cancel(*, client: Client, **_facts) -> int:
    """A searching request of the client is cancelled through the service, so every
    mitra's offer is withdrawn (blocked or deleted clients)."""
    searching = PairingRequest.objects.filter(client=client, state=PairingRequest.State.SEARCHING)
    ids = list(searching.values_list("pk", flat=True))
    for request_id in ids:
        pairing_request_cancel(client=client, request_id=request_id)
    return len(ids)


def client_requests_erase(*, client: Client, now: datetime) -> None:
    client_requests_cancel(client=client)
    PairingRequest.objects.filter(client=client).exclude(topic="").update(topic="")


def pairing_retention_purge(*, cutoff: datetime, now: datetime) -> int:
    PairingRequest.objects.filter(created_at__lt=cutoff).exclude(state=PairingRequest.State.SEARCHING).exclude(
        topic="").update(topic="")
    return 0  # messages are chat's count
