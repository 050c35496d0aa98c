"""Parse the lexicon data file (format documented at the top of data/lexicon.txt) and compile
every phrase into a regular expression over normalised text, once.

Compiled phrases match on whole words in the padded normalised message (" w1 w2 ... "):
each word slot consumes "word ", so a phrase can never match inside a longer word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .normalize import CLAUSE_BREAK, normalize

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "lexicon.txt"

CATEGORIES = ("suicide", "self_harm", "harm_others")
LEVELS = ("medium", "high")          # ascending
RANK = {level: i + 1 for i, level in enumerate(LEVELS)}
LIST_SECTIONS = ("negation", "clause_break")
PATTERN_SECTIONS = ("not_negation", "exception")   # [negation] may hold phrases too
MAX_GAP = 5
DEFAULT_GAP = 2
MIN_PREFIX = 3

# Everyday words that make poor anchors (a phrase is only tried when its anchor word is in the
# message). Only affects speed, never what matches.
COMMON_WORDS = frozenset("""
aku aq ak gue gua gw gwe saya sy ane kamu lo lu dia mereka kita kami orang org
mau mo mw pengen pingin ingin pgn ga gak gk g ngak nga enga engak tidak tak nda ndak
ada ini itu yang yg dan sama ama lagi lg aja udah udh sudah juga buat untuk di ke dari
i you he she it we they me my him her them to the a an of and is am im be not dont no
""".split())

_HEADER = re.compile(r"^\[\s*([a-z_]+)(?:\s+([a-z]+))?\s*\]$")
_MACRO = re.compile(r"^@([a-z_][a-z0-9_]*)\s*=\s*(.*)$")
_GAP = re.compile(r"^\*(\d?)$")
_WORD = re.compile(r"^[a-z0-9]+$")


class LexiconError(ValueError):
    """The data file does not parse; the message names the line."""


@dataclass(frozen=True)
class Slot:
    words: frozenset[str] = frozenset()     # whole-word alternatives
    prefixes: tuple[str, ...] = ()          # "word*" alternatives
    optional: bool = False
    gap: int = 0                            # > 0: a filler of 0..gap words (words/prefixes unused)

    @property
    def is_gap(self) -> bool:
        return self.gap > 0


@dataclass(frozen=True)
class Phrase:
    """One compiled line: where it came from, what it raises, how to find it."""
    source: str                 # the line as written (for error messages and tests; never message text)
    line: int
    section: str                # category, or "negation" / "not_negation" / "exception"
    level: str | None
    regex: re.Pattern
    anchor_words: frozenset[str]
    anchor_prefixes: tuple[str, ...]


@dataclass
class Lexicon:
    path: str
    phrases: list[Phrase] = field(default_factory=list)      # crisis phrases (category + level)
    not_negations: list[Phrase] = field(default_factory=list)
    negation_phrases: list[Phrase] = field(default_factory=list)   # multi-word cues; last word counts
    exceptions: list[Phrase] = field(default_factory=list)
    negations: frozenset[str] = frozenset()
    clause_breaks: frozenset[str] = frozenset()
    macros: dict[str, tuple[frozenset[str], tuple[str, ...]]] = field(default_factory=dict)


def _norm_word(raw: str, line_no: int) -> list[str]:
    words = [w for w in normalize(raw).split() if w != CLAUSE_BREAK]
    if not words:
        raise LexiconError(f"line {line_no}: {raw!r} is empty after normalisation")
    return words


def _alternatives(spec: str, macros: dict, line_no: int) -> tuple[set[str], list[str]]:
    words: set[str] = set()
    prefixes: list[str] = []
    for alt in spec.split("/"):
        alt = alt.strip()
        if not alt:
            raise LexiconError(f"line {line_no}: empty alternative in {spec!r}")
        if alt.startswith("@"):
            name = alt[1:]
            if name not in macros:
                raise LexiconError(f"line {line_no}: unknown word list @{name} (define it before use)")
            m_words, m_prefixes = macros[name]
            words |= m_words
            prefixes.extend(m_prefixes)
            continue
        is_prefix = alt.endswith("*")
        core = _norm_word(alt.rstrip("*"), line_no)
        if len(core) != 1:
            raise LexiconError(f"line {line_no}: alternative {alt!r} must be a single word")
        if is_prefix:
            if len(core[0]) < MIN_PREFIX:
                raise LexiconError(f"line {line_no}: prefix {alt!r} is shorter than {MIN_PREFIX} letters")
            prefixes.append(core[0])
        else:
            words.add(core[0])
    return words, prefixes


def _parse_phrase(text: str, macros: dict, line_no: int) -> list[Slot]:
    slots: list[Slot] = []
    for token in text.split():
        gap = _GAP.match(token)
        if gap:
            n = int(gap.group(1) or DEFAULT_GAP)
            if not 1 <= n <= MAX_GAP:
                raise LexiconError(f"line {line_no}: gap {token!r} must be *1 .. *{MAX_GAP}")
            slots.append(Slot(gap=n))
            continue
        optional = token.endswith("?")
        spec = token[:-1] if optional else token
        if "/" not in spec and not spec.startswith("@") and not spec.endswith("*"):
            # a plain word; "self-harm" may normalise to two words: two slots
            for word in _norm_word(spec, line_no):
                slots.append(Slot(words=frozenset([word]), optional=optional))
            continue
        words, prefixes = _alternatives(spec, macros, line_no)
        slots.append(Slot(words=frozenset(words), prefixes=tuple(sorted(set(prefixes))), optional=optional))
    required = [s for s in slots if not s.is_gap and not s.optional]
    if not required:
        raise LexiconError(f"line {line_no}: {text!r} needs at least one required word")
    if slots[0].is_gap or slots[-1].is_gap:
        raise LexiconError(f"line {line_no}: {text!r} may not start or end with a gap")
    return slots


def _slot_regex(slot: Slot, filler: str) -> str:
    if slot.is_gap:
        return f"(?:{filler} ){{0,{slot.gap}}}"
    alts = [re.escape(w) for w in sorted(slot.words, key=lambda w: (-len(w), w))]
    alts += [re.escape(p) + "[a-z0-9]*" for p in slot.prefixes]
    body = f"(?:{'|'.join(alts)}) "
    return f"(?:{body})?" if slot.optional else body


def _choose_anchor(slots: list[Slot]) -> tuple[frozenset[str], tuple[str, ...]]:
    """The required slot whose words the message must contain for the phrase to be tried:
    preferably one without everyday words, then without prefixes, then the fewest
    alternatives, then the last one."""
    required = [(i, s) for i, s in enumerate(slots) if not s.is_gap and not s.optional]
    best = min(required, key=lambda it: (not COMMON_WORDS.isdisjoint(it[1].words), bool(it[1].prefixes),
                                         len(it[1].words) + len(it[1].prefixes), -it[0]))
    return best[1].words, best[1].prefixes


def _compile(slots: list[Slot], filler: str) -> re.Pattern:
    return re.compile("(?<= )" + "".join(_slot_regex(s, filler) for s in slots))


def parse(source: str, path: str = "<string>") -> Lexicon:
    """Parse and compile lexicon text. Raises LexiconError naming the first bad line."""
    lex = Lexicon(path=path)
    macros: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {}
    section: str | None = None
    level: str | None = None
    pending: list[tuple[int, str, str, str | None]] = []
    negations: set[str] = set()
    breaks: set[str] = set()

    for line_no, raw in enumerate(source.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip() if " #" in raw else raw.strip()
        if not line or line.startswith("#"):
            continue
        macro = _MACRO.match(line)
        if macro:
            name, body = macro.groups()
            if not body.strip():
                raise LexiconError(f"line {line_no}: word list @{name} is empty")
            words, prefixes = _alternatives("/".join(body.split()), macros, line_no)
            macros[name] = (frozenset(words), tuple(sorted(set(prefixes))))
            continue
        header = _HEADER.match(line)
        if header:
            section, level = header.groups()
            if section in CATEGORIES:
                if level not in LEVELS:
                    raise LexiconError(f"line {line_no}: [{section} ...] needs a level: {', '.join(LEVELS)}")
            elif section in LIST_SECTIONS or section in PATTERN_SECTIONS:
                if level:
                    raise LexiconError(f"line {line_no}: [{section}] takes no level")
            else:
                raise LexiconError(f"line {line_no}: unknown section [{section}]")
            continue
        if section is None:
            raise LexiconError(f"line {line_no}: {line!r} comes before any [section]")
        if section in LIST_SECTIONS:
            if section == "negation" and len(line.split()) > 1:
                pending.append((line_no, line, section, None))
                continue
            words = _norm_word(line, line_no)
            if len(words) != 1 or not _WORD.match(words[0]):
                raise LexiconError(f"line {line_no}: [{section}] takes one plain word per line, got {line!r}")
            (negations if section == "negation" else breaks).add(words[0])
            continue
        pending.append((line_no, line, section, level))

    if not negations:
        raise LexiconError("the [negation] section is missing or empty")
    lex.negations = frozenset(negations)
    lex.clause_breaks = frozenset(breaks)
    lex.macros = macros

    # a filler word is any word that is not a negation, not a clause break word, not "|"
    stop = sorted(negations | breaks, key=lambda w: (-len(w), w))
    filler = "(?!(?:" + "|".join(re.escape(w) for w in stop) + ") )[a-z0-9]+"

    for line_no, line, section, level in pending:
        slots = _parse_phrase(line, macros, line_no)
        try:
            regex = _compile(slots, filler)
        except re.error as exc:  # pragma: no cover - escaped input should always compile
            raise LexiconError(f"line {line_no}: {line!r} does not compile: {exc}") from exc
        words, prefixes = _choose_anchor(slots)
        phrase = Phrase(source=line, line=line_no, section=section, level=level, regex=regex,
                        anchor_words=words, anchor_prefixes=prefixes)
        if section == "negation":
            lex.negation_phrases.append(phrase)
        elif section == "not_negation":
            lex.not_negations.append(phrase)
        elif section == "exception":
            lex.exceptions.append(phrase)
        else:
            lex.phrases.append(phrase)
    if not lex.phrases:
        raise LexiconError("no crisis phrases found")
    return lex


def load(path: str | Path | None = None) -> Lexicon:
    path = Path(path) if path else DEFAULT_PATH
    return parse(path.read_text(encoding="utf-8"), path=str(path))
