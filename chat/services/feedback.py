from django.db import IntegrityError, transaction

from halobestie.errors import ApplicationError

from ..models import Feedback, Session
from ..selectors import session_for


def feedback_leave(*, client, session_id, rating: int, comment: str = "") -> Feedback:
    """Once per session, after it is closed."""
    session = session_for(client, session_id)
    if session.state != Session.State.CLOSED:
        raise ApplicationError("invalid_state", "Feedback opens when the session is closed.")
    try:
        with transaction.atomic():
            return Feedback.objects.create(session=session, mitra_id=session.mitra_id, rating=rating,
                                           comment=(comment or "").strip()[:1000])
    except IntegrityError:
        raise ApplicationError("conflict", "Feedback was already given for this session.") from None
