"""Test data for the control center: staff users and sessions made through the services."""

from __future__ import annotations

import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import Client, Mitra
from chat.models import Session
from chat.services.lifecycle import session_start_from_offer
from control_center.roles import BY_KEY
from halobestie.testing.fixtures import make_client, make_mitra
from pairing.services import pairing_request_create

PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)


_FROM_NAME = object()


def make_staff(name: str = "operator", *, role: str | None = _FROM_NAME, staff: bool = True, password: str = PASSWORD):
    """A staff login with a role: by default the one its name says ("supervisor"), else
    operator; `role=None` for a login without any."""
    email = f"{name}{next(_numbers)}@halobestie.test"
    user = get_user_model().objects.create_user(
        username=email, email=email, password=password, first_name=name.capitalize(), is_staff=staff
    )
    if role is _FROM_NAME:
        role = name if name in BY_KEY else "operator"
    if role is not None:
        user.groups.add(Group.objects.get(name=BY_KEY[role].group))
    return user


def live_session(*, client: Client | None = None, mitra: Mitra | None = None, tier=None) -> Session:
    """A session made the way the apps make one: a request, then an accept.

    Free trial unless a tier is given (then it waits for payment)."""
    client = client or make_client(f"Klien{next(_numbers)}").user
    mitra = mitra or make_mitra(f"Mitra{next(_numbers)}", online=True).user
    if tier is None:
        request = pairing_request_create(client=client, free_trial=True)
    else:
        request = pairing_request_create(client=client, tier_id=str(tier.id))
    return session_start_from_offer(request_id=request.id, mitra=mitra)


def flag(session: Session, level: str = "high") -> Session:
    """Stand-in for the care issue's crisis check: mark the session flagged."""
    Session.objects.filter(pk=session.pk).update(risk_level=level, first_flagged_at=timezone.now())
    session.refresh_from_db()
    return session
