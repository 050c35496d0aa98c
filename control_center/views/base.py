"""What every control-center view shares: the staff gate, headers, paging, the client IP."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse

from .. import selectors

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


def staff_required(view):
    """Signed-in, active staff only. Others go to the login page (a polling fetch gets 401,
    so the page can reload itself into the login form when the session expired)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not is_staff_user(request.user):
            if wants_fragment(request):
                return secure_headers(HttpResponse("Sign in again.", status=401))
            return secure_headers(redirect_to_login(request.get_full_path()))
        return secure_headers(view(request, *args, **kwargs))

    return wrapper


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
