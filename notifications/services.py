"""Device registration and push notifications.

Callers never send a push themselves: they call a `notify_*_on_commit` function inside
their transaction, which queues the `notifications.tasks.push_send` Celery task after the
commit (a rolled-back change pushes nothing). The task calls `push_deliver`, which sends
through the configured backend in batches of up to 500 and removes tokens FCM reports
dead; devices with a transient error are retried by the task with back-off.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.services import audit_record
from halobestie.errors import ApplicationError
from halobestie.realtime import client_group, mitra_group
from halobestie.sockets.registry import has_live_socket

from . import (
    selectors,
    tasks,  # notifications.tasks imports this module back: a module import, used at call time
)
from .models import Device
from .push import MAX_BATCH, BatchResult, Push, get_backend
from .texts import EVENTS, SESSION_EVENTS, text_for

logger = logging.getLogger(__name__)

# A user's older devices beyond this are forgotten (reinstalls leave stale tokens behind).
MAX_DEVICES_PER_USER = 10


# --- devices ----------------------------------------------------------------------------

def _owner_fields(user) -> dict:
    if user.role == "client":
        return {"client_id": user.id, "mitra_id": None}
    return {"client_id": None, "mitra_id": user.id}


def device_register(*, user, fcm_token: str, platform: str) -> tuple[Device, bool]:
    """Register `fcm_token` for `user`; returns (device, created). The same token again is
    an update (created=False); a token another user registered moves to `user`, since
    the latest sign-in on a phone is the one that receives its pushes (created=True)."""
    owner = _owner_fields(user)
    with transaction.atomic():
        device = Device.objects.select_for_update().filter(fcm_token=fcm_token).first()
        if device is None:
            try:
                with transaction.atomic():
                    device = Device.objects.create(fcm_token=fcm_token, platform=platform, **owner)
                created = True
            except IntegrityError:  # registered concurrently: take the row over
                device = Device.objects.select_for_update().get(fcm_token=fcm_token)
                created = None
        else:
            created = None
        if created is None:
            created = (device.client_id, device.mitra_id) != (owner["client_id"], owner["mitra_id"])
            device.client_id = owner["client_id"]
            device.mitra_id = owner["mitra_id"]
            device.platform = platform
            device.save(update_fields=["client", "mitra", "platform", "updated_at"])
        stale = list(selectors.devices_for(user).values_list("pk", flat=True)[MAX_DEVICES_PER_USER:])
        if stale:
            Device.objects.filter(pk__in=stale).delete()
    return device, created


def client_devices_forget(*, client, **_facts) -> None:
    """accounts: the client deletes the account — its devices get no more pushes."""
    Device.objects.filter(client=client).delete()


def device_unregister(*, user, fcm_token: str) -> None:
    """Forget one of `user`'s own tokens (sign-out). Anyone else's or unknown: not_found."""
    deleted, _ = Device.objects.filter(fcm_token=fcm_token, **selectors.owner_filter(user)).delete()
    if not deleted:
        raise ApplicationError("not_found", "Device not found.")


# --- queueing pushes --------------------------------------------------------------------

def _push_kwargs(event: str, *, data: dict, client_ids: Iterable = (), mitra_ids: Iterable = (),
                 device_ids: Iterable[int] | None = None, expires_at: datetime | None = None) -> dict:
    return {
        "event": event,
        "data": {k: str(v) for k, v in data.items() if v is not None},
        "client_ids": [str(i) for i in client_ids if i],
        "mitra_ids": [str(i) for i in mitra_ids if i],
        "device_ids": list(device_ids) if device_ids is not None else None,
        "expires_at": expires_at.isoformat() if expires_at else None,
    }


def _queue_now(kwargs: dict, unless_live_socket: str | None = None) -> None:
    if unless_live_socket and has_live_socket(unless_live_socket):
        return  # the app is connected and gets the socket event instead
    tasks.push_send.apply_async(kwargs=kwargs)


def _queue_on_commit(event: str, *, unless_live_socket: str | None = None, **push) -> None:
    kwargs = _push_kwargs(event, **push)

    def queue() -> None:
        _queue_now(kwargs, unless_live_socket)

    # robust: a broker hiccup must not turn a committed change into an error answer.
    transaction.on_commit(queue, robust=True)


def notify_on_commit(event: str, *, session, to: tuple[str, ...], extension=None, payment=None) -> None:
    """Push a session event to the session's client and/or mitra after commit.

    `extension` (extension_requested / extension_answered) and `payment` (a billing
    Transaction, payment_result) name the object the push is about; when omitted, the
    session's latest one is used."""
    if event not in SESSION_EVENTS:
        raise ValueError(f"unknown push event {event!r}")
    data: dict = {"session_id": session.id}
    expires_at = None
    if event in ("extension_requested", "extension_answered"):
        if extension is None:
            extension = session.extensions.order_by("-requested_at").first()
        if extension is not None:
            data["extension_id"] = extension.id
            if event == "extension_answered":
                data["state"] = extension.state
            else:
                expires_at = extension.respond_by
    elif event == "payment_result":
        if payment is None:
            payment = session.transactions.order_by("-created_at").first()
        if payment is not None:
            data.update(payment_id=payment.id, status=payment.status, extension_id=payment.extension_id)
    elif event == "session_ending_soon":
        expires_at = session.ends_at
    _queue_on_commit(
        event, data=data, expires_at=expires_at,
        client_ids=[session.client_id] if "client" in to else (),
        mitra_ids=[session.mitra_id] if "mitra" in to else (),
    )


