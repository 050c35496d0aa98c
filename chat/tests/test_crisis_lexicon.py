"""The crisis lexicon: data file, normalisation, negation, idioms, and precision/recall over the
labelled set (chat/crisis/data/labelled.tsv). Pure Python, no database."""

from __future__ import annotations

import dataclasses
import re

import pytest

from chat.crisis import Detection, LexiconError, current_lexicon, detect, normalize, reload_lexicon
from chat.crisis.evaluate import load_examples, score
from chat.crisis.lexicon import CATEGORIES, DEFAULT_PATH, LEVELS, load, parse

# --- the data file ---------------------------------------------------------------------------

def test_data_file_parses_and_every_phrase_compiles():
    lexicon = load(DEFAULT_PATH)
    assert len(lexicon.phrases) >= 150
    assert {(p.section, p.level) for p in lexicon.phrases} >= {
        ("suicide", "high"), ("suicide", "medium"), ("self_harm", "high"),
        ("harm_others", "high"), ("harm_others", "medium")}
    for phrase in lexicon.phrases + lexicon.exceptions + lexicon.not_negations + lexicon.negation_phrases:
        assert isinstance(phrase.regex, re.Pattern), phrase.source
        assert phrase.anchor_words or phrase.anchor_prefixes, phrase.source
    for phrase in lexicon.phrases:
        assert phrase.section in CATEGORIES and phrase.level in LEVELS, phrase.source
    assert {"ga", "gak", "ngak", "tidak", "bukan", "jangan", "not", "dont", "never"} <= lexicon.negations
    assert len(lexicon.exceptions) >= 20


def test_every_crisis_phrase_line_matches_its_own_plain_reading():
    """Each phrase written without list/gap syntax must detect itself (catches typos that
    normalise to something the matcher can never see)."""
    lexicon = current_lexicon()
    plain = [p for p in lexicon.phrases if re.fullmatch(r"[a-z ]+", p.source)]
    assert len(plain) >= 20
    for phrase in plain:
        assert phrase.regex.search(f" {normalize(phrase.source)} "), phrase.source


@pytest.mark.parametrize("source, message", [
    ("[suicide high]\n@nope mati\n[negation]\nga\n", "unknown word list @nope"),
    ("[suicide extreme]\nbunuh diri\n", "needs a level"),
    ("[weird]\nbunuh diri\n", "unknown section"),
    ("bunuh diri\n", "before any [section]"),
    ("[suicide high]\n* bunuh diri\n[negation]\nga\n", "may not start or end with a gap"),
    ("[suicide high]\nbunuh *9 diri\n[negation]\nga\n", "gap"),
    ("[suicide high]\nmati? aja?\n[negation]\nga\n", "at least one required word"),
    ("[suicide high]\nbu* diri\n[negation]\nga\n", "shorter than"),
    ("[suicide high]\nbunuh diri\n", "[negation] section is missing"),
])
def test_bad_lexicon_is_rejected_with_the_line(source, message):
    with pytest.raises(LexiconError, match=re.escape(message)):
        parse(source)


def test_reload_swaps_the_lexicon_and_keeps_the_old_one_on_error():
    assert detect("zorblax tonight") is None
    try:
        reload_lexicon(source="@x = zorblax zorb\n[self_harm medium]\n@x tonight\n[negation]\nnot\n")
        assert detect("ZORBLAXXX tonight!") == Detection(level="medium", categories=("self_harm",))
        assert detect("not zorblax tonight") is None
        assert detect("aku mau bunuh diri") is None          # the file's phrases are gone
        with pytest.raises(LexiconError):
            reload_lexicon(source="[suicide high]\n@missing\n")
        assert detect("zorb tonight") is not None            # old lexicon still in use
    finally:
        reload_lexicon()
    assert detect("zorblax tonight") is None
    assert detect("aku mau bunuh diri") is not None


# --- normalisation --------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("Pengen MATIII!!!", "pengen mati"),
    ("bunuhhh diriii", "bunuh diri"),
    ("bun0h d1r1", "bunoh diri"),
    ("k1ll mys3lf", "kil myself"),
    ("m@t1 $aja", "mati saja"),
    ("jam 5 sore, 20 menit lagi", "jam 5 sore | 20 menit lagi"),
    ("akhir2 ini", "akhir ini"),
    ("I don't   want", "i dont want"),
    ("self-harm", "self harm"),
    ("Ｐｅｎｇｅｎ　ｍａｔｉ", "pengen mati"),
    ("bunüh diri", "bunuh diri"),
    ("b*nuh d*ri", "bnuh dri"),
    ("...gak tau... 😭😭", "gak tau"),
    ("", ""),
])
def test_normalize(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize("text", [
    "bun0h d1r1 aja", "pengen matiii", "PENGEN MATI", "BuNuH DiRi", "p3ng3n m4t1 ajaaa",
    "b*nuh d*ri", "Ｐｅｎｇｅｎ　ｍａｔｉ", "K1LLL MYSELF", "gw pgn bundirrr",
])
def test_detects_through_leetspeak_repeats_case_and_width(text):
    hit = detect(text)
    assert hit is not None and hit.categories == ("suicide",)


# --- negation ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "aku nggak mau bunuh diri kok",
    "gue gak pengen mati, cuma capek",
    "I would never kill myself",
    "i don't want to die",
    "I'm not going to hurt myself",
    "aku gak akan pernah mau bunuh diri",
    "saya tidak ada keinginan untuk bunuh diri",        # multi-word cue counts at its last word
    "I have no plans to end my life",
    "jangan bunuh diri ya",
    "gk mau bundir lah",
])
def test_negation_before_a_phrase_cancels_it(text):
    assert detect(text) is None


