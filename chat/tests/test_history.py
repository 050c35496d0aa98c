"""History and reconnection: session lists, message cursors, transcripts."""

from datetime import timedelta

import pytest

from accounts.models import Client
from chat.models import Message, Session
from halobestie.testing.fixtures import make_client, make_mitra, send_message, start_trial_session

pytestmark = pytest.mark.django_db

SESSION_KEYS = {"id", "state", "client", "mitra", "free_trial", "started_at", "ends_at", "closing_ends_at",
                "closed_at", "server_time", "payment", "pending_extension", "closure", "can_end_early"}


def page(actor, path, **params):
    r = actor.api.get(path, params)
    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == {"results", "next"}
    return body


def walk(actor, path, key, start=None, **params) -> tuple[list[str], int]:
    """Follow `next` to the end; returns the ids and how many pages it took."""
    ids, pages, cursor = [], 0, start
    while True:
        body = page(actor, path, **params, **({key: cursor} if cursor else {}))
        pages += 1
        ids += [item["id"] for item in body["results"]]
        cursor = body["next"]
        if cursor is None:
            return ids, pages
        assert body["results"], "next given for an empty page"


@pytest.fixture
def chat(client_ani, mitra_budi):
    sid = start_trial_session(client_ani, mitra_budi)["id"]
    # 1 system message + 11 from the two sides.
    for i in range(11):
        actor = client_ani if i % 2 == 0 else mitra_budi
        send_message(actor, sid, f"pesan {i}", f"k{i}")
    return sid


def test_messages_in_creation_order_with_default_limit(client_ani, chat):
    body = page(client_ani, f"/api/client/sessions/{chat}/messages")
    assert body["next"] is None
    assert [m["body"] for m in body["results"]][1:] == [f"pesan {i}" for i in range(11)]
    assert body["results"][0]["sender"] == "system"
    seqs = list(Message.objects.filter(session_id=chat).order_by("seq").values_list("id", flat=True))
    assert [m["id"] for m in body["results"]] == [str(s) for s in seqs]