def _new_message_push(*, sender: str, client_id, mitra_id) -> tuple[str, dict] | None:
    """The group whose live socket makes the push unneeded, and the push's recipients."""
    if sender == "client":
        return mitra_group(mitra_id), {"mitra_ids": [mitra_id]}
    if sender == "mitra":
        return client_group(client_id), {"client_ids": [client_id]}
    return None  # system messages come with their own session push


def notify_new_message_on_commit(*, message, session) -> None:
    """Push "new message" to the other participant, only if they have no live socket."""
    target = _new_message_push(sender=message.sender, client_id=session.client_id, mitra_id=session.mitra_id)
    if target is not None:
        group, recipients = target
        _queue_on_commit("new_message", data={"session_id": session.id, "message_id": message.id},
                         unless_live_socket=group, **recipients)


def notify_new_message_now(*, session_id, message_id, sender: str, client_id, mitra_id,
                           recipient_listening: bool | None) -> None:
    """The same push for a message already committed (the socket's loop path, after its
    event was published): `recipient_listening` is whether that publish reached a process
    with the recipient's socket; None when unknown (the socket registry decides)."""
    target = _new_message_push(sender=sender, client_id=client_id, mitra_id=mitra_id)
    if target is None or recipient_listening:
        return
    group, recipients = target
    try:
        _queue_now(_push_kwargs("new_message", data={"session_id": session_id, "message_id": message_id},
                                **recipients), unless_live_socket=group if recipient_listening is None else None)
    except Exception as exc:  # noqa: BLE001 - like robust on_commit: the message is stored and sent
        logger.warning("new-message push not queued: %s", type(exc).__name__)


def notify_offer_on_commit(*, request, mitra_ids) -> None:
    """One task pushes the offer to every offered mitra (in batches of up to 500)."""
    if not mitra_ids:
        return
    _queue_on_commit("pairing_offer", data={"request_id": request.id}, mitra_ids=mitra_ids,
                     expires_at=request.expires_at)


def send_test_push(*, device_id, actor) -> dict:
    """Staff's "send test push": audited, then the fixed test push to that one device,
    through the same task as every other push."""
    with transaction.atomic():
        device = Device.objects.filter(pk=device_id).first()
        if device is None:
            raise ApplicationError("not_found", "Device not found.")
        audit_record(actor=actor, action="device.test_push", target=device,
                     after={"platform": device.platform,
                            "owner": f"client:{device.client_id}" if device.client_id else f"mitra:{device.mitra_id}"})
        _queue_on_commit("test", data={}, device_ids=[device.pk])
    return {"device_id": device.pk, "platform": device.platform, "queued": True}


# --- delivering (called by the task) ----------------------------------------------------

@dataclass
class DeliveryReport:
    devices: int = 0
    batches: list[int] = field(default_factory=list)
    delivered: int = 0
    removed: int = 0
    failed: int = 0
    retry_device_ids: list[int] = field(default_factory=list)
    retry_after: float = 0.0
    skipped: str = ""


def push_deliver(*, event: str, data: dict[str, str], client_ids: Iterable[str] = (),
                 mitra_ids: Iterable[str] = (), device_ids: Iterable[int] | None = None,
                 expires_at: str | None = None) -> DeliveryReport:
    """Send one push to the users' (or these) devices; remove dead tokens; report which
    devices should be retried."""
    if event not in EVENTS:
        raise ValueError(f"unknown push event {event!r}")
    report = DeliveryReport()
    ttl = None
    if expires_at:
        remaining = (parse_datetime(expires_at) - timezone.now()).total_seconds()
        if remaining <= 0:
            report.skipped = "expired"  # an offer or warning that arrives late is noise
            return report
        ttl = math.ceil(remaining)
    targets = selectors.push_targets(
        client_ids=client_ids, mitra_ids=mitra_ids, device_ids=device_ids,
        open_offer_for=data.get("request_id") if event == "pairing_offer" else None,
    )
    report.devices = len(targets)
    if not targets:
        report.skipped = "no_devices"
        return report
    session_id = data.get("session_id")
    push = Push(
        event=event, data={"type": event, **data}, text=text_for(event, data), ttl_seconds=ttl,
        collapse_id=f"chat-{session_id}" if event == "new_message" else None,
        thread_id=session_id,
    )
    backend = get_backend()
    result = BatchResult()
    for start in range(0, len(targets), MAX_BATCH):
        batch = targets[start:start + MAX_BATCH]
        report.batches.append(len(batch))
        result.merge(backend.send(push, batch))
    if result.dead:
        dead = set(result.dead)
        tokens = [t.token for t in targets if t.device_id in dead]
        report.removed, _ = Device.objects.filter(pk__in=dead, fcm_token__in=tokens).delete()
    report.delivered = len(result.delivered)
    report.failed = len(result.failed)
    report.retry_device_ids = sorted(result.retry)
    report.retry_after = result.retry_after
    return report
