"""Text normalisation shared by the lexicon (its phrases) and the matcher (each message).

The same function runs on both sides, so a phrase written naturally in the data file
("kill myself", "nggak") and a message typed any way ("K1LLL MYSELF!!", "ngggak") meet in
one canonical form:

1. Unicode NFKC, then lower case (full-width and styled letters become plain ASCII).
2. Apostrophes vanish ("don't" -> "dont", "i'm" -> "im").
3. Leetspeak inside words: 0->o 1->i 3->e 4->a 5->s 7->t 8->b @->a $->s, only in a word that
   also has a letter ("bun0h d1r1" -> "bunuh diri"; "jam 5" keeps its 5).
4. Indonesian reduplication digit: "kata2" -> "kata" ("nyayat2" -> "nyayat"); a censoring
   asterisk between letters disappears ("b*nuh d*ri" -> "bnuh dri", which the lexicon lists).
5. Sentence punctuation (. , ! ? ; : newline, ellipsis) becomes a clause break "|"; any other
   non-letter, non-digit character becomes a space ("self-harm" -> "self harm").
6. Every run of a repeated letter is squeezed to one ("matiii" -> "mati", "bunuhhh" ->
   "bunuh"). Legitimate double letters are squeezed too ("kill" -> "kil", "nggak" ->
   "ngak"); because phrases go through the same step, "kill" in the data still meets "kill",
   "kil" and "killll" in a message. Only the canonical form is compared, never shown.
7. Spaces collapse; repeated or edge clause breaks are dropped.

The result is words of [a-z0-9] separated by single spaces, with "|" tokens between clauses.
"""

from __future__ import annotations

import re
import unicodedata

CLAUSE_BREAK = "|"

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"})
_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`\u00b4]")
# a word made of letters, digits and @/$ that has at least one letter and at least one leet char
_HAS_LEET = re.compile(r"[0134578@$]")
_LEET_WORD = re.compile(r"(?=[a-z0-9@$]*[a-z])(?=[a-z0-9@$]*[0134578@$])[a-z0-9@$]+")
_REDUP = re.compile(r"(?<=[a-z])2(?![a-z0-9])")
_CENSOR = re.compile(r"(?<=[a-z])\*+(?=[a-z])")
_BREAKS = re.compile(r"[.,!?;:\n\r\u2026\u3002\uff01\uff1f]+")
_OTHER = re.compile(r"[^a-z0-9|]+")
_SQUEEZE = re.compile(r"(?=([a-z])\1)([a-z])\2+")   # the lookahead makes the scan cheap
_BARS = re.compile(r"(?:\| )+\|")


def _leet_word(match: re.Match) -> str:
    return match.group().translate(_LEET)


def normalize(text: str) -> str:
    """Canonical matching form of ``text`` (see the module docstring)."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).lower()
    if not text.isascii():
        # drop combining accents left after NFKC ("bunüh" -> "bunuh"); other scripts become spaces
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = _APOSTROPHES.sub("", text)
    if _HAS_LEET.search(text):
        text = _LEET_WORD.sub(_leet_word, text)
    if "2" in text:
        text = _REDUP.sub("", text)
    if "*" in text:
        text = _CENSOR.sub("", text)
    text = _BREAKS.sub(" | ", text)
    text = _OTHER.sub(" ", text)
    text = _SQUEEZE.sub(r"\2", text)
    text = " ".join(text.split())
    if CLAUSE_BREAK in text:
        text = _BARS.sub(CLAUSE_BREAK, text).strip("| ")
    return text
