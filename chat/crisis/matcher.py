"""Match a message against the compiled lexicon: ``detect(text) -> Detection | None``.

Per message:
1. normalise (normalize.py) and split into words;
2. pick candidate phrases through an anchor index (word -> phrases that need that word), so a
   message that shares no anchor word with the lexicon - almost every message - costs one
   normalisation and one set intersection;
3. run the candidates' regexes; drop a hit that overlaps an idiom from [exception];
4. drop a hit with a live negation cue among the 3 words before it in the same clause (for a
   multi-word cue such as "tidak ada keinginan untuk", its last word). A cue is not live when
   it lies inside a crisis phrase ("ga kuat lagi" negates nothing before another phrase) or
   starts a [not_negation] phrase ("ga tau kenapa pengen mati");
5. report the highest level and the set of categories of what is left.

Only the level and categories leave this module: no matched words, spans or phrases, so no
extra copy of what a client wrote can be stored from a detection.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path

from .lexicon import RANK, Lexicon, Phrase, load
from .normalize import CLAUSE_BREAK, normalize

NEGATION_WINDOW = 3


@dataclass(frozen=True, slots=True)
class Detection:
    """A crisis signal: how serious and of which kind. Deliberately carries no text."""
    level: str                       # "high" | "medium"
    categories: tuple[str, ...]      # sorted, e.g. ("self_harm", "suicide")


class _Index:
    """Anchor word -> positions in a phrase list."""

    __slots__ = ("phrases", "by_word", "words", "by_prefix", "prefixes")

    def __init__(self, phrases: list[Phrase]):
        self.phrases = tuple(phrases)
        by_word: dict[str, list[int]] = {}
        by_prefix: dict[str, list[int]] = {}
        for i, phrase in enumerate(phrases):
            for word in phrase.anchor_words:
                by_word.setdefault(word, []).append(i)
            for prefix in phrase.anchor_prefixes:
                by_prefix.setdefault(prefix, []).append(i)
        self.by_word = {w: tuple(ix) for w, ix in by_word.items()}
        self.words = frozenset(by_word)
        self.by_prefix = {p: tuple(ix) for p, ix in by_prefix.items()}
        self.prefixes = tuple(by_prefix)

    def candidates(self, words: set[str]) -> list[Phrase]:
        chosen: set[int] = set()
        for word in self.words.intersection(words):
            chosen.update(self.by_word[word])
        if self.prefixes:
            for word in words:
                if word.startswith(self.prefixes):
                    for prefix, ix in self.by_prefix.items():
                        if word.startswith(prefix):
                            chosen.update(ix)
        return [self.phrases[i] for i in chosen]

    def spans(self, padded: str, words: set[str]) -> list[tuple[int, int]]:
        return [m.span() for p in self.candidates(words) for m in p.regex.finditer(padded)]


class _Compiled:
    __slots__ = ("lexicon", "phrases", "exceptions", "not_negations", "negation_phrases")

    def __init__(self, lexicon: Lexicon):
        self.lexicon = lexicon
        self.phrases = _Index(lexicon.phrases)
        self.exceptions = _Index(lexicon.exceptions)
        self.not_negations = _Index(lexicon.not_negations)
        self.negation_phrases = _Index(lexicon.negation_phrases)


_lock = threading.Lock()
_current: _Compiled | None = None


def reload_lexicon(path: str | Path | None = None, *, source: str | None = None) -> Lexicon:
    """(Re)load the lexicon from ``path`` (default: data/lexicon.txt) or from ``source`` text
    (e.g. a table staff edit). The new lexicon replaces the old one atomically; on a parse
    error (LexiconError) the old one stays in use."""
    global _current
    from .lexicon import parse

    lexicon = parse(source, path="<source>") if source is not None else load(path)
    compiled = _Compiled(lexicon)
    with _lock:
        _current = compiled
    return lexicon


def current_lexicon() -> Lexicon:
    return _state().lexicon


def _state() -> _Compiled:
    state = _current
    if state is None:
        reload_lexicon()
        state = _current
    return state


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


def detect(text: str | None) -> Detection | None:
    """The crisis signal in ``text``, or None. Never returns or keeps any part of the text."""
    if not text:
        return None
    state = _state()
    norm = normalize(text)
    if not norm:
        return None
    tokens = norm.split(" ")
    words = set(tokens)
    candidates = state.phrases.candidates(words)
    if not candidates:
        return None
    padded = " " + norm + " "
    hits = [(m.start(), m.end(), p) for p in candidates for m in p.regex.finditer(padded)]
    if not hits:
        return None

    exceptions = state.exceptions.spans(padded, words)
    if exceptions:
        hits = [h for h in hits if not _overlaps(h[0], h[1], exceptions)]
        if not hits:
            return None

    lexicon = state.lexicon
    negations = lexicon.negations
    if not negations.isdisjoint(words):
        # word start offsets in `padded` (each word is preceded by one space)
        starts: list[int] = []
        pos = 1
        for token in tokens:
            starts.append(pos)
            pos += len(token) + 1
        covered = [(s, e) for s, e, _ in hits] + state.not_negations.spans(padded, words)
        cues = [i for i, token in enumerate(tokens) if token in negations]
        # a multi-word cue counts at its last word (its span ends with that word's space)
        cues += [bisect_left(starts, end) - 1 for _, end in state.negation_phrases.spans(padded, words)]
        live = {i for i in cues if not _overlaps(starts[i], starts[i] + 1, covered)}
        if live:
            breaks = lexicon.clause_breaks
            kept = []
            for hit in hits:
                first = bisect_left(starts, hit[0])
                negated = False
                for j in range(first - 1, max(first - 1 - NEGATION_WINDOW, -1), -1):
                    token = tokens[j]
                    if token == CLAUSE_BREAK or token in breaks:
                        break
                    if j in live:
                        negated = True
                        break
                if not negated:
                    kept.append(hit)
            hits = kept
            if not hits:
                return None

    level = max((h[2].level for h in hits), key=RANK.__getitem__)
    categories = tuple(sorted({h[2].section for h in hits}))
    return Detection(level=level, categories=categories)


reload_lexicon()
