"""Staff login (email + password, then a TOTP or recovery code when enrolled), logout,
two-factor enrolment (password again, recovery codes) and the step-up check that
transcript pages ask for."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.services import audit_record
from halobestie.errors import ApplicationError

from ..auth import enrolment, lockout, recovery, totp
from ..forms import LoginForm, SecondFactorChangeForm, TotpCodeForm, apply_error
from .base import client_ip, is_staff_user, public_page, staff_required

PENDING_KEY = "cc_pending_login"
PENDING_SECONDS = 5 * 60
BAD_CREDENTIALS = "Email or password is incorrect."


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _find_staff_username(email: str) -> str:
    """Staff sign in with their email; usernames are emails in seed_demo, but an account
    whose username differs is found by its email field too."""
    User = get_user_model()
    user = User.objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).order_by("id").first()
    return user.get_username() if user else email


def _complete_login(request: HttpRequest, user, *, backend: str | None, email: str, via_totp: bool) -> None:
    auth_login(request, user, backend=backend)
    if via_totp:
        totp.mark_session_verified(request)
    lockout.login_succeeded(email=email)
    audit_record(
        actor=user,
        action="staff.login",
        target=user,
        target_type="user",
        after={"totp": via_totp},
        ip=client_ip(request),
    )


def _refusal_status(refusal: lockout.LoginRefusal) -> int:
    return 429 if refusal.reason == "rate_limited" else 403


@public_page
def login_view(request: HttpRequest) -> HttpResponse:
    if is_staff_user(request.user):
        return redirect(_next_url(request))
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        email = lockout.normalise_email(form.cleaned_data["email"])
        ip = client_ip(request)
        refusal = lockout.login_check(email=email, ip=ip)
        if refusal is not None:
            form.add_error(None, refusal.message)
            status = _refusal_status(refusal)
        else:
            user = authenticate(request, username=_find_staff_username(email), password=form.cleaned_data["password"])
            if user is None or not user.is_staff:
                locked_until = lockout.login_failed(email=email, ip=ip)
                form.add_error(
                    None,
                    BAD_CREDENTIALS
                    if locked_until is None
                    else BAD_CREDENTIALS + f" The account is now locked for {lockout.lock_seconds() // 60} minutes.",
                )
                status = 400
            elif totp.enrolled_totp(user) is not None:
                request.session[PENDING_KEY] = {
                    "user_id": user.pk,
                    "backend": user.backend,
                    "email": email,
                    "at": time.time(),
                }
                return redirect(reverse("control_center:login_totp") + "?" + urlencode({"next": _next_url(request)}))
            else:
                _complete_login(request, user, backend=user.backend, email=email, via_totp=False)
                return redirect(_next_url(request))
    return render(request, "control_center/auth/login.html", {"form": form, "next": _next_url(request)}, status=status)


@public_page
def login_totp_view(request: HttpRequest) -> HttpResponse:
    """Second step of a login for staff with TOTP enrolled."""
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        messages.info(request, "Sign in again.")
        return redirect("control_center:login")
    form = TotpCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        email, ip = pending["email"], client_ip(request)
        user = get_user_model().objects.filter(pk=pending["user_id"], is_active=True, is_staff=True).first()
        refusal = lockout.login_check(email=email, ip=ip)
        if refusal is not None or user is None:
            request.session.pop(PENDING_KEY, None)
            messages.error(request, refusal.message if refusal else "Sign in again.")
            return redirect("control_center:login")
        used = totp.second_factor_verify(user=user, code=form.cleaned_data["code"], ip=ip)
        if used is not None:
            request.session.pop(PENDING_KEY, None)
            _complete_login(request, user, backend=pending["backend"], email=email, via_totp=True)
            if used == "recovery":
                _recovery_code_spent(request, user)
            return redirect(_next_url(request))
        if lockout.login_failed(email=email, ip=ip) is not None:
            request.session.pop(PENDING_KEY, None)
            messages.error(request, "Too many wrong codes: the account is locked for a while.")
            return redirect("control_center:login")
        form.add_error("code", "That code is not right (or was already used). Try the next one, or a recovery code.")
        status = 400
    return render(
        request, "control_center/auth/totp_login.html", {"form": form, "next": _next_url(request)}, status=status
    )


@require_POST
@public_page
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit_record(
            actor=request.user, action="staff.logout", target=request.user, target_type="user", ip=client_ip(request)
        )
    auth_logout(request)
    messages.info(request, "You are signed out.")
    return redirect("control_center:login")


def _recovery_code_spent(request: HttpRequest, user) -> None:
    left = recovery.recovery_codes_left(user)
    messages.warning(
        request,
        f"You signed in with a recovery code; {left} left. "
        "If your phone is lost, turn two-factor sign-in off and on again with a new phone.",
    )


def _show_recovery_codes(request: HttpRequest, codes: list[str], *, first: bool) -> HttpResponse:
    # Rendered straight from the POST (no redirect): the codes are never stored anywhere
    # in plain text, not even in the session. The page is no-store like every staff page.
    return render(request, "control_center/auth/recovery_codes.html", {"codes": codes, "first": first})


@staff_required
def totp_setup_view(request: HttpRequest) -> HttpResponse:
    """Two-factor sign-in: enrol (the secret, then password + one code), or, once on,
    new recovery codes or turning it off (password + a code each time)."""
    user, ip = request.user, client_ip(request)
    enrolled = totp.enrolled_totp(user)
    action = request.POST.get("action", "")
    forms_by_action = {
        name: SecondFactorChangeForm(request.POST if request.method == "POST" and action == name else None, prefix=name)
        for name in (("remove", "recovery_codes") if enrolled else ("enrol",))
    }
    status = 200
    if request.method == "POST" and action in forms_by_action:
        form = forms_by_action[action]
        if form.is_valid():
            password, code = form.cleaned_data["password"], form.cleaned_data["code"]
            try:
                if action == "enrol":
                    codes = enrolment.totp_confirm_enrolment(user=user, password=password, code=code, ip=ip)
                    totp.mark_session_verified(request)
                    return _show_recovery_codes(request, codes, first=True)
                if action == "recovery_codes":
                    codes = enrolment.recovery_codes_regenerate(user=user, password=password, code=code, ip=ip)
                    return _show_recovery_codes(request, codes, first=False)
                enrolment.totp_remove(user=user, password=password, code=code, ip=ip)
            except ApplicationError as exc:
                apply_error(form, exc)
            else:
                request.session.pop(totp.SESSION_FLAG, None)
                messages.success(request, "Two-factor sign-in removed.")
                return redirect("control_center:totp_setup")
        status = 400
    context = {"forms": forms_by_action, "enrolled": enrolled is not None}
    if enrolled is None:
        row = enrolment.totp_begin_enrolment(user=user, fresh=request.method != "POST")
        context.update(secret=row.secret, uri=totp.provisioning_uri(row.secret, user.get_username()))
    else:
        context["codes_left"] = recovery.recovery_codes_left(user)
    return render(request, "control_center/auth/totp_setup.html", context, status=status)


@staff_required
def totp_verify_view(request: HttpRequest) -> HttpResponse:
    """Step-up: prove the second factor in this session (transcripts ask for it)."""
    if totp.enrolled_totp(request.user) is None:
        messages.info(request, "Set up two-factor sign-in first.")
        return redirect("control_center:totp_setup")
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email, ip = lockout.normalise_email(request.user.get_username()), client_ip(request)
        refusal = lockout.login_check(email=email, ip=ip)
        if refusal is not None:
            form.add_error(None, refusal.message)
        elif (used := totp.second_factor_verify(user=request.user, code=form.cleaned_data["code"], ip=ip)) is not None:
            totp.mark_session_verified(request)
            audit_record(
                actor=request.user,
                action="staff.totp_verify",
                target=request.user,
                target_type="user",
                after={"with": used},
                ip=ip,
            )
            if used == "recovery":
                _recovery_code_spent(request, request.user)
            return redirect(_next_url(request))
        else:
            lockout.login_failed(email=email, ip=ip)
            form.add_error("code", "That code is not right (or was already used).")
    return render(request, "control_center/auth/totp_verify.html", {"form": form, "next": _next_url(request)})
