"""The crisis check's second stage: the shipped model loads offline and matches the corpus,
context raises spread-out intent and lowers past or third-party talk, and no failure of the
model or the check ever fails a client's send. The flag (case) keeps no text."""

from __future__ import annotations

import socket

import pytest

from chat.crisis import corpus, detector, model, train
from chat.crisis.detector import assess, score
from chat.crisis.matcher import Detection
from chat.models import CrisisCase, Message, Session, SessionEvent

# --- the artifact --------------------------------------------------------------------------


def test_the_model_loads_from_the_repository_with_the_network_cut(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the crisis model tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    loaded = model.reload_model()
    probs = loaded.predict(detector.message_features("aku mau bunuh diri malam ini")[0])
    assert set(probs) == {"none", "suicide", "self_harm", "harm_others", "high"}
    assert abs(sum(v for k, v in probs.items() if k != "high") - 1.0) < 1e-9
    assert probs["suicide"] > 0.5
    assert model.ARTIFACT_PATH.stat().st_size < 2_000_000


def test_the_artifact_was_trained_on_the_current_train_split():
    """A corpus edit without re-running `python -m chat.crisis.train` fails here."""
    meta = model.current_model().meta
    rows = corpus.load()
    assert meta["trained_on"]["train_sha256"] == corpus.digest(rows, "train")
    assert meta["trained_on"]["rows"] == sum(r.split == "train" for r in rows)


def test_pure_python_scoring_equals_scikit_learn():
    """Run time (model.py, no numpy) computes exactly what the trained estimator does."""
    rows = [r for r in corpus.load() if r.split == "train"][::6]
    docs = train.featurize(rows, with_lexicon=True)
    vec, clf, lvl = train.fit(docs, rows, c=10.0)
    m = model.Model({
        "format": model.FORMAT, "classes": list(train.CLASSES), "features": vec.names, "idf": vec.idf,
        "coef": [[float(clf.coef_[k][i]) for k in range(4)] + [float(lvl.coef_[0][i])] for i in range(len(vec.names))],
        "intercept": [float(x) for x in clf.intercept_] + [float(lvl.intercept_[0])],
    })
    probe = ["udah siapin tali di kamar", "mati gaya banget hari ini", "i want to disappear forever", "hai kak"]
    expected = clf.predict_proba(vec.transform(train.featurize(
        [corpus.Row("x", "train", "t", 0, "-", "-", "id", "", "", t) for t in probe], with_lexicon=True)))
    for text, row in zip(probe, expected, strict=True):
        got = m.predict(detector.message_features(text)[0])
        for k, name in enumerate(train.CLASSES):
            assert abs(got[name] - row[k]) < 1e-9, (text, name)


def test_a_broken_artifact_is_refused_with_a_clear_error(tmp_path):
    bad = tmp_path / "model.json.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(model.ModelError, match="cannot read"):
        model.load(bad)


# --- behaviour -----------------------------------------------------------------------------


def test_plans_means_goodbyes_and_joining_the_dead_are_flagged_where_the_lexicon_is_silent():
    from chat.crisis import detect

    lines = ["talinya udah aku iket di kamar mandi", "tolong jagain kucingku ya kalau aku udah ga ada",
             "aku pengen nyusul almarhum bapak", "i've saved up enough pills"]
    assert [detect(t) for t in lines] == [None] * 4
    flagged = [assess(t) for t in lines]
    assert all(d is not None and "suicide" in d.categories for d in flagged), flagged


def test_context_of_distress_raises_a_borderline_message():
    text = "aku mau tidur"
    alone = score(text)
    with_distress = score(text, ["aku udah ga kuat hidup", "semua orang lebih baik tanpa aku"])
    with_chat = score(text, ["tadi aku jalan sama temen", "seru banget"])
    assert with_distress["risk"] > alone["risk"] > with_chat["risk"]
    assert with_distress["risk"] > 2 * alone["risk"]


def test_past_and_resolved_lowers_the_risk():
    assert assess("aku nyilet tangan lagi") is not None
    assert assess("dulu aku pernah nyilet, sekarang udah berhenti setahun") is None
    assert assess("dulu aku sering pengen mati, sekarang udah jauh lebih baik") is None
    # the same sentence, read after the client said it is an old story
    text = "aku pernah nyoba gantung diri"
    past = ["aku mau cerita masa lalu", "itu udah lama banget"]
    assert score(text, past)["risk"] < score(text)["risk"] / 2
    assert assess(text, past) is None


def test_talk_about_others_lowers_the_risk():
    assert assess("aku mau bunuh diri") is not None
    assert assess("temenku bilang dia mau bunuh diri") is None
    text = "dia akhirnya gantung diri"
    film = ["tadi aku nonton film", "ceritanya sedih banget"]
    assert score(text, film)["risk"] < score(text)["risk"] / 2
    assert assess(text, film) is None


def test_a_neutral_reply_after_a_crisis_line_does_not_raise_a_new_flag():
    assert assess("oke kak makasih", ["aku mau bunuh diri malam ini"]) is None


def test_the_model_failing_falls_back_to_the_lexicon(monkeypatch):
    def broken():
        raise model.ModelError("artifact missing")

    monkeypatch.setattr(detector, "current_model", broken)
    assert assess("aku mau bunuh diri malam ini") == Detection(level="high", categories=("suicide",))
    assert assess("halo kak") is None


# --- on the send path ---------------------------------------------------------------------


def _trial(client, mitra) -> Session:
    r = client.api.post("/api/client/pairing-requests", {"free_trial": True}, format="json")
    r = mitra.api.post(f"/api/mitra/pairing-requests/{r.json()['id']}/accept")
    return Session.objects.get(pk=r.json()["id"])


def _send(actor, session, cid, body):
    return actor.api.post(f"/api/client/sessions/{session.id}/messages",
                          {"client_message_id": cid, "body": body}, format="json")


@pytest.mark.django_db
def test_intent_spread_over_turns_opens_a_case_on_the_message_that_completed_it(
        client_ani, mitra_budi, django_capture_on_commit_callbacks):
    session = _trial(client_ani, mitra_budi)
    with django_capture_on_commit_callbacks(execute=True):
        for i, body in enumerate(["aku udah ga kuat hidup", "semua orang lebih baik tanpa aku"]):
            _send(client_ani, session, f"c{i}", body)
    first = CrisisCase.objects.get(session=session)
    assert first.state == "new" and first.level == "medium"
    assert first.message.client_message_id in ("c0", "c1")
    with django_capture_on_commit_callbacks(execute=True):
        r = _send(client_ani, session, "c9", "aku udah beli obatnya, malam ini aku minum semua")
    assert r.status_code == 201
    case = CrisisCase.objects.get(session=session)          # one open case per session
    session.refresh_from_db()
    assert session.risk_level == case.level == "high"
    assert case.message_id == Message.objects.get(client_message_id="c9").pk


@pytest.mark.django_db
def test_the_case_keeps_level_categories_and_the_message_id_only(client_ani, mitra_budi,
                                                                 django_capture_on_commit_callbacks):
    session = _trial(client_ani, mitra_budi)
    body = "aku udah siapin tali di kamar, malam ini aku pergi"
    with django_capture_on_commit_callbacks(execute=True):
        _send(client_ani, session, "c1", body)
    case = CrisisCase.objects.get(session=session)
    stored = {f.attname: getattr(case, f.attname) for f in CrisisCase._meta.concrete_fields}
    assert not any(isinstance(v, str) and ("tali" in v or "malam" in v) for v in stored.values())
    text_fields = {f.name for f in CrisisCase._meta.concrete_fields if f.get_internal_type() in ("CharField", "TextField")}
    assert text_fields == {"level", "state"}
    assert case.categories == ["suicide"] and case.level == "high"
    assert body not in str(SessionEvent.objects.filter(session=session).values_list("data", flat=True))


@pytest.mark.django_db
def test_a_failing_check_never_fails_or_undoes_the_send(client_ani, mitra_budi, monkeypatch,
                                                        django_capture_on_commit_callbacks):
    from chat.services import care

    def explode(*args, **kwargs):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(care, "assess_lazily", explode)
    session = _trial(client_ani, mitra_budi)
    with django_capture_on_commit_callbacks(execute=True):
        r = _send(client_ani, session, "c1", "aku mau bunuh diri malam ini")
    assert r.status_code == 201
    assert Message.objects.filter(session=session, client_message_id="c1").exists()
    # a broken model (not only a broken check) still flags through the lexicon
    monkeypatch.setattr(care, "assess_lazily", detector.assess_lazily)
    monkeypatch.setattr(detector, "current_model", lambda: (_ for _ in ()).throw(model.ModelError("gone")))
    with django_capture_on_commit_callbacks(execute=True):
        r = _send(client_ani, session, "c2", "aku mau bunuh diri malam ini")
    assert r.status_code == 201
    session.refresh_from_db()
    assert session.risk_level == "high" and CrisisCase.objects.filter(session=session).count() == 1


def test_the_context_is_read_only_when_it_can_change_the_answer():
    """risk = sqrt(risk(message) x risk(window)) with risk(window) <= 1: a message whose own
    risk is below floor**2 is no crisis whatever came before it, so `assess_lazily` does not
    read the context for it — and answers exactly as `assess` with the context, always."""
    from chat.crisis.detector import assess_lazily

    window = ["aku capek banget", "ga ada yang peduli sama aku", "rasanya pengen ngilang aja"]
    cases = ["kak aku mau cerita soal kerjaan", "makasih ya kak udah dengerin", "udah siapin tali",
             "aku mau bunuh diri malam ini", "temenku pernah bilang mau bunuh diri", "ok", "hmm"]
    asked = []
    for text in cases:
        calls = []
        lazy = assess_lazily(text, lambda c=calls: c.append(1) or window)
        assert lazy == assess(text, window)
        asked.append(bool(calls))
    assert not asked[0]  # an ordinary line: decided alone
    assert asked[3]  # an explicit line is read with its context
