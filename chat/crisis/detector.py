"""The crisis check: the lexicon (first stage) beside the trained n-gram model (second stage),
with the client's previous messages as context.

    from chat.crisis.detector import assess
    assess("udah siapin tali", context=["aku capek banget", "ga ada yang peduli"])
    # Detection(level="high", categories=("suicide",))

How the two stages and the context combine (the numbers are in the artifact, chosen on the
train split by cross-validation, see train.py and README.md):
1. The lexicon runs on the message; its hits become features of the model ("L:hit", "L:high",
   "L:suicide", ...), so the model learns when to trust them and when tense or subject ("dulu",
   "film", "temenku") outweighs them.
2. risk(message) = 1 - P(none) of the model on the message alone.
3. With context (the same client's last few messages in the session), risk(window) is the
   model on the window's summed n-grams, and the message's risk becomes the geometric mean
   sqrt(risk(message) * risk(window)): distress spread over turns lifts a borderline message;
   a window about a film, the news or a past episode pulls it down; a neutral reply after a
   crisis line stays low (one factor is near zero).
4. Flag when that risk >= the threshold. Category: the model's most likely category plus the
   lexicon's; level: high when the lexicon says high or the model's P(high) >= 0.5.
If the model cannot be loaded or fails, the lexicon alone answers (never an exception).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Sequence

from .features import counts
from .matcher import Detection, detect
from .model import current_model

logger = logging.getLogger(__name__)

CATEGORIES = ("suicide", "self_harm", "harm_others")
MAX_CONTEXT = 3
# A lexicon hit is overruled only by a model risk below this share of the threshold (the
# explicit first-person phrases the lexicon holds sit just under a retrained threshold;
# past-and-resolved and about-others talk sits well below it). See chat/crisis/README.md.
LEXICON_FLOOR = 0.75


def lexicon_features(hit: Detection | None) -> dict[str, int]:
    if hit is None:
        return {}
    out = {"L:hit": 1, "L:" + hit.level: 1}
    for category in hit.categories:
        out["L:" + category] = 1
    return out


def message_features(text: str) -> tuple[Counter, Detection | None]:
    features = counts(text)
    hit = detect(text)
    features.update(lexicon_features(hit))
    return features, hit


def _risk(probs: dict[str, float]) -> float:
    return 1.0 - probs["none"]


def score(text: str, context: Sequence[str] = ()) -> dict:
    """Everything the decision uses (for evaluation and tests; no text in it)."""
    return _with_context(_score_message(text), context)


def _score_message(text: str) -> dict:
    model = current_model()
    features, hit = message_features(text)
    probs = model.predict(features)
    risk = _risk(probs)
    return {"risk": risk, "risk_message": risk, "risk_window": None, "probs": probs, "lexicon": hit,
            "threshold": model.meta["threshold"], "_features": features}


def _with_context(s: dict, context: Sequence[str]) -> dict:
    features = s.pop("_features")
    context = [c for c in context if c][-MAX_CONTEXT:]
    if context:
        window = Counter(features)
        for message in context:
            window.update(message_features(message)[0])
        s["risk_window"] = _risk(current_model().predict(window))
        s["risk"] = math.sqrt(s["risk_message"] * s["risk_window"])
    return s


def _floor(s: dict) -> float:
    # The lexicon is the safety net: its hit stands unless the model is clearly sure it is
    # not a crisis (below LEXICON_FLOOR of the threshold: someone else, the past). A
    # retrained model can move its threshold; an explicit "aku mau bunuh diri" must not fall.
    return s["threshold"] * LEXICON_FLOOR if s["lexicon"] is not None else s["threshold"]


def _decide(s: dict) -> Detection | None:
    probs, hit = s["probs"], s["lexicon"]
    if s["risk"] < _floor(s):
        return None
    categories = {max(CATEGORIES, key=probs.__getitem__)}
    level = "high" if probs["high"] >= 0.5 else "medium"
    if hit is not None:
        categories.update(hit.categories)
        if hit.level == "high":
            level = "high"
    return Detection(level=level, categories=tuple(sorted(categories)))


def assess(text: str | None, context: Sequence[str] = ()) -> Detection | None:
    """The crisis signal of a client message read with their previous messages, or None.
    Falls back to the lexicon alone when the model is unavailable or fails."""
    return assess_lazily(text, lambda: context)


def assess_lazily(text: str | None, load_context: Callable[[], Sequence[str]]) -> Detection | None:
    """`assess`, reading the context only when it can change the answer. The window can only
    scale the message's own risk by sqrt(risk(window)) <= 1 (risk = sqrt(risk(message) x
    risk(window))), so a message whose own risk is below floor**2 is no crisis whatever came
    before it: the same answer as `assess`, without the context (most messages)."""
    if not text or not text.strip():
        return None
    try:
        s = _score_message(text)
        if math.sqrt(s["risk_message"]) < _floor(s):
            return None
        s = _with_context(s, load_context())
    except Exception:  # noqa: BLE001 - ModelError or anything else: the check must never fail the caller
        logger.exception("crisis model failed; lexicon only")
        return detect(text)
    return _decide(s)
