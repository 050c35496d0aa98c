"""Staff roles: who may do what in the control center.

Each role is a Django group whose permissions are exactly the ones listed here. A data
migration creates the groups, and every `migrate` puts them back in line with this table
(`roles_sync`, run after migrate), so the code is the one place the rules live. Views ask
for one permission each (`views.base.staff_permission`); a staff login with no role can
sign in and set up two-factor sign-in, nothing else. Superusers hold every permission and
count as admins.

The table is documented in the README ("Staff roles"); keep both in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS

APP = "control_center"
# Table-less model the control center's own permissions hang on (control_center.models).
ANCHOR_MODEL = "staffaccess"

# codename -> what it lets a staff member do (also the text of the refusal page).
PERMISSIONS: dict[str, str] = {
    "view_control_center": "use the control center (dashboard, sessions, mitras, clients, reports, money)",
    "triage_report": "move client reports to review or resolved",
    "send_test_push": "send a test push to a device",
    "force_mitra_offline": "take a mitra offline",
    "reroute_session": "reroute a live session to another mitra",
    "force_close_session": "force-close a live session",
    "block_client": "block and unblock clients",
    "resolve_payment": "mark refunds and resolve payment incidents",
    "view_audit_log": "read the audit log",
    "view_staff": "see the staff list and their roles",
    "manage_mitra": "create, edit, deactivate and reactivate mitras",
    "manage_tier": "create, edit and deactivate pricing tiers (prices)",
    "change_platform_settings": "change platform settings",
    "manage_staff": "assign staff roles and reset another member's two-factor sign-in",
}
# Reading a transcript is chat's permission (it guards health data wherever it is read).
TRANSCRIPT = "chat.view_transcript"
TRANSCRIPT_HOME = ("chat", "session", "Can read session transcripts (audited)")


def perm(codename: str) -> str:
    """The full name `has_perm` takes: "control_center.<codename>"."""
    if codename not in PERMISSIONS:
        raise KeyError(f"unknown control-center permission {codename!r}")
    return f"{APP}.{codename}"


@dataclass(frozen=True)
class Role:
    key: str
    group: str  # the Django group's name
    label: str
    summary: str
    permissions: tuple[str, ...]  # full names


_OPERATOR = (
    perm("view_control_center"),
    perm("triage_report"),
    perm("send_test_push"),
    perm("force_mitra_offline"),
    perm("reroute_session"),
)
_SUPERVISOR = (
    *_OPERATOR,
    perm("force_close_session"),
    perm("block_client"),
    perm("resolve_payment"),
    perm("view_audit_log"),
    perm("view_staff"),
    TRANSCRIPT,
)
_ADMIN = (
    *_SUPERVISOR,
    perm("manage_mitra"),
    perm("manage_tier"),
    perm("change_platform_settings"),
    perm("manage_staff"),
)

# Lowest first: a member of several groups has the highest one.
ROLES: tuple[Role, ...] = (
    Role("operator", "Operators", "Operator", "runs the shift: sessions, reroutes, reports, test pushes", _OPERATOR),
    Role(
        "supervisor",
        "Supervisors",
        "Supervisor",
        "an operator's work plus force-close, blocking clients, refunds, transcripts, audit log",
        _SUPERVISOR,
    ),
    Role("admin", "Admins", "Admin", "a supervisor's work plus mitras, prices, platform settings and staff roles", _ADMIN),
)
BY_KEY = {role.key: role for role in ROLES}
BY_GROUP = {role.group: role for role in ROLES}


def permission_label(permission: str) -> str:
    app, _, codename = permission.partition(".")
    if permission == TRANSCRIPT:
        return "read session transcripts"
    return PERMISSIONS.get(codename, permission) if app == APP else permission


def role_of(user) -> Role | None:
    """The user's highest role (superusers are admins); None for a staff login with none."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return BY_KEY["admin"]
    # `groups.all()` so a prefetch (the staff list) is used.
    names = {group.name for group in user.groups.all()}
    found = [role for role in ROLES if role.group in names]
    return found[-1] if found else None


def roles_allowed(permission: str) -> list[Role]:
    return [role for role in ROLES if permission in role.permissions]


def roles_sync(apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    """Make the groups and permissions exactly the table above. Idempotent.

    Works with the migration's historical models too, so the data migration and the
    post-migrate step share it. Creates the permission rows itself: Django only creates
    them after the last migration, and the data migration runs before that."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    homes = {f"{APP}.{codename}": (APP, ANCHOR_MODEL, f"Can {label}") for codename, label in PERMISSIONS.items()}
    homes[TRANSCRIPT] = TRANSCRIPT_HOME
    rows = {}
    for full_name, (app_label, model, name) in homes.items():
        content_type, _ = ContentType.objects.db_manager(using).get_or_create(app_label=app_label, model=model)
        rows[full_name], _ = Permission.objects.db_manager(using).get_or_create(
            content_type=content_type, codename=full_name.partition(".")[2], defaults={"name": name[:255]}
        )
    for role in ROLES:
        group, _ = Group.objects.db_manager(using).get_or_create(name=role.group)
        group.permissions.set([rows[name] for name in role.permissions])
