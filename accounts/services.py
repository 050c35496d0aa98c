"""Every write to clients, mitras, platform settings and the audit log."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from halobestie.errors import ApplicationError
from halobestie.sockets.control import disconnect_user_on_commit

from . import hooks
from .firebase import FirebaseIdentity
from .models import AuditLog, Client, Mitra, PlatformSettings
from .selectors import forget_platform_settings

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
REGISTERED_PROVIDERS = {"phone", "google.com", "apple.com", "password"}


# --- audit -------------------------------------------------------------------------------

def audit_record(
    *, actor, action: str, target=None, target_type: str = "", target_id: str = "",
    before: dict | None = None, after: dict | None = None, ip: str | None = None,
) -> AuditLog:
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_id = target_id or str(target.pk)
    return AuditLog.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=getattr(actor, "email", "") or getattr(actor, "username", "") or str(actor or "system"),
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        ip_address=ip,
    )


def _snapshot(obj, fields) -> dict:
    data = model_to_dict(obj, fields=fields)
    return {k: (str(v) if not isinstance(v, (int, bool, type(None), str)) else v) for k, v in data.items()}


# --- clients -----------------------------------------------------------------------------

def _clean_display_name(name: str | None) -> str:
    return " ".join((name or "").split())[:60]


@transaction.atomic
def client_sign_in(*, identity: FirebaseIdentity, display_name: str | None = None) -> tuple[Client, bool]:
    """Create or update the client for this Firebase user. Linking a permanent credential
    to an anonymous Firebase user keeps the UID, so the same row (and history) carries on."""
    registered = identity.provider in REGISTERED_PROVIDERS
    try:
        with transaction.atomic():
            client, created = Client.objects.select_for_update().get_or_create(
                firebase_uid=identity.uid,
                defaults={
                    "display_name": _clean_display_name(display_name or identity.name),
                    "is_anonymous": not registered,
                    "sign_in_provider": identity.provider,
                    "phone": identity.phone,
                    "email": identity.email,
                },
            )
    except IntegrityError:  # a concurrent first sign-in created it
        client, created = Client.objects.select_for_update().get(firebase_uid=identity.uid), False
    if client.deleted_at:
        raise ApplicationError("account_deactivated", "This account was deleted.")
    changed = []
    if not created:
        if display_name is not None and _clean_display_name(display_name) != client.display_name:
            client.display_name = _clean_display_name(display_name)
            changed.append("display_name")
        if registered and client.is_anonymous:
            client.is_anonymous = False
            changed.append("is_anonymous")
        for attr, value in (("sign_in_provider", identity.provider), ("phone", identity.phone),
                            ("email", identity.email)):
            if value and getattr(client, attr) != value:
                setattr(client, attr, value)
                changed.append(attr)
    client.last_seen_at = timezone.now()
    client.save(update_fields=[*changed, "last_seen_at", "updated_at"] if not created else None)
    return client, created


def client_update_profile(*, client: Client, display_name: str) -> Client:
    client.display_name = _clean_display_name(display_name)
    client.save(update_fields=["display_name", "updated_at"])
    return client


def client_set_blocked(*, client: Client, blocked: bool, actor, reason: str = "") -> Client:
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client.pk)
        before = {"is_blocked": client.is_blocked, "blocked_reason": client.blocked_reason}
        client.is_blocked = blocked
        client.blocked_reason = reason[:200] if blocked else ""
        client.save(update_fields=["is_blocked", "blocked_reason", "updated_at"])
        audit_record(actor=actor, action="client.block" if blocked else "client.unblock",
                     target=client, before=before,
                     after={"is_blocked": client.is_blocked, "blocked_reason": client.blocked_reason})
        if blocked:
            # A blocked client cannot start a session: pairing cancels a searching request.
            hooks.CLIENT_BLOCKED(client=client)
            disconnect_user_on_commit(client)
    return client


# --- mitras ------------------------------------------------------------------------------

MITRA_FIELDS = ["phone", "display_name", "bio", "photo_url", "is_active"]


def normalise_phone(phone: str) -> str:
    phone = re.sub(r"[\s\-()]", "", phone or "")
    if phone.startswith("08"):
        phone = "+62" + phone[1:]
    if not E164.match(phone):
        raise ApplicationError("validation_error", "Phone must be E.164, e.g. +628123456789.",
                               fields={"phone": ["Phone must be E.164, e.g. +628123456789."]})
    return phone


def mitra_create(*, phone: str, display_name: str, bio: str = "", photo_url: str = "", actor=None) -> Mitra:
    phone = normalise_phone(phone)
    display_name = " ".join(display_name.split())
    if not display_name:
        raise ApplicationError("validation_error", "A display name is required.",
                               fields={"display_name": ["This field is required."]})
    with transaction.atomic():
        if Mitra.objects.filter(phone=phone).exists():
            raise ApplicationError("conflict", "A mitra with this phone already exists.",
                                   fields={"phone": ["A mitra with this phone already exists."]})
        mitra = Mitra.objects.create(phone=phone, display_name=display_name, bio=bio, photo_url=photo_url)
        audit_record(actor=actor, action="mitra.create", target=mitra, after=_snapshot(mitra, MITRA_FIELDS))
    return mitra


def mitra_update(*, mitra: Mitra, actor, **changes) -> Mitra:
    with transaction.atomic():
        mitra = Mitra.objects.select_for_update().get(pk=mitra.pk)
        before = _snapshot(mitra, MITRA_FIELDS)
        if "phone" in changes:
            changes["phone"] = normalise_phone(changes["phone"])
            if Mitra.objects.filter(phone=changes["phone"]).exclude(pk=mitra.pk).exists():
                raise ApplicationError("conflict", "A mitra with this phone already exists.",
                                       fields={"phone": ["A mitra with this phone already exists."]})
            if changes["phone"] != mitra.phone:
                mitra.firebase_uid = None  # a new phone is a new Firebase user
        for key in ("phone", "display_name", "bio", "photo_url"):
            if key in changes:
                setattr(mitra, key, changes[key])
        mitra.save()
        audit_record(actor=actor, action="mitra.update", target=mitra, before=before,
                     after=_snapshot(mitra, MITRA_FIELDS))
    return mitra


def mitra_set_active(*, mitra: Mitra, active: bool, actor) -> Mitra:
    with transaction.atomic():
        mitra = Mitra.objects.select_for_update().get(pk=mitra.pk)
        before = {"is_active": mitra.is_active}
        mitra.is_active = active
        mitra.deactivated_at = None if active else timezone.now()
        mitra.save(update_fields=["is_active", "deactivated_at", "updated_at"])
        if not active and before["is_active"]:
            hooks.MITRA_DEACTIVATED(mitra=mitra)
        if not active:
            disconnect_user_on_commit(mitra)
        audit_record(actor=actor, action="mitra.activate" if active else "mitra.deactivate",
                     target=mitra, before=before, after={"is_active": active})
    return mitra


def mitra_sign_in(*, identity: FirebaseIdentity) -> Mitra:
    """Phone-OTP sign-in matched to a staff-created mitra. Nothing is auto-created."""
    if identity.provider != "phone" or not identity.phone:
        raise ApplicationError("mitra_not_registered", "Mitras sign in with their phone number.")
    with transaction.atomic():
        mitra = Mitra.objects.select_for_update().filter(phone=identity.phone).first()
        if mitra is None:
            raise ApplicationError("mitra_not_registered", "This phone number is not registered as a mitra.")
        if not mitra.is_active:
            raise ApplicationError("account_deactivated", "This mitra account is deactivated.")
        if mitra.firebase_uid != identity.uid:
            Mitra.objects.filter(firebase_uid=identity.uid).exclude(pk=mitra.pk).update(firebase_uid=None)
            mitra.firebase_uid = identity.uid
            mitra.save(update_fields=["firebase_uid", "updated_at"])
    return mitra


# --- platform settings -------------------------------------------------------------------

SETTINGS_KEYS = [
    "max_customers_per_mitra", "pairing_timeout", "heartbeat_interval", "auto_offline_after",
    "payment_timeout", "extension_timeout", "goodbye_window", "ending_soon_warnings",
    "free_trial_enabled", "free_trial_minutes", "anonymous_trial_allowed",
    "mitra_can_end_early", "client_can_end_early", "client_identity_for_mitra",
    "mitra_no_show_after", "mitra_grace_period", "preferred_mitra_window", "mitra_daily_session_cap",
    "pause_after_flagged_minutes", "crisis_resources_text",
]
_BOUNDS = {
    "max_customers_per_mitra": (1, 50),
    "pairing_timeout": (10, 3600),
    "heartbeat_interval": (5, 600),
    "auto_offline_after": (15, 3600),
    "payment_timeout": (60, 86400),
    "extension_timeout": (10, 3600),
    "goodbye_window": (0, 3600),
    "free_trial_minutes": (1, 240),
    "mitra_no_show_after": (30, 3600),
    "mitra_grace_period": (0, 3600),
    "preferred_mitra_window": (0, 600),
    "mitra_daily_session_cap": (0, 100),
    "pause_after_flagged_minutes": (0, 240),
}


def _coerce_setting(key: str, value):
    field = PlatformSettings._meta.get_field(key)
    internal = field.get_internal_type()
    if internal == "BooleanField":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError("must be true or false")
    if internal in ("PositiveIntegerField", "PositiveSmallIntegerField"):
        number = int(str(value).strip())
        low, high = _BOUNDS.get(key, (0, 10**9))
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number
    if key == "ending_soon_warnings":
        parts = [p.strip() for p in str(value).split(",") if p.strip()]
        if not parts or not all(p.isdigit() and 0 < int(p) <= 86400 for p in parts):
            raise ValueError("must be a comma-separated list of seconds, e.g. 300,60")
        return ",".join(str(n) for n in sorted({int(p) for p in parts}, reverse=True))
    if key == "crisis_resources_text":
        text = str(value).strip()
        if not 10 <= len(text) <= 1000:
            raise ValueError("must be between 10 and 1000 characters")
        return text
    if key == "client_identity_for_mitra":
        if value not in ("alias", "display_name"):
            raise ValueError("must be alias or display_name")
        return value
    raise ValueError("unknown setting")


def platform_settings_update(*, actor, changes: dict) -> PlatformSettings:
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    for key, value in changes.items():
        if key not in SETTINGS_KEYS:
            errors[key] = ["Unknown setting."]
            continue
        try:
            clean[key] = _coerce_setting(key, value)
        except (TypeError, ValueError) as exc:
            errors[key] = [str(exc) if "must" in str(exc) else "Invalid value."]
    if errors:
        raise ApplicationError("validation_error", "Invalid settings.", fields=errors)
    with transaction.atomic():
        row, _ = PlatformSettings.objects.select_for_update().get_or_create(id=1)
        before = {k: getattr(row, k) for k in clean}
        for key, value in clean.items():
            setattr(row, key, value)
        if row.auto_offline_after <= row.heartbeat_interval:
            raise ApplicationError(
                "validation_error", "auto_offline_after must exceed heartbeat_interval.",
                fields={"auto_offline_after": ["Must be longer than heartbeat_interval."]})
        row.save()
        changed = {k: v for k, v in clean.items() if before[k] != v}
        if changed:
            audit_record(actor=actor, action="settings.update", target_type="platform_settings",
                         target_id="1", before={k: before[k] for k in changed}, after=changed)
        transaction.on_commit(forget_platform_settings)
    forget_platform_settings()
    return row
