"""The server accepts exactly what the schema says (what an outside schemathesis
`--checks all` found loose), answered in the contract's 400 shape."""

from __future__ import annotations

import pytest

from halobestie.testing.fixtures import make_mitra, send_message, start_trial_session

pytestmark = pytest.mark.django_db


def fields_of(r) -> set[str]:
    assert r.status_code == 400, (r.status_code, r.content)
    body = r.json()
    assert body["code"] == "validation_error"
    return set(body["fields"])


def test_strings_are_strings_and_measured_as_sent(client_ani):
    assert fields_of(client_ani.api.patch("/api/client/me", {"display_name": 0}, format="json")) == {"display_name"}
    assert fields_of(client_ani.api.patch("/api/client/me", {"display_name": "a" + " " * 60},
                                          format="json")) == {"display_name"}
    assert fields_of(client_ani.api.patch("/api/client/me", {"display_name": "\x1c\u3000"},
                                          format="json")) == {"display_name"}
    r = client_ani.api.patch("/api/client/me", {"display_name": "  Ani  "}, format="json")
    assert r.status_code == 200 and r.json()["display_name"] == "Ani"  # still trimmed


def test_booleans_integers_and_uuids_are_not_coerced(client_ani, client_citra):
    make_mitra("Budi", online=True)
    assert fields_of(client_ani.api.post("/api/client/pairing-requests", {"free_trial": "true"},
                                         format="json")) == {"free_trial"}
    assert fields_of(client_ani.api.post("/api/client/pairing-requests", {"tier_id": 7, "free_trial": False},
                                         format="json")) == {"tier_id"}
    assert fields_of(client_ani.api.post(
        "/api/client/pairing-requests", {"tier_id": "0" * 32, "free_trial": False}, format="json")) == {"tier_id"}
    session = start_trial_session(client_citra, make_mitra("Eko", online=True))
    url = f"/api/client/sessions/{session['id']}"
    assert client_citra.api.get(url.replace("-", "")).status_code == 404  # bare hex is not an id
    client_citra.api.post(f"{url}/end", format="json")
    assert fields_of(client_citra.api.post(f"{url}/feedback", {"rating": "5"}, format="json")) == {"rating"}
    assert fields_of(client_citra.api.post(f"{url}/feedback", {"rating": 5.0}, format="json")) == {"rating"}


def test_message_bodies_need_a_visible_character(client_ani, mitra_budi):
    sid = start_trial_session(client_ani, mitra_budi)["id"]
    for body in (" ", "\x1c\x1d", "\u2003"):
        r = client_ani.api.post(f"/api/client/sessions/{sid}/messages", {"client_message_id": f"x{body!r}",
                                                                         "body": body}, format="json")
        assert fields_of(r) == {"body"}


def test_query_numbers_are_digits_and_empty_means_absent(client_ani, mitra_budi):
    sid = start_trial_session(client_ani, mitra_budi)["id"]
    for limit in ("5_0", "+5", " 5"):
        assert fields_of(client_ani.api.get(f"/api/client/sessions?limit={limit}")) == {"limit"}
    assert fields_of(client_ani.api.get(f"/api/client/sessions/{sid}/messages?after_seq=1_0")) == {"after_seq"}
    assert client_ani.api.get("/api/client/sessions?state=&cursor=&limit=").status_code == 200


def test_sessions_cursor_has_the_documented_form_and_any_such_cursor_pages(client_ani, mitra_budi):
    from django.utils import timezone

    from chat.models import Session

    sid = start_trial_session(client_ani, mitra_budi)["id"]
    send_message(client_ani, sid, "halo")
    client_ani.api.post(f"/api/client/sessions/{sid}/end", format="json")
    for _ in range(2):  # two more past sessions of Ani's (the free trial is once)
        Session.objects.create(client=client_ani.user, mitra=mitra_budi.user, minutes=15, state="closed",
                               matched_at=timezone.now(), closed_at=timezone.now())
    first = client_ani.api.get("/api/client/sessions?limit=2").json()
    import re

    from chat.selectors import CURSOR_PATTERN

    assert re.match(CURSOR_PATTERN, first["next"])
    rest = client_ani.api.get(f"/api/client/sessions?limit=2&cursor={first['next']}").json()
    assert len(first["results"]) == 2 and len(rest["results"]) == 1 and rest["next"] is None
    assert {s["id"] for s in first["results"]}.isdisjoint({s["id"] for s in rest["results"]})
    # A well-formed cursor naming nothing pages from that point instead of failing.
    r = client_ani.api.get("/api/client/sessions?cursor=0000000000000001_" + "0" * 32)
    assert r.status_code == 200 and r.json() == {"results": [], "next": None}
    assert fields_of(client_ani.api.get("/api/client/sessions?cursor=nonsense")) == {"cursor"}


def test_an_optional_body_may_be_json_null_as_the_schema_says(client_ani):
    r = client_ani.api.generic("POST", "/api/client/auth/session", "null", content_type="application/json")
    assert r.status_code == 200
