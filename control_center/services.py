"""Staff writes that no other app owns: pricing tiers, refunds and payment incidents,
the force-offline action and staff roles. Each is one guarded change inside a
transaction, audited.

Everything else the control center changes goes through the owning app's service
(accounts, pairing, chat), which audits it there.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts.models import Mitra
from accounts.services import audit_record
from billing.models import PaymentIncident, Transaction
from halobestie.errors import ApplicationError
from pairing.models import MitraPresence
from pairing.services import presence_go_offline
from pricing.models import Tier

from .roles import BY_GROUP, BY_KEY, role_of

TIER_FIELDS = ("kind", "name", "minutes", "price", "is_active", "sort_order")


def _tier_snapshot(tier: Tier) -> dict:
    return {name: getattr(tier, name) for name in TIER_FIELDS}


def _clean_tier(*, name: str, minutes: int, price: int) -> dict:
    errors: dict[str, list[str]] = {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = ["This field is required."]
    if not isinstance(minutes, int) or not 1 <= minutes <= 24 * 60:
        errors["minutes"] = ["Must be between 1 and 1440."]
    if not isinstance(price, int) or not 0 <= price <= 100_000_000:
        errors["price"] = ["Must be between 0 and 100,000,000 IDR."]
    if errors:
        raise ApplicationError("validation_error", "Invalid tier.", fields=errors)
    return {"name": name, "minutes": minutes, "price": price}


# --- pricing tiers -----------------------------------------------------------------------


def tier_create(
    *,
    actor,
    kind: str,
    name: str,
    minutes: int,
    price: int,
    sort_order: int = 0,
    is_active: bool = True,
    ip: str | None = None,
) -> Tier:
    if kind not in Tier.Kind.values:
        raise ApplicationError(
            "validation_error", "Invalid tier kind.", fields={"kind": ["Choose session or extension."]}
        )
    clean = _clean_tier(name=name, minutes=minutes, price=price)
    with transaction.atomic():
        tier = Tier.objects.create(kind=kind, sort_order=sort_order, is_active=is_active, **clean)
        audit_record(actor=actor, action="tier.create", target=tier, after=_tier_snapshot(tier), ip=ip)
    return tier


def tier_update(*, actor, tier_id, name: str, minutes: int, price: int, sort_order: int, ip: str | None = None) -> Tier:
    """Changes apply to new requests; sessions already priced keep their own minutes/price."""
    clean = _clean_tier(name=name, minutes=minutes, price=price)
    with transaction.atomic():
        tier = Tier.objects.select_for_update().filter(pk=tier_id).first()
        if tier is None:
            raise ApplicationError("not_found", "Tier not found.")
        before = _tier_snapshot(tier)
        for key, value in {**clean, "sort_order": sort_order}.items():
            setattr(tier, key, value)
        tier.save()
        after = _tier_snapshot(tier)
        if after != before:
            audit_record(
                actor=actor,
                action="tier.update",
                target=tier,
                before={k: v for k, v in before.items() if after[k] != v},
                after={k: v for k, v in after.items() if before[k] != v},
                ip=ip,
            )
    return tier


def tier_set_active(*, actor, tier_id, active: bool, ip: str | None = None) -> Tier:
    with transaction.atomic():
        tier = Tier.objects.select_for_update().filter(pk=tier_id).first()
        if tier is None:
            raise ApplicationError("not_found", "Tier not found.")
        if tier.is_active != active:
            tier.is_active = active
            tier.save(update_fields=["is_active"])
            audit_record(
                actor=actor,
                action="tier.activate" if active else "tier.deactivate",
                target=tier,
                before={"is_active": not active},
                after={"is_active": active},
                ip=ip,
            )
    return tier


# --- money that needs a human ------------------------------------------------------------


def transaction_mark_refunded(*, actor, transaction_id, note: str, ip: str | None = None) -> Transaction:
    """refund_needed → refunded, after staff returned the money outside the platform."""
    note = " ".join((note or "").split())[:300]
    if not note:
        raise ApplicationError(
            "validation_error", "Say how the money was returned.", fields={"note": ["This field is required."]}
        )
    with transaction.atomic():
        tx = Transaction.objects.select_for_update().filter(pk=transaction_id).first()
        if tx is None:
            raise ApplicationError("not_found", "Transaction not found.")
        if tx.status != Transaction.Status.REFUND_NEEDED:
            raise ApplicationError("invalid_state", f"The transaction is {tx.status}, not refund_needed.")
        tx.status = Transaction.Status.REFUNDED
        tx.note = note
        tx.save(update_fields=["status", "note", "updated_at"])
        audit_record(
            actor=actor,
            action="transaction.refunded",
            target=tx,
            before={"status": Transaction.Status.REFUND_NEEDED},
            after={"status": Transaction.Status.REFUNDED, "note": note},
            ip=ip,
        )
    return tx


def payment_incident_resolve(*, actor, incident_id, note: str, ip: str | None = None) -> PaymentIncident:
    note = " ".join((note or "").split())[:300]
    if not note:
        raise ApplicationError(
            "validation_error", "A resolution note is required.", fields={"note": ["This field is required."]}
        )
    with transaction.atomic():
        incident = PaymentIncident.objects.select_for_update().filter(pk=incident_id).first()
        if incident is None:
            raise ApplicationError("not_found", "Incident not found.")
        if incident.resolved_at is not None:
            raise ApplicationError("invalid_state", "The incident is already resolved.")
        incident.resolved_at = timezone.now()
        incident.resolution_note = note
        incident.save(update_fields=["resolved_at", "resolution_note"])
        audit_record(
            actor=actor,
            action="payment_incident.resolve",
            target=incident,
            before={"resolved": False},
            after={"resolved": True, "note": note},
            ip=ip,
        )
    return incident


# --- presence ----------------------------------------------------------------------------


def mitra_force_offline(*, actor, mitra: Mitra, ip: str | None = None) -> MitraPresence:
    """Staff takes a mitra offline (the app is told); live sessions are left alone."""
    with transaction.atomic():
        before = MitraPresence.objects.filter(mitra=mitra).values_list("status", flat=True).first()
        if before != MitraPresence.Status.ONLINE:
            raise ApplicationError("invalid_state", "The mitra is already offline.")
        presence = presence_go_offline(mitra=mitra, reason="staff")
        audit_record(
            actor=actor,
            action="mitra.force_offline",
            target=mitra,
            before={"status": before},
            after={"status": presence.status},
            ip=ip,
        )
    return presence


# --- staff roles -------------------------------------------------------------------------


def staff_set_role(*, actor, user_id: int, role: str | None, ip: str | None = None):
    """Give a staff login exactly one role (or none). Not one's own (no admin can lock the
    last admin out by accident), and not a superuser's (they are admins by definition)."""
    if role not in (None, "", *BY_KEY):
        raise ApplicationError("validation_error", "Unknown role.", fields={"role": ["Choose a role."]})
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().filter(pk=user_id, is_staff=True).first()
        if user is None:
            raise ApplicationError("not_found", "Staff member not found.")
        if user.pk == actor.pk:
            raise ApplicationError("invalid_state", "You cannot change your own role; ask another admin.")
        if user.is_superuser:
            raise ApplicationError("invalid_state", "A superuser is always an admin (change that in the Django admin).")
        before = role_of(user)
        user.groups.remove(*Group.objects.filter(name__in=BY_GROUP))
        if role:
            user.groups.add(Group.objects.get(name=BY_KEY[role].group))
        if (before.key if before else None) != (role or None):
            audit_record(
                actor=actor,
                action="staff.role_change",
                target=user,
                target_type="user",
                before={"role": before.key if before else None},
                after={"role": role or None},
                ip=ip,
            )
    return user
