"""Staff: who has which role and two-factor sign-in; admins assign roles and reset a lost
authenticator (with their own password)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from halobestie.errors import ApplicationError

from .. import selectors, services
from ..auth import enrolment
from ..forms import PasswordConfirmForm, StaffRoleForm
from ..roles import ROLES, perm
from .base import client_ip, paginate, staff_permission

MANAGE = perm("manage_staff")


@staff_permission(perm("view_staff"))
def staff_list(request: HttpRequest) -> HttpResponse:
    context = {
        "page": paginate(request, selectors.staff_list(), per_page=50),
        "roles": ROLES,
        "can_manage": request.user.has_perm(MANAGE),
    }
    return render(request, "control_center/staff/list.html", context)


def _staff_member(user_id: int):
    return get_object_or_404(get_user_model(), pk=user_id, is_staff=True)


@require_POST
@staff_permission(MANAGE)
def staff_set_role(request: HttpRequest, user_id: int) -> HttpResponse:
    member = _staff_member(user_id)
    form = StaffRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role.")
        return redirect("control_center:staff_list")
    try:
        services.staff_set_role(actor=request.user, user_id=member.pk, role=form.cleaned_data["role"],
                                ip=client_ip(request))
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        label = dict(form.fields["role"].choices)[form.cleaned_data["role"]]
        messages.success(request, f"{member.get_username()}: {label}.")
    return redirect("control_center:staff_list")


@staff_permission(MANAGE)
def staff_totp_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    """Turn off someone else's two-factor sign-in (a lost phone and lost codes)."""
    member = _staff_member(user_id)
    form = PasswordConfirmForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                enrolment.totp_reset(actor=request.user, user=member, password=form.cleaned_data["password"],
                                     ip=client_ip(request))
            except ApplicationError as exc:
                form.add_error("password" if exc.fields else None, exc.detail)
            else:
                messages.success(request, f"Two-factor sign-in is off for {member.get_username()}; "
                                          "they should set it up again at their next login.")
                return redirect("control_center:staff_list")
        status = 400
    return render(request, "control_center/staff/totp_reset.html", {"member": member, "form": form}, status=status)
