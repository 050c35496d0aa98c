"""Reads of device tokens: a user's devices, and the devices a push goes to."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from .models import Device
from .push import Target


def owner_filter(user) -> dict:
    """Device filter for a Client or a Mitra."""
    return {"client_id": user.id} if user.role == "client" else {"mitra_id": user.id}


def devices_for(user) -> QuerySet[Device]:
    """A client's or mitra's registered devices, most recently registered first."""
    return Device.objects.filter(**owner_filter(user)).order_by("-updated_at", "-id")


def push_targets(*, client_ids: Iterable[str] = (), mitra_ids: Iterable[str] = (),
                 device_ids: Iterable[int] | None = None, open_offer_for: str | None = None) -> list[Target]:
    """The devices of these users; with `device_ids` (a retry, or one staff-chosen device)
    only those devices, and only while they still belong to these users.

    `open_offer_for`: only mitras whose offer of that pairing request is still open while
    the request is searching (an offer push for a taken or expired request is noise)."""
    client_ids, mitra_ids = list(client_ids), list(mitra_ids)
    owners = Q(pk__in=[])
    if client_ids:
        owners |= Q(client_id__in=client_ids)
    if mitra_ids:
        owners |= Q(mitra_id__in=mitra_ids)
    if device_ids is None:
        devices = Device.objects.filter(owners)
    else:
        devices = Device.objects.filter(pk__in=list(device_ids))
        if client_ids or mitra_ids:
            # A token that moved to another user since the first attempt is not theirs.
            devices = devices.filter(owners)
    if open_offer_for is not None:
        devices = devices.filter(mitra__offers__request_id=open_offer_for, mitra__offers__state="open",
                                 mitra__offers__request__state="searching")
    rows = devices.order_by("pk").values_list("pk", "fcm_token", "platform")
    return [Target(device_id=pk, token=token, platform=platform) for pk, token, platform in rows]
