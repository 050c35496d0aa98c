"""The control center and admin exist only on the internal entrypoint."""

from __future__ import annotations

import pytest
from django.test import Client as DjangoClient
from django.urls import NoReverseMatch, reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/", "/login/", "/admin/", "/admin/login/", "/mitras/", "/dashboard/live/", "/settings/", "/audit/"]
)
def test_public_app_does_not_route_the_control_center(path, operator):
    web = DjangoClient()
    web.force_login(operator)  # even a signed-in staff member
    r = web.get(path)
    assert r.status_code == 404
    assert r.json() == {"code": "not_found", "detail": "Not found."}
    assert web.post("/login/", {"email": "a@b.c", "password": "x"}).status_code in (403, 404)


def test_public_urlconf_cannot_even_reverse_control_center_names():
    with pytest.raises(NoReverseMatch):
        reverse("control_center:dashboard")


@pytest.mark.urls("halobestie.urls_internal")
def test_internal_urlconf_routes_it():
    assert reverse("control_center:dashboard") == "/"
    assert DjangoClient().get("/login/").status_code == 200
