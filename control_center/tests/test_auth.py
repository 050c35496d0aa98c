"""Staff login, logout, lockout, rate limits and the staff-only gate on every page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client as DjangoClient
from django.urls import reverse

from accounts.models import AuditLog
from control_center.auth import lockout
from control_center.models import StaffLoginFailure

from .factories import PASSWORD, make_staff

pytestmark = [pytest.mark.urls("halobestie.urls_internal"), pytest.mark.django_db]

LOGIN = "/login/"


def _login(web, email, password=PASSWORD, ip="10.0.0.1", **extra):
    return web.post(LOGIN, {"email": email, "password": password, **extra}, REMOTE_ADDR=ip)


def test_login_page_renders_with_csrf():
    web = DjangoClient(enforce_csrf_checks=True)
    r = web.get(LOGIN)
    assert r.status_code == 200
    assert b"csrfmiddlewaretoken" in r.content
    assert "frame-ancestors 'none'" in r["Content-Security-Policy"]
    # Without the token a POST is refused.
    assert web.post(LOGIN, {"email": "x@y.z", "password": "p"}).status_code == 403


def test_login_with_email_and_password_signs_in_and_audits(operator):
    web = DjangoClient()
    r = _login(web, operator.email.upper())
    assert r.status_code == 302 and r["Location"] == reverse("control_center:dashboard")
    assert web.get("/").status_code == 200
    row = AuditLog.objects.get(action="staff.login")
    assert row.actor == operator and row.ip_address == "10.0.0.1"
    # The session lasts as long as settings say.
    assert web.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


def test_login_follows_a_safe_next_only(operator):
    web = DjangoClient()
    r = web.post(f"{LOGIN}?next=/mitras/", {"email": operator.email, "password": PASSWORD})
    assert r["Location"] == "/mitras/"
    web = DjangoClient()
    r = web.post(f"{LOGIN}?next=https://evil.example/", {"email": operator.email, "password": PASSWORD})
    assert r["Location"] == "/"


def test_wrong_password_is_refused_and_counted(operator):
    web = DjangoClient()
    r = _login(web, operator.email, "nope")
    assert r.status_code == 400
    assert b"Email or password is incorrect." in r.content
    assert StaffLoginFailure.objects.filter(email=operator.email).count() == 1
    assert web.get("/").status_code == 302


def test_non_staff_cannot_sign_in_even_with_the_right_password(db):
    user = make_staff("outsider", staff=False)
    web = DjangoClient()
    r = _login(web, user.email)
    assert r.status_code == 400
    assert b"Email or password is incorrect." in r.content
    assert web.get("/").status_code == 302


def test_five_failures_lock_the_account_for_fifteen_minutes(operator):
    web = DjangoClient()
    for _ in range(4):
        assert _login(web, operator.email, "bad").status_code == 400
    r = _login(web, operator.email, "bad")
    assert b"locked for 15 minutes" in r.content
    lock = AuditLog.objects.get(action="staff.lockout")
    assert lock.target_id == operator.email
    # Locked: even the right password, from another IP, is refused.
    r = _login(web, operator.email, PASSWORD, ip="10.9.9.9")
    assert r.status_code == 403
    assert b"This account is locked" in r.content
    assert web.get("/").status_code == 302
    # Once the lock is over, the right password works and clears the failures.
    StaffLoginFailure.objects.update(created_at=lockout.timezone.now() - timedelta(minutes=16))
    assert _login(web, operator.email, PASSWORD, ip="10.9.9.9").status_code == 302
    assert not StaffLoginFailure.objects.filter(email=operator.email).exists()


def test_unknown_emails_lock_the_same_way(db):
    web = DjangoClient()
    for _ in range(5):
        _login(web, "nobody@halobestie.test", "bad")
    r = _login(web, "nobody@halobestie.test", "bad")
    assert r.status_code == 403 and b"This account is locked" in r.content


def test_rate_limit_per_ip_and_email(operator):
    """Even between successes, one IP cannot keep hammering one account."""
    web = DjangoClient()
    limit = lockout.RATE_PER_IP_EMAIL[0]
    for attempt in range(1, limit + 1):
        if attempt % 3:
            assert _login(web, operator.email, "bad").status_code == 400
        else:  # a success now and then keeps the account from locking
            assert _login(web, operator.email).status_code == 302
            web.post("/logout/")
    r = _login(web, operator.email)
    assert r.status_code == 429
    assert b"Too many login attempts" in r.content
    # Another IP is not limited by this one.
    assert _login(DjangoClient(), operator.email, ip="10.0.0.2").status_code == 302


def test_rate_limit_per_ip_across_emails(db):
    web = DjangoClient()
    for n in range(lockout.RATE_PER_IP[0]):
        assert _login(web, f"guess{n}@halobestie.test", "bad", ip="10.7.7.7").status_code == 400
    r = _login(web, "another@halobestie.test", "bad", ip="10.7.7.7")
    assert r.status_code == 429


def test_logout_is_post_only_and_audited(cc, operator):
    assert cc.get("/logout/").status_code == 405
    r = cc.post("/logout/")
    assert r.status_code == 302 and r["Location"] == LOGIN
    assert AuditLog.objects.filter(action="staff.logout", actor=operator).exists()
    assert cc.get("/").status_code == 302


STAFF_PAGES = [
    "/",
    "/dashboard/live/",
    "/mitras/",
    "/mitras/new/",
    "/clients/",
    "/sessions/",
    "/transactions/",
    "/transactions/attention/",
    "/tiers/",
    "/tiers/new/",
    "/settings/",
    "/audit/",
    "/account/two-factor/",
    "/reports/",
    "/staff/",
]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_every_page_is_staff_only(path, db):
    anonymous = DjangoClient()
    r = anonymous.get(path)
    assert r.status_code == 302 and r["Location"].startswith(f"{LOGIN}?next=")
    outsider = DjangoClient()
    outsider.force_login(make_staff("outsider", staff=False))
    r = outsider.get(path)
    assert r.status_code == 302 and r["Location"].startswith(LOGIN)


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_every_page_renders_for_staff(path, cc_admin):
    r = cc_admin.get(path)
    assert r.status_code == 200, path
    assert r["Cache-Control"] == "no-store"


def test_polling_fetch_gets_401_when_signed_out(db):
    r = DjangoClient().get("/dashboard/live/", HTTP_X_REQUESTED_WITH="fetch")
    assert r.status_code == 401


def test_writes_are_post_only(cc, operator):
    from accounts.models import Mitra

    mitra = Mitra.objects.create(phone="+628111111111", display_name="Sari")
    for path in (f"/mitras/{mitra.id}/active/", f"/mitras/{mitra.id}/force-offline/"):
        assert cc.get(path).status_code == 405
    mitra.refresh_from_db()
    assert mitra.is_active


def test_admin_login_goes_through_the_control_center_login(operator):
    """The admin's own login form would bypass the lockout and TOTP."""
    web = DjangoClient()
    r = web.get("/admin/")
    assert r.status_code == 302 and r["Location"].startswith("/admin/login/")
    r = web.get("/admin/login/?next=/admin/")
    assert r.status_code == 302 and r["Location"] == "/login/?next=/admin/"
    r = web.post("/admin/login/?next=/admin/", {"username": operator.email, "password": PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/login/?next=/admin/"
    assert web.get("/").status_code == 302  # not signed in by the admin form
    r = web.post("/login/?next=/admin/", {"email": operator.email, "password": PASSWORD})
    assert r["Location"] == "/admin/"
