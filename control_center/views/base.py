"""What every control-center view shares: the staff and permission gates, headers, paging,
the client IP."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.services import audit_record

from .. import roles, selectors
from ..roles import perm

PAGE_SIZE = 25

# Staff pages carry personal data: never cached, never framed, only our own scripts.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def secure_headers(response: HttpResponse) -> HttpResponse:
    response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response["Cache-Control"] = "no-store"
    response.setdefault("Referrer-Policy", "same-origin")
    return response


def is_staff_user(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def wants_fragment(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _sign_in_again(request: HttpRequest) -> HttpResponse:
    # A polling fetch gets 401, so the page can reload itself into the login form.
    if wants_fragment(request):
        return secure_headers(HttpResponse("Sign in again.", status=401))
    return secure_headers(redirect_to_login(request.get_full_path()))


def staff_required(view):
    """Signed-in, active staff, whatever their role: only the staff member's own account
    pages (two-factor sign-in) use it. Everything else asks for a permission."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not is_staff_user(request.user):
            return _sign_in_again(request)
        return secure_headers(view(request, *args, **kwargs))

    wrapper.required_permission = None
    return wrapper


def forbidden(
    request: HttpRequest, permission: str, *, audit_action: str = "staff.denied", target: tuple[str, str] | None = None
) -> HttpResponse:
    """403 with a page that says what was refused and which roles may do it; recorded in the
    audit log (against `target` (type, id) when given, else the staff member). Nothing else
    happens: the view never ran."""
    role = roles.role_of(request.user)
    target_type, target_id = target or ("user", str(request.user.pk))
    audit_record(
        actor=request.user,
        action=audit_action,
        target_type=target_type,
        target_id=target_id,
        after={"permission": permission, "method": request.method, "path": request.path[:200],
               "role": role.key if role else None},
        ip=client_ip(request),
    )
    if wants_fragment(request):
        return secure_headers(HttpResponse("Not allowed.", status=403))
    allowed = [r.label for r in roles.roles_allowed(permission)]
    context = {
        "action": roles.permission_label(permission),
        "role": role,
        "allowed_roles": allowed,
    }
    return secure_headers(render(request, "control_center/forbidden.html", context, status=403))


def _known(permission: str) -> str:
    app, _, codename = permission.partition(".")
    if app == roles.APP:
        perm(codename)  # a typo fails at import, not at the first request
    elif permission != roles.TRANSCRIPT:
        raise ValueError(f"not a control-center permission: {permission}")
    return permission


def staff_permission(
    permission: str,
    *,
    write: str | None = None,
    audit_action: str = "staff.denied",
    audit_target: tuple[str, str] | None = None,
):
    """The gate of every control-center page and form action: signed-in staff who hold
    `permission` (see roles.py). Anyone else gets the 403 page before the view runs.

    `write`: a page anyone with `permission` may read, whose form (POST) needs `write`
    too (the settings page). `audit_target` = (target type, URL keyword) records a
    refusal against the object the URL names (a refused transcript, against its session)."""
    _known(permission)
    if write is not None:
        _known(write)

    def decorate(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if not is_staff_user(request.user):
                return _sign_in_again(request)
            needed = write if write is not None and request.method not in ("GET", "HEAD") else permission
            if not (request.user.has_perm(permission) and request.user.has_perm(needed)):
                target = (audit_target[0], str(kwargs.get(audit_target[1], ""))) if audit_target else None
                missing = permission if not request.user.has_perm(permission) else needed
                return forbidden(request, missing, audit_action=audit_action, target=target)
            return secure_headers(view(request, *args, **kwargs))

        wrapper.required_permission = permission
        wrapper.required_write_permission = write or permission
        return wrapper

    return decorate


VIEW = perm("view_control_center")


def public_page(view):
    """The login pages: no staff gate, same headers."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        return secure_headers(view(request, *args, **kwargs))

    return wrapper


def paginate(request: HttpRequest, queryset, *, param: str = "page", per_page: int = PAGE_SIZE) -> Page:
    return Paginator(queryset, per_page).get_page(request.GET.get(param))


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def session_or_404(session_id):
    session = selectors.session_detail(session_id)
    if session is None:
        raise Http404("Session not found.")
    return session
