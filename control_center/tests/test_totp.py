"""TOTP: the RFC 6238 vectors, enrolment (password again, recovery codes), login with a
code or a recovery code, replays, removal, an admin's reset, and transcripts."""

from __future__ import annotations

import base64
import re

import pytest
from django.test import Client as DjangoClient

from accounts.models import AuditLog
from control_center.auth import enrolment, recovery, totp
from control_center.models import StaffLoginFailure, StaffRecoveryCode, StaffTOTP

from .factories import PASSWORD, live_session

pytestmark = [pytest.mark.urls("halobestie.urls_internal"), pytest.mark.django_db]

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    "at, code",
    [
        (59, "287082"),
        (1111111109, "081804"),
        (1111111111, "050471"),
        (1234567890, "005924"),
        (2000000000, "279037"),
        (20000000000, "353130"),
    ],
)
def test_rfc6238_sha1_vectors(at, code):
    # RFC 6238 appendix B, last six digits of the eight-digit SHA-1 values.
    assert totp.totp(RFC_SECRET, at=at) == code


def test_codes_from_the_next_and_previous_step_are_accepted_but_no_further():
    secret = totp.new_secret()
    now = 1_700_000_000
    assert totp.matching_step(secret, totp.totp(secret, at=now - 30), at=now) == totp.current_step(now) - 1
    assert totp.matching_step(secret, totp.totp(secret, at=now + 30), at=now) == totp.current_step(now) + 1
    assert totp.matching_step(secret, totp.totp(secret, at=now - 90), at=now) is None
    assert totp.matching_step(secret, "12ab56", at=now) is None