@pytest.mark.parametrize("text, level", [
    ("ga kuat lagi", "medium"),                            # the negation is the phrase itself
    ("aku ga kuat lagi pengen mati", "medium"),            # ... and does not cancel the next phrase
    ("I don't want to live anymore", "medium"),
    ("i don't see the point in living anymore", "medium"),
    ("gw udah gak pengen hidup lagi", "medium"),
    ("ga tau kenapa pengen mati terus", "medium"),         # "ga tau" is not a negation of what follows
    ("gak ada yang peduli, pengen mati aja", "medium"),
    ("aku gak ok pengen mati", "medium"),
    ("gak mau bunuh diri tapi pengen mati", "medium"),     # a clause break word ends the negation's reach
    ("ga, aku mau bunuh diri", "high"),                    # so does punctuation
    ("nggak bisa tidur, pengen bunuh diri", "high"),
])
def test_negation_inside_a_phrase_or_out_of_reach_does_not_cancel(text, level):
    hit = detect(text)
    assert hit is not None and hit.level == level


# --- idioms and everyday uses ----------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "mati lampu lagi", "mati gaya di rumah", "mati kutu ditanya dosen", "hp gue mati", "batre mau mati",
    "bunuh waktu nunggu kereta", "killing time before work", "mau mati ketawa", "ngakak sampe mati",
    "this joke kills me", "I'm dying to see it", "kerja mati-matian", "laper, mau mati kelaparan",
    "cinta mati sama kpop", "my phone is about to die", "capek banget kerjaan hari ini",
    "pengen loncat-loncat kegirangan", "tadi loncat dari kasur", "I cut my hair", "my mom will kill me",
    "aku pengen nembak dia besok", "ada bom bunuh diri di berita", "angka bunuh diri di Korea tinggi",
    "mau nulis artikel tentang pencegahan bunuh diri", "suicide squad seru ga?",
])
def test_idioms_and_everyday_uses_are_not_flagged(text):
    assert detect(text) is None


def test_level_is_the_highest_and_categories_accumulate():
    assert detect("pengen mati aja") == Detection(level="medium", categories=("suicide",))
    assert detect("gue mau bunuh dia terus bunuh diri") == Detection(
        level="high", categories=("harm_others", "suicide"))
    assert detect("pengen mati, tadi nyayat tangan lagi") == Detection(
        level="high", categories=("self_harm", "suicide"))
    assert detect("temenku bilang mau bunuh diri").level == "high"   # third parties are signals too


# --- no copy of the text ----------------------------------------------------------------------

def test_detection_carries_no_text():
    text = "aku udah siapin tali buat gantung diri malam ini"
    hit = detect(text)
    assert hit is not None
    assert [f.name for f in dataclasses.fields(Detection)] == ["level", "categories"]
    assert not hasattr(hit, "__dict__")                      # slots: nothing can be attached
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.level = "medium"
    assert hit.level in LEVELS and set(hit.categories) <= set(CATEGORIES)
    for word in ("tali", "gantung", "diri", "malam"):
        assert word not in repr(hit)


@pytest.mark.parametrize("empty", [None, "", "   ", "!!!", "😭😭"])
def test_empty_messages(empty):
    assert detect(empty) is None


# --- precision and recall over the labelled set -----------------------------------------------

def test_precision_and_recall_on_the_labelled_set(capsys):
    examples = load_examples()
    positives = [ex for ex in examples if ex.label]
    assert len(examples) >= 240
    assert 0.40 <= len(positives) / len(examples) <= 0.50
    assert {ex.lang for ex in examples} == {"id", "en", "mix"}
    assert {ex.category for ex in positives} == set(CATEGORIES)
    assert {ex.level for ex in positives} == set(LEVELS)
    assert {"negation", "idiom", "topic", "complaint"} <= {ex.kind for ex in examples if not ex.label}
    assert len({ex.text for ex in examples}) == len(examples), "duplicate sentences"

    result = score(examples)
    with capsys.disabled():
        print("\ncrisis lexicon, " + result.line("labelled set"))
        for split in sorted({ex.split for ex in examples}):
            print("  " + score([ex for ex in examples if ex.split == split]).line(split))
    assert result.recall >= 0.95, [ex.text for ex in result.misses]
    assert result.precision >= 0.80, [ex.text for ex in result.false_alarms]
