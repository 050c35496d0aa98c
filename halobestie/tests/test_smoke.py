import pytest

pytestmark = pytest.mark.django_db


def test_health(anon_api):
    r = anon_api.get("/api/shared/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r["Cache-Control"] == "no-store"


def test_free_trial_flow(client_ani, mitra_budi):
    r = client_ani.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json")
    assert r.status_code == 201, r.json()
    rid = r.json()["id"]
    offers = mitra_budi.api.get("/api/mitra/pairing-requests").json()
    assert [o["id"] for o in offers] == [rid]
    r = mitra_budi.api.post(f"/api/mitra/pairing-requests/{rid}/accept")
    assert r.status_code == 201, r.json()
    session = r.json()
    assert session["state"] == "active"
    r = client_ani.api.post(f"/api/client/sessions/{session['id']}/messages",
                            {"client_message_id": "m1", "body": "halo"}, format="json")
    assert r.status_code == 201, r.json()
    r2 = client_ani.api.post(f"/api/client/sessions/{session['id']}/messages",
                             {"client_message_id": "m1", "body": "halo"}, format="json")
    assert r2.status_code == 200 and r2.json()["id"] == r.json()["id"]
    page = mitra_budi.api.get(f"/api/mitra/sessions/{session['id']}/messages").json()
    assert [m["sender"] for m in page["results"]] == ["system", "client"]
