"""Roles are groups equal to control_center/roles.py, and every control-center URL asks
for a permission and has its row in the authorization matrix."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import URLPattern, get_resolver

from control_center.roles import BY_KEY, ROLES, perm, role_of

from .factories import make_staff
from .test_authz_matrix import ACTIONS

pytestmark = [pytest.mark.urls("halobestie.urls_internal"), pytest.mark.django_db]

# Not role-gated on purpose: signing in and out, and the staff member's own second factor.
UNGATED = {"login", "login_totp", "logout", "totp_setup", "totp_verify"}


def test_every_control_center_url_is_gated_and_in_the_matrix():
    """A new page without a permission, or without a row above, fails here."""
    resolver = get_resolver("halobestie.urls_internal")
    patterns = [p for p in resolver.url_patterns if getattr(p, "namespace", None) == "control_center"]
    assert patterns, "control_center is not included in the internal URLconf"
    names = {}
    for pattern in patterns[0].url_patterns:
        assert isinstance(pattern, URLPattern)
        names[pattern.name] = pattern.callback
    covered = {a.name for a in ACTIONS}
    assert set(names) - UNGATED == covered, set(names) ^ (covered | UNGATED)
    for name, view in names.items():
        required = getattr(view, "required_permission", "missing")
        if name in UNGATED:
            assert required in (None, "missing"), name
        else:
            assert required != "missing" and required is not None, f"{name} has no permission check"
            declared = {a.permission for a in ACTIONS if a.name == name}
            assert declared <= {required, getattr(view, "required_write_permission", required)}, name


def test_roles_are_groups_equal_to_the_table():
    for role in ROLES:
        group = Group.objects.get(name=role.group)
        held = {f"{ct}.{code}" for ct, code in group.permissions.values_list("content_type__app_label", "codename")}
        assert held == set(role.permissions), role.key
    # Someone edits a group by hand; the next migrate puts it back.
    Group.objects.get(name="Operators").permissions.add(*Group.objects.get(name="Admins").permissions.all())
    call_command("migrate", verbosity=0)
    operators = Group.objects.get(name="Operators")
    assert operators.permissions.count() == len(BY_KEY["operator"].permissions)


def test_a_member_of_several_groups_has_the_highest_role():
    member = make_staff("operator")
    member.groups.add(Group.objects.get(name="Supervisors"))
    assert role_of(member).key == "supervisor"
    assert role_of(make_staff("x", role=None)) is None
    with pytest.raises(KeyError):
        perm("edit_everything")


def test_staff_without_a_role_see_the_refusal_page_not_the_dashboard(db):
    from django.test import Client as DjangoClient

    web = DjangoClient()
    web.force_login(make_staff("newcomer", role=None))
    r = web.get("/")
    assert r.status_code == 403 and b"no control-center role yet" in r.content
    assert web.get("/account/two-factor/").status_code == 200  # can still protect the account
