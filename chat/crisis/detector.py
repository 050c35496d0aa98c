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
from collections.abc import Sequence

from .features import counts
from .matcher import Detection, detect
from .model import current_model

logger = logging.getLogger(__name__)

CATEGORIES = ("suicide", "self_harm", "harm_others")
MAX_CONTEXT = 3


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
    model = current_model()
    features, hit = message_features(text)
    probs = model.predict(features)
    risk = risk_message = _risk(probs)
    risk_window = None
    context = [c for c in context if c][-MAX_CONTEXT:]
    if context:
        window = Counter(features)
        for message in context:
            window.update(message_features(message)[0])
        risk_window = _risk(model.predict(window))
        risk = math.sqrt(risk_message * risk_window)
    return {"risk": risk, "risk_message": risk_message, "risk_window": risk_window, "probs": probs,
            "lexicon": hit, "threshold": model.meta["threshold"]}


def assess(text: str | None, context: Sequence[str] = ()) -> Detection | None:
    """The crisis signal of a client message read with their previous messages, or None.
    Falls back to the lexicon alone when the model is unavailable or fails."""
    if not text or not text.strip():
        return None
    try:
        s = score(text, context)
    except Exception:  # noqa: BLE001 - ModelError or anything else: the check must never fail the caller
        logger.exception("crisis model failed; lexicon only")
        return detect(text)
    if s["risk"] < s["threshold"]:
        return None
    probs, hit = s["probs"], s["lexicon"]
    categories = {max(CATEGORIES, key=probs.__getitem__)}
    level = "high" if probs["high"] >= 0.5 else "medium"
    if hit is not None:
        categories.update(hit.categories)
        if hit.level == "high":
            level = "high"
    return Detection(level=level, categories=tuple(sorted(categories)))