def _recovery_codes(html: bytes) -> list[str]:
    block = html.decode().split('data-testid="recovery-codes"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r"<li>([a-z0-9-]+)</li>", block)


def _enrol(web, user) -> tuple[str, list[str]]:
    page = web.get("/account/two-factor/")
    assert page.status_code == 200
    secret = StaffTOTP.objects.get(user=user).secret
    assert secret.encode() in page.content
    r = web.post(
        "/account/two-factor/", {"action": "enrol", "enrol-password": PASSWORD, "enrol-code": totp.totp(secret)}
    )
    assert r.status_code == 200 and b"Two-factor sign-in is on" in r.content
    codes = _recovery_codes(r.content)
    assert len(codes) == recovery.COUNT
    return secret, codes


def _next_code(user, secret) -> str:
    return totp.hotp(secret, StaffTOTP.objects.get(user=user).last_used_step + 1)


def test_enrolment_asks_for_the_password_again_and_gives_recovery_codes(cc_supervisor, supervisor):
    page = cc_supervisor.get("/account/two-factor/")
    assert b"otpauth://totp/" in page.content
    secret = StaffTOTP.objects.get(user=supervisor).secret
    # A right code without the password: the session alone cannot turn it on.
    r = cc_supervisor.post("/account/two-factor/", {"action": "enrol", "enrol-code": totp.totp(secret)})
    assert r.status_code == 400 and totp.enrolled_totp(supervisor) is None
    r = cc_supervisor.post(
        "/account/two-factor/", {"action": "enrol", "enrol-password": "not it", "enrol-code": totp.totp(secret)}
    )
    assert r.status_code == 400 and b"Your password is not right." in r.content
    assert totp.enrolled_totp(supervisor) is None
    assert StaffLoginFailure.objects.filter(email=supervisor.email).count() == 1  # counted like a login
    # The refusal kept the secret the staff member already added to their app.
    assert StaffTOTP.objects.get(user=supervisor).secret == secret and secret.encode() in r.content
    r = cc_supervisor.post(
        "/account/two-factor/", {"action": "enrol", "enrol-password": PASSWORD, "enrol-code": "000000"}
    )
    assert r.status_code == 400 and b"That code is not right" in r.content
    assert totp.enrolled_totp(supervisor) is None

    _secret, codes = _enrol(cc_supervisor, supervisor)
    assert totp.enrolled_totp(supervisor) is not None
    assert len(set(codes)) == recovery.COUNT and all(re.fullmatch(r"([a-z2-9]{4}-){3}[a-z2-9]{4}", c) for c in codes)
    # At rest only digests: no stored value is a code, each code's digest is stored.
    stored = set(StaffRecoveryCode.objects.filter(user=supervisor).values_list("code_hash", flat=True))
    assert stored == {recovery.digest(c) for c in codes}
    assert not stored & {recovery.normalise(c) for c in codes}
    row = AuditLog.objects.get(action="staff.totp_enrol", actor=supervisor)
    assert row.after == {"recovery_codes": 10}
    page = cc_supervisor.get("/account/two-factor/").content
    assert b"Two-factor sign-in is <strong>on</strong>" in page and b"<strong>10</strong> of 10" in page
    # Shown once: the page never shows the codes again.
    assert not any(c.encode() in page for c in codes)


def test_login_asks_enrolled_staff_for_a_code(cc_supervisor, supervisor):
    secret, _codes = _enrol(cc_supervisor, supervisor)
    web = DjangoClient()
    r = web.post("/login/", {"email": supervisor.email, "password": PASSWORD})
    assert r.status_code == 302 and r["Location"].startswith("/login/code/")
    # Not signed in yet.
    assert web.get("/").status_code == 302
    r = web.post("/login/code/", {"code": "123456"})
    assert r.status_code == 400
    # The code used for enrolment cannot be replayed; the next step's code works.
    step = StaffTOTP.objects.get(user=supervisor).last_used_step
    r = web.post("/login/code/", {"code": totp.hotp(secret, step)})
    assert r.status_code == 400
    r = web.post("/login/code/", {"code": totp.hotp(secret, step + 1)})
    assert r.status_code == 302 and r["Location"] == "/"
    assert web.get("/").status_code == 200
    assert web.session[totp.SESSION_FLAG] is True
    assert AuditLog.objects.filter(action="staff.login", actor=supervisor, after={"totp": True}).exists()


def test_a_recovery_code_signs_in_once(cc_supervisor, supervisor):
    _secret, codes = _enrol(cc_supervisor, supervisor)
    web = DjangoClient()
    web.post("/login/", {"email": supervisor.email, "password": PASSWORD})
    r = web.post("/login/code/", {"code": codes[0]}, follow=True)
    assert r.redirect_chain[-1] == ("/", 302)
    assert b"You signed in with a recovery code; 9 left." in r.content
    assert web.session[totp.SESSION_FLAG] is True
    row = AuditLog.objects.get(action="staff.recovery_code_used", actor=supervisor)
    assert row.after == {"left": 9}
    assert codes[0].encode() not in str(row.after).encode()

    again = DjangoClient()
    again.post("/login/", {"email": supervisor.email, "password": PASSWORD})
    assert again.post("/login/code/", {"code": codes[0]}).status_code == 400  # spent
    assert again.get("/").status_code == 302
    # Typed loosely (capitals, spaces instead of dashes) another code still works.
    loose = codes[1].upper().replace("-", " ")
    assert again.post("/login/code/", {"code": loose}).status_code == 302
    assert recovery.recovery_codes_left(supervisor) == 8


def test_recovery_codes_are_per_person(cc_supervisor, supervisor, admin_staff):
    _secret, codes = _enrol(cc_supervisor, supervisor)
    other = DjangoClient()
    other.force_login(admin_staff)
    _enrol(other, admin_staff)
    web = DjangoClient()
    web.post("/login/", {"email": admin_staff.email, "password": PASSWORD})
    assert web.post("/login/code/", {"code": codes[0]}).status_code == 400
    assert recovery.recovery_codes_left(supervisor) == 10


def test_wrong_codes_lock_the_account(cc_supervisor, supervisor):
    _enrol(cc_supervisor, supervisor)
    web = DjangoClient()
    web.post("/login/", {"email": supervisor.email, "password": PASSWORD})
    for _ in range(4):
        assert web.post("/login/code/", {"code": "000000"}).status_code == 400
    r = web.post("/login/code/", {"code": "000000"})
    assert r.status_code == 302 and r["Location"] == "/login/"
    r = web.post("/login/", {"email": supervisor.email, "password": PASSWORD})
    assert r.status_code == 403 and b"locked" in r.content


def test_transcript_needs_a_verified_session_when_enrolled(supervisor):
    session = live_session()
    # Enrolled in another browser; this session signed in before (no second factor yet).
    row = enrolment.totp_begin_enrolment(user=supervisor)
    codes = enrolment.totp_confirm_enrolment(user=supervisor, password=PASSWORD, code=totp.totp(row.secret))
    web = DjangoClient()
    web.force_login(supervisor)
    r = web.get(f"/sessions/{session.id}/transcript/")
    assert r.status_code == 302 and r["Location"].startswith("/account/two-factor/verify/?next=")
    assert not AuditLog.objects.filter(action="transcript.view").exists()
    step = StaffTOTP.objects.get(user=supervisor).last_used_step
    r = web.post(r["Location"], {"code": totp.hotp(row.secret, step + 1)})
    assert r.status_code == 302 and r["Location"] == f"/sessions/{session.id}/transcript/"
    assert web.get(r["Location"]).status_code == 200
    assert AuditLog.objects.filter(action="transcript.view", actor=supervisor).count() == 1
    # A recovery code passes the step-up too (a new session, phone lost).
    web = DjangoClient()
    web.force_login(supervisor)
    verify = web.get(f"/sessions/{session.id}/transcript/")["Location"]
    assert web.post(verify, {"code": codes[0]}).status_code == 302
    assert web.get(f"/sessions/{session.id}/transcript/").status_code == 200
    assert AuditLog.objects.get(action="staff.totp_verify", actor=supervisor, after={"with": "recovery"})


def test_transcripts_can_require_enrolment_for_everyone(cc_supervisor, settings):
    settings.STAFF_TRANSCRIPT_REQUIRES_TOTP = True
    session = live_session()
    r = cc_supervisor.get(f"/sessions/{session.id}/transcript/")
    assert r.status_code == 302 and r["Location"] == "/account/two-factor/"


def _remove(web, password: str | None, code: str):
    data = {"action": "remove", "remove-code": code}
    if password is not None:
        data["remove-password"] = password
    return web.post("/account/two-factor/", data)


def test_removing_needs_the_password_and_a_current_code(cc_supervisor, supervisor):
    secret, _codes = _enrol(cc_supervisor, supervisor)
    # The session alone (no password, or a wrong one) cannot turn it off, even with a code.
    assert _remove(cc_supervisor, None, _next_code(supervisor, secret)).status_code == 400
    r = _remove(cc_supervisor, "guess", _next_code(supervisor, secret))
    assert r.status_code == 400 and b"Your password is not right." in r.content
    assert _remove(cc_supervisor, PASSWORD, "000000").status_code == 400
    assert totp.enrolled_totp(supervisor) is not None
    assert not AuditLog.objects.filter(action="staff.totp_remove").exists()

    r = _remove(cc_supervisor, PASSWORD, _next_code(supervisor, secret))
    assert r.status_code == 302
    assert not StaffTOTP.objects.filter(user=supervisor).exists()
    assert not StaffRecoveryCode.objects.filter(user=supervisor).exists()
    row = AuditLog.objects.get(action="staff.totp_remove")
    assert row.actor == supervisor and row.target_id == str(supervisor.pk) and row.after == {"with": "totp"}


def test_removing_with_a_recovery_code(cc_supervisor, supervisor):
    _secret, codes = _enrol(cc_supervisor, supervisor)
    assert _remove(cc_supervisor, PASSWORD, codes[3]).status_code == 302
    assert totp.enrolled_totp(supervisor) is None
    assert AuditLog.objects.get(action="staff.totp_remove").after == {"with": "recovery"}


def test_new_recovery_codes_void_the_old_ones(cc_supervisor, supervisor):
    secret, old = _enrol(cc_supervisor, supervisor)
    data = {"action": "recovery_codes", "recovery_codes-password": PASSWORD, "recovery_codes-code": "000000"}
    assert cc_supervisor.post("/account/two-factor/", data).status_code == 400
    data["recovery_codes-code"] = _next_code(supervisor, secret)
    r = cc_supervisor.post("/account/two-factor/", data)
    assert r.status_code == 200 and b"New recovery codes" in r.content
    new = _recovery_codes(r.content)
    assert len(new) == 10 and not set(new) & set(old)
    assert AuditLog.objects.filter(action="staff.recovery_codes_new", actor=supervisor).count() == 1
    web = DjangoClient()
    web.post("/login/", {"email": supervisor.email, "password": PASSWORD})
    assert web.post("/login/code/", {"code": old[0]}).status_code == 400
    assert web.post("/login/code/", {"code": new[0]}).status_code == 302


def test_wrong_passwords_on_the_two_factor_page_lock_the_account(cc_supervisor, supervisor):
    """A stolen session cannot guess the password there: it locks like the login form."""
    cc_supervisor.get("/account/two-factor/")
    secret = StaffTOTP.objects.get(user=supervisor).secret
    for n in range(5):
        data = {"action": "enrol", "enrol-password": f"guess {n}", "enrol-code": totp.totp(secret)}
        assert cc_supervisor.post("/account/two-factor/", data).status_code == 400
    r = cc_supervisor.post(
        "/account/two-factor/", {"action": "enrol", "enrol-password": PASSWORD, "enrol-code": totp.totp(secret)}
    )
    assert r.status_code == 400 and b"locked" in r.content and totp.enrolled_totp(supervisor) is None
    assert DjangoClient().post("/login/", {"email": supervisor.email, "password": PASSWORD}).status_code == 403


def test_an_admin_resets_a_lost_authenticator_with_their_own_password(cc_supervisor, supervisor, cc_admin, cc):
    _enrol(cc_supervisor, supervisor)
    url = f"/staff/{supervisor.pk}/two-factor/reset/"
    # Not an operator's (nor a supervisor's) to do.
    assert cc.post(url, {"password": PASSWORD}).status_code == 403
    assert cc_supervisor.post(url, {"password": PASSWORD}).status_code == 403
    assert cc_admin.get(url).status_code == 200
    r = cc_admin.post(url, {"password": "wrong"})
    assert r.status_code == 400 and totp.enrolled_totp(supervisor) is not None
    r = cc_admin.post(url, {"password": PASSWORD})
    assert r.status_code == 302 and totp.enrolled_totp(supervisor) is None
    assert not StaffRecoveryCode.objects.filter(user=supervisor).exists()
    row = AuditLog.objects.get(action="staff.totp_remove")
    assert row.actor == cc_admin.user and row.target_id == str(supervisor.pk)
    assert row.after == {"reset_by_admin": True}