@pytest.mark.parametrize("limit", [1, 5, 6, 12, 13, 200])
def test_after_cursor_walks_everything_without_gaps_or_duplicates(mitra_budi, chat, limit):
    all_ids = [str(i) for i in Message.objects.filter(session_id=chat).order_by("seq").values_list("id", flat=True)]
    ids, pages = walk(mitra_budi, f"/api/mitra/sessions/{chat}/messages", "after", limit=limit)
    assert ids == all_ids
    assert pages == max(1, -(-len(all_ids) // limit))  # next is null exactly when nothing is left


def test_next_is_null_exactly_when_no_more(client_ani, chat):
    body = page(client_ani, f"/api/client/sessions/{chat}/messages", limit=12)
    assert len(body["results"]) == 12 and body["next"] is None
    body = page(client_ani, f"/api/client/sessions/{chat}/messages", limit=11)
    assert len(body["results"]) == 11 and body["next"] == body["results"][-1]["id"]
    last = body["next"]
    tail = page(client_ani, f"/api/client/sessions/{chat}/messages", after=last)
    assert len(tail["results"]) == 1 and tail["next"] is None
    newest = tail["results"][0]["id"]
    assert page(client_ani, f"/api/client/sessions/{chat}/messages", after=newest) == {"results": [], "next": None}


def test_before_cursor_scrolls_back(client_ani, chat):
    all_ids = [str(i) for i in Message.objects.filter(session_id=chat).order_by("seq").values_list("id", flat=True)]
    newest = all_ids[-1]
    body = page(client_ani, f"/api/client/sessions/{chat}/messages", before=newest, limit=5)
    assert [m["id"] for m in body["results"]] == all_ids[-6:-1]  # still in creation order
    assert body["next"] == all_ids[-6]
    collected = [m["id"] for m in body["results"]]
    cursor = body["next"]
    while cursor:
        body = page(client_ani, f"/api/client/sessions/{chat}/messages", before=cursor, limit=5)
        collected = [m["id"] for m in body["results"]] + collected
        cursor = body["next"]
    assert collected == all_ids[:-1]
    # Exactly at the start: nothing more.
    assert page(client_ani, f"/api/client/sessions/{chat}/messages", before=all_ids[0]) == {"results": [],
                                                                                             "next": None}


def test_reconnect_and_catch_up_fetches_exactly_what_was_missed(client_ani, mitra_budi, chat):
    seen = page(client_ani, f"/api/client/sessions/{chat}/messages")["results"]
    last_seen = seen[-1]["id"]
    # While the client is away:
    missed = [send_message(mitra_budi, chat, f"kamu di mana {i}", f"away{i}")["id"] for i in range(7)]
    ids, _ = walk(client_ani, f"/api/client/sessions/{chat}/messages", "after", start=last_seen, limit=3)
    assert ids == missed


@pytest.mark.parametrize("params,field", [
    ({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"limit": "abc"}, "limit"),
    ({"after": "not-an-id"}, "after"), ({"before": "00000000-0000-0000-0000-000000000000"}, "before"),
    ({"after": "A", "before": "A"}, "after"),
])
def test_message_page_validation(client_ani, chat, params, field):
    anchor = str(Message.objects.filter(session_id=chat).first().id)
    params = {k: (anchor if v == "A" else v) for k, v in params.items()}
    r = client_ani.api.get(f"/api/client/sessions/{chat}/messages", params)
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error" and field in r.json()["fields"]


def test_a_message_id_of_another_session_is_not_a_cursor_here(client_ani, chat):
    other = start_trial_session(make_client("Citra"), make_mitra("Eko", online=True))["id"]
    foreign = str(Message.objects.filter(session_id=other).first().id)
    r = client_ani.api.get(f"/api/client/sessions/{chat}/messages", {"after": foreign})
    assert r.status_code == 400


def test_transcript(client_ani, mitra_budi, chat):
    for actor, role in ((client_ani, "client"), (mitra_budi, "mitra")):
        r = actor.api.get(f"/api/{role}/sessions/{chat}/transcript")
        assert r.status_code == 200
        body = r.json()
        assert set(body) == {"session", "messages"}
        assert body["session"]["id"] == chat and set(body["session"]) >= SESSION_KEYS
        assert len(body["messages"]) == 12
        assert [m["body"] for m in body["messages"]][1:] == [f"pesan {i}" for i in range(11)]


def test_session_lists_live_and_past_with_cursor_paging(mitra_budi):
    ani = make_client("Ani")
    ended = []
    for _ in range(5):
        sid = start_trial_session(ani, mitra_budi)["id"]
        assert ani.api.post(f"/api/client/sessions/{sid}/end").status_code == 200
        ended.append(sid)
        Client.objects.filter(pk=ani.id).update(free_trial_used=False)  # one trial each time
    live = start_trial_session(ani, mitra_budi)["id"]
    # Make creation times distinct and known, newest first in the lists.
    sessions = [*ended, live]
    base = Session.objects.get(pk=live).created_at
    for age, sid in enumerate(reversed(sessions)):
        Session.objects.filter(pk=sid).update(created_at=base - timedelta(minutes=age))

    assert [s["id"] for s in page(ani, "/api/client/sessions", state="live")["results"]] == [live]
    assert [s["id"] for s in page(mitra_budi, "/api/mitra/sessions", state="live")["results"]] == [live]
    past, pages = walk(ani, "/api/client/sessions", "cursor", state="past", limit=2)
    assert past == list(reversed(ended)) and pages == 3
    everything, _ = walk(mitra_budi, "/api/mitra/sessions", "cursor", limit=4)
    assert everything == list(reversed(sessions))
    one = page(ani, "/api/client/sessions", state="past")["results"][0]
    assert set(one) >= SESSION_KEYS
    assert one["state"] == "closed" and one["closure"]["closed_by"] == "client"
    # Same created_at for two sessions: the id breaks the tie, still no gap or duplicate.
    Session.objects.filter(pk__in=ended[:2]).update(created_at=base - timedelta(hours=1))
    past, _ = walk(ani, "/api/client/sessions", "cursor", state="past", limit=1)
    assert sorted(past) == sorted(ended) and len(past) == 5


def test_session_list_validation_and_privacy(client_ani, mitra_budi):
    start_trial_session(client_ani, mitra_budi)
    r = client_ani.api.get("/api/client/sessions", {"state": "old"})
    assert r.status_code == 400 and "state" in r.json()["fields"]
    r = client_ani.api.get("/api/client/sessions", {"cursor": "garbage!"})
    assert r.status_code == 400
    assert page(make_client("Citra"), "/api/client/sessions") == {"results": [], "next": None}
    assert page(make_mitra("Eko"), "/api/mitra/sessions") == {"results": [], "next": None}


def test_session_detail_per_role(client_ani, mitra_budi):
    sid = start_trial_session(client_ani, mitra_budi)["id"]
    as_client = client_ani.api.get(f"/api/client/sessions/{sid}").json()
    as_mitra = mitra_budi.api.get(f"/api/mitra/sessions/{sid}").json()
    assert set(as_client) >= SESSION_KEYS
    assert as_client["client"] == {"id": str(client_ani.id), "alias": client_ani.user.alias}
    assert as_mitra["client"]["alias"] == client_ani.user.alias
    assert "Ani" not in str(as_mitra["client"])
    assert as_client["mitra"] == {"id": str(mitra_budi.id), "display_name": "Budi", "photo_url": None}
    assert as_client["can_end_early"] is True and as_client["payment"] is None
    # What a mitra sees of the client follows the anonymity setting; the client's own view does not.
    from halobestie.testing.fixtures import set_platform_settings

    set_platform_settings(client_identity_for_mitra="display_name")
    assert mitra_budi.api.get(f"/api/mitra/sessions/{sid}").json()["client"]["alias"] == "Ani"
    assert client_ani.api.get(f"/api/client/sessions/{sid}").json()["client"]["alias"] == client_ani.user.alias
