"""Crisis cases as staff work them: acknowledge / take / handled (audited), the on-call
notification for an unacknowledged `high` case (e-mail or webhook), the per-mitra limit on
live flagged sessions in the blast, the accept and the reroute, and the case page."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import AuditLog
from chat.models import CrisisCase, Session
from chat.services import triage
from chat.services.care import crisis_check_now
from chat.services.lifecycle import session_start_from_offer
from chat.services.messages import message_send
from halobestie.errors import ApplicationError
from halobestie.testing.fixtures import make_client, make_mitra
from pairing.models import PairingOffer
from pairing.selectors import available_mitras
from pairing.services import pairing_request_create

from .factories import live_session, make_staff

pytestmark = [pytest.mark.urls("halobestie.urls_internal"), pytest.mark.django_db]


def raise_case(session: Session, body: str = "aku udah siapin tali, malam ini aku pergi") -> CrisisCase:
    """The real path: a client message, then the crisis check that runs after its commit."""
    n = CrisisCase.objects.count() + Session.objects.get(pk=session.pk).messages.count()
    message, _ = message_send(session_id=session.id, sender=session.client, client_message_id=f"c{n}", body=body)
    return crisis_check_now(session_id=session.id, message_pk=message.pk)


def _actions(case):
    return list(AuditLog.objects.filter(target_id=str(case.pk)).order_by("id").values_list("action", "actor_label"))


def test_acknowledge_take_and_handle_are_recorded_with_who_and_when():
    case = raise_case(live_session())
    assert case.state == "new" and case.level == "high"
    ana, bo = make_staff("ana"), make_staff("bo")
    triage.case_acknowledge(case_id=case.pk, actor=ana)
    triage.case_claim(case_id=case.pk, actor=ana)
    with pytest.raises(ApplicationError, match="Already taken"):
        triage.case_claim(case_id=case.pk, actor=bo)
    triage.case_handle(case_id=case.pk, actor=ana)
    case.refresh_from_db()
    assert case.state == "handled"
    assert case.acknowledged_by == case.claimed_by == case.handled_by == ana
    assert case.acknowledged_at <= case.claimed_at <= case.handled_at
    assert _actions(case) == [("crisis_case.acknowledge", ana.email), ("crisis_case.claim", ana.email),
                              ("crisis_case.handle", ana.email)]
    with pytest.raises(ApplicationError, match="already handled"):
        triage.case_acknowledge(case_id=case.pk, actor=bo)


def test_marking_a_new_case_handled_acknowledges_it_too():
    case = raise_case(live_session())
    ana = make_staff("ana")
    triage.case_handle(case_id=case.pk, actor=ana)
    case.refresh_from_db()
    assert case.state == "handled" and case.acknowledged_by == case.handled_by == ana


def test_taking_a_new_case_acknowledges_it():
    case = raise_case(live_session())
    ana = make_staff("ana")
    triage.case_claim(case_id=case.pk, actor=ana)
    case.refresh_from_db()
    assert case.state == "acknowledged" and case.acknowledged_by == ana and case.claimed_by == ana


def test_escalation_puts_an_acknowledged_case_back_to_new():
    session = live_session()
    case = raise_case(session, "capek hidup, pengen udahan aja")
    assert case.level == "medium"
    triage.case_acknowledge(case_id=case.pk, actor=make_staff())
    escalated = raise_case(session, "aku udah beli racun, malam ini aku minum")
    assert escalated.pk == case.pk
    case.refresh_from_db()
    assert case.level == "high" and case.state == "new" and case.acknowledged_at is None and case.escalated_at


@pytest.mark.parametrize("channel", ["email", "webhook"])
def test_an_unacknowledged_high_case_notifies_on_call_once(channel, settings, httpserver):
    settings.CRISIS_ONCALL_CHANNEL = channel
    settings.CRISIS_ONCALL_EMAILS = ["oncall@halobestie.test"]
    settings.CRISIS_ONCALL_WEBHOOK_URL = httpserver.url_for("/hook")
    settings.CRISIS_ONCALL_AFTER_SECONDS = 120
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    session = live_session()
    case = raise_case(session)
    assert triage.crisis_oncall_sweep(now=timezone.now() + timedelta(seconds=60)) == 0     # not yet
    later = timezone.now() + timedelta(seconds=130)
    assert triage.crisis_oncall_sweep(now=later) == 1
    assert triage.crisis_oncall_sweep(now=later + timedelta(seconds=30)) == 0           # once
    if channel == "email":
        assert len(mail.outbox) == 1 and mail.outbox[0].to == ["oncall@halobestie.test"]
        text = mail.outbox[0].subject + mail.outbox[0].body
    else:
        assert len(httpserver.log) == 1
        text = httpserver.log[0][0].get_data(as_text=True)
        assert json.loads(text)["case_id"] == str(case.pk)
    assert str(case.pk) in text and "HIGH" in text
    assert "tali" not in text and session.client.display_name not in text                # no content, no name
    case.refresh_from_db()
    assert case.oncall_notified_at is not None
    assert ("crisis_case.oncall_notified", "system") in _actions(case)


def test_an_acknowledged_or_medium_case_never_pages_on_call(settings):
    settings.CRISIS_ONCALL_CHANNEL = "email"
    settings.CRISIS_ONCALL_EMAILS = ["oncall@halobestie.test"]
    acked = raise_case(live_session())
    triage.case_acknowledge(case_id=acked.pk, actor=make_staff())
    raise_case(live_session(), "capek hidup, pengen udahan aja")
    assert triage.crisis_oncall_sweep(now=timezone.now() + timedelta(hours=1)) == 0
    assert mail.outbox == []


def test_a_failed_delivery_is_retried_by_the_next_sweep(settings, httpserver):
    settings.CRISIS_ONCALL_CHANNEL = "webhook"
    settings.CRISIS_ONCALL_WEBHOOK_URL = httpserver.url_for("/hook")
    httpserver.expect_oneshot_request("/hook").respond_with_data("down", status=503)
    httpserver.expect_request("/hook").respond_with_data("ok")
    case = raise_case(live_session())
    later = timezone.now() + timedelta(seconds=600)
    assert triage.crisis_oncall_sweep(now=later) == 0
    case.refresh_from_db()
    assert case.oncall_notified_at is None
    assert triage.crisis_oncall_sweep(now=later) == 1


def test_a_mitra_holding_a_live_flagged_session_gets_no_offers_and_cannot_accept(settings):
    settings.CRISIS_MAX_FLAGGED_PER_MITRA = 1
    budi = make_mitra("Budi", online=True).user
    dina = make_mitra("Dina", online=True).user
    raise_case(live_session(mitra=budi))
    assert set(available_mitras().values_list("id", flat=True)) == {dina.id}
    request = pairing_request_create(client=make_client("Eko").user, free_trial=True)
    offered = set(PairingOffer.objects.filter(request=request).values_list("mitra_id", flat=True))
    assert offered == {dina.id}                                                          # the blast
    # Even with an offer from before the flag, the accept refuses under the lock.
    PairingOffer.objects.create(request=request, mitra=budi)
    with pytest.raises(ApplicationError, match="flagged"):
        session_start_from_offer(request_id=request.id, mitra=budi)
    assert session_start_from_offer(request_id=request.id, mitra=dina).mitra_id == dina.id
    settings.CRISIS_MAX_FLAGGED_PER_MITRA = 0                                            # 0 = no limit
    assert budi.id in set(available_mitras().values_list("id", flat=True))


def test_reroute_from_the_case_uses_the_session_reroute_and_respects_the_limit(settings):
    settings.CRISIS_MAX_FLAGGED_PER_MITRA = 1
    budi, dina, eka = (make_mitra(n, online=True).user for n in ("Budi", "Dina", "Eka"))
    case = raise_case(live_session(mitra=budi))
    raise_case(live_session(mitra=eka))                   # Eka already holds a flagged session
    staff = make_staff("supervisor")
    with pytest.raises(ApplicationError, match="flagged"):
        triage.case_reroute(case_id=case.pk, to_mitra=eka, actor=staff)
    session = triage.case_reroute(case_id=case.pk, to_mitra=dina, actor=staff)
    assert session.mitra_id == dina.id
    assert AuditLog.objects.filter(action="session.reroute", target_id=str(session.pk)).exists()
    assert AuditLog.objects.filter(action="crisis_case.reroute", target_id=str(case.pk)).exists()


def test_the_case_page_shows_the_flag_and_the_load_and_its_transcript_link_marks_the_message(client):
    from control_center.selectors_crisis import case_view

    budi, dina = make_mitra("Budi", online=True).user, make_mitra("Dina", online=True).user
    live_session(mitra=dina)                                       # Dina: 1 live, 0 flagged
    session = live_session(mitra=budi)
    message_send(session_id=session.id, sender=budi, client_message_id="m1", body="halo, aku di sini")
    case = raise_case(session)
    view = case_view(case)
    assert view.mitra_last_reply_at is not None and not view.mitra_replied_since_flag
    assert view.seconds_left is not None and view.seconds_left > 0
    assert [(m.display_name, m.live_load, m.flagged_load) for m in view.candidates] == [("Dina", 1, 0)]
    supervisor = make_staff("supervisor")
    client.force_login(supervisor)
    page = client.get(f"/crisis/{case.pk}/").content.decode()
    assert "aku udah siapin tali" not in page                      # no text on the case page itself
    assert f"/sessions/{session.id}/transcript/?case={case.pk}" in page
    transcript = client.get(f"/sessions/{session.id}/transcript/?case={case.pk}").content.decode()
    marked = transcript.split('data-testid="flagged-message"')[1].split("</div>\n    </div>")[0]
    assert "aku udah siapin tali" in marked and "halo, aku di sini" not in marked
    audit = AuditLog.objects.get(action="transcript.view", actor=supervisor, target_id=str(session.pk))
    assert audit.after == {"case": str(case.pk)}
    operator = make_staff("operator")
    client.force_login(operator)
    page = client.get(f"/crisis/{case.pk}/").content.decode()
    assert "transcript/?case=" not in page and "permission" in page
    assert client.get(f"/sessions/{session.id}/transcript/?case={case.pk}").status_code == 403
    assert client.get("/crisis/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_on_call_without_recipients_sends_nothing_and_keeps_the_case_pending(settings):
    settings.CRISIS_ONCALL_CHANNEL = "email"
    settings.CRISIS_ONCALL_EMAILS = []
    case = raise_case(live_session())
    assert triage.crisis_oncall_sweep(now=timezone.now() + timedelta(hours=1)) == 0
    case.refresh_from_db()
    assert case.oncall_notified_at is None and mail.outbox == []
