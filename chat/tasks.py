"""Thin Celery tasks for the session clock; each calls one guarded transition."""

from celery import shared_task

from .services import care, lifecycle


@shared_task(acks_late=True, ignore_result=True)
def session_reach_closing(session_id: str) -> bool:
    return lifecycle.session_begin_closing(session_id=session_id)


@shared_task(acks_late=True, ignore_result=True)
def session_reach_closed(session_id: str) -> bool:
    return lifecycle.session_close_after_goodbye(session_id=session_id)


@shared_task(acks_late=True, ignore_result=True)
def session_warn(session_id: str) -> bool:
    return lifecycle.session_send_warning(session_id=session_id)


@shared_task(acks_late=True, ignore_result=True)
def session_payment_timeout(session_id: str) -> bool:
    return lifecycle.session_cancel_unpaid(session_id=session_id)


@shared_task(acks_late=True, ignore_result=True)
def crisis_check_messages(stored: list[list]) -> None:
    """The crisis checks of stored client messages, [session id, message pk] each (a batch
    from one socket process, or one message of the ORM path)."""
    care.crisis_check_many(stored)
