"""Features of the second stage: word and character n-grams of the normalised text, in pure
Python, so training (scikit-learn, chat/crisis/train.py) and scoring at run time
(chat/crisis/model.py, no numpy) compute exactly the same thing.

- words: each token of ``normalize(text)`` ("w:mati"), and each pair of neighbours within a
  clause ("b:pengen mati");
- characters: 3- to 5-grams of the whole normalised text (clause breaks dropped), padded with a
  space, so across word boundaries too ("c: ma", "c:ga m") - these carry spelling variants, slang,
  affixes ("nyilet", "disilet") and short phrases. Cross-validation preferred them (precision
  +0.005 to +0.02 at the same recall) over grams inside single words.
- context: a window's counts are the sum of its messages' counts (a bag of n-grams, none across
  two messages).
"""

from __future__ import annotations

from collections import Counter

from .normalize import CLAUSE_BREAK, normalize

CHAR_NS = (3, 4, 5)
MAX_CHARS = 1000          # a message longer than this is scored on its first and last 500 characters


def counts(text: str) -> Counter:
    if len(text) > MAX_CHARS:
        text = text[:500] + " . " + text[-500:]
    norm = normalize(text)
    out: Counter = Counter()
    if not norm:
        return out
    # Counted by Counter.update (in C): the same counts as one `out[key] += 1` per gram, at a
    # third of the cost (the check runs on every client message and its context).
    grams = []
    for clause in norm.split(" | "):
        tokens = clause.split(" ")
        grams.extend(["w:" + token for token in tokens if token != CLAUSE_BREAK])
        grams.extend(["b:" + a + " " + b for a, b in zip(tokens, tokens[1:], strict=False) if CLAUSE_BREAK not in (a, b)])
    chars = " " + norm.replace(" | ", " ") + " "
    size = len(chars)
    for n in CHAR_NS:
        grams.extend(["c:" + chars[i:i + n] for i in range(size - n + 1)])
    out.update(grams)
    return out


def window_counts(messages) -> Counter:
    total: Counter = Counter()
    for message in messages:
        total.update(counts(message))
    return total
