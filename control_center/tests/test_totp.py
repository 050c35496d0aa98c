"""TOTP: the RFC 6238 vectors, enrolment, login with a code, replays, and transcripts."""

from __future__ import annotations

import base64

import pytest
from django.test import Client as DjangoClient

from accounts.models import AuditLog
from control_center.auth import totp
from control_center.models import StaffTOTP

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


def _enrol(web, user) -> str:
    page = web.get("/account/two-factor/")
    assert page.status_code == 200
    secret = StaffTOTP.objects.get(user=user).secret
    assert secret.encode() in page.content
    r = web.post("/account/two-factor/", {"code": totp.totp(secret)})
    assert r.status_code == 302
    return secret


def test_enrolment_confirms_with_a_code_and_audits(cc_supervisor, supervisor):
    page = cc_supervisor.get("/account/two-factor/")
    assert b"otpauth://totp/" in page.content
    r = cc_supervisor.post("/account/two-factor/", {"code": "000000"})
    assert r.status_code == 200 and b"That code is not right" in r.content
    assert totp.enrolled_totp(supervisor) is None
    _enrol(cc_supervisor, supervisor)
    assert totp.enrolled_totp(supervisor) is not None
    assert AuditLog.objects.filter(action="staff.totp_enrol", actor=supervisor).exists()
    assert b"Two-factor sign-in is <strong>on</strong>" in cc_supervisor.get("/account/two-factor/").content


def test_login_asks_enrolled_staff_for_a_code(cc_supervisor, supervisor):
    secret = _enrol(cc_supervisor, supervisor)
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
    row = totp.totp_begin_enrolment(user=supervisor)
    assert totp.totp_confirm_enrolment(user=supervisor, code=totp.totp(row.secret))
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


def test_transcripts_can_require_enrolment_for_everyone(cc_supervisor, settings):
    settings.STAFF_TRANSCRIPT_REQUIRES_TOTP = True
    session = live_session()
    r = cc_supervisor.get(f"/sessions/{session.id}/transcript/")
    assert r.status_code == 302 and r["Location"] == "/account/two-factor/"


def test_removing_totp_needs_a_current_code(cc_supervisor, supervisor):
    secret = _enrol(cc_supervisor, supervisor)
    step = StaffTOTP.objects.get(user=supervisor).last_used_step
    r = cc_supervisor.post("/account/two-factor/", {"action": "remove", "code": "000000"})
    assert r.status_code == 200 and totp.enrolled_totp(supervisor) is not None
    r = cc_supervisor.post("/account/two-factor/", {"action": "remove", "code": totp.hotp(secret, step + 1)})
    assert r.status_code == 302
    assert not StaffTOTP.objects.filter(user=supervisor).exists()
    assert AuditLog.objects.filter(action="staff.totp_remove").exists()
