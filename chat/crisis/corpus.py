"""The labelled corpus (data/corpus.tsv) and its blind split.

    .venv/bin/python -m chat.crisis.corpus stats           # counts per split, language, label, kind
    .venv/bin/python -m chat.crisis.corpus draw --seed N   # retire the blind split, draw a new one

Columns (tab separated, no quoting): id split origin label category level lang kind context text.
``context`` holds the same client's previous messages in the session, oldest first, joined by
" || " (empty for a single message). The labelling guide is data/LABELLING.md.

Splits:
- ``train``: what the model is trained and cross-validated on (and what anyone may read and tune on).
- ``blind``: never trained on, never tuned on. Its figures are read once per model, in the README.
- ``new``: freshly written rows that nobody has scored yet. ``draw`` turns them into the next blind
  split (a stratified sample of ``--fraction`` of them, the rest to ``train``) after moving the
  current blind rows to ``train``. Each draw is recorded in data/blind.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
CORPUS_PATH = DATA / "corpus.tsv"
BLIND_LOG = DATA / "blind.json"
COLUMNS = ("id", "split", "origin", "label", "category", "level", "lang", "kind", "context", "text")
SPLITS = ("train", "blind", "new")
LANGS = ("id", "en", "mix")
CATEGORIES = ("suicide", "self_harm", "harm_others")
CONTEXT_SEP = " || "
HEADER = """\
# Halo Bestie crisis corpus: one labelled client chat line per row. Labelling guide: LABELLING.md.
# Columns (tab separated, no quoting): id split origin label category level lang kind context text
#   split    train | blind | new  (see chat/crisis/corpus.py; never tune on blind)
#   origin   lexicon-dev/-holdout1..3 = the lexicon's own set (labelled.tsv, relabelled to this guide); corpus1 = written for the model; corpus2 = ordinary chat lines added to train after round 1 (see README)
#   label    1 = alert the mitra and staff, 0 = not;  category suicide|self_harm|harm_others (- for 0);  level high|medium (- for 0)
#   lang     id | en | mix;   kind  what sort of line it is (LABELLING.md lists them)
#   context  the client's previous messages in the session, oldest first, joined by " || " (empty: none)
"""


@dataclass(frozen=True)
class Row:
    id: str
    split: str
    origin: str
    label: int
    category: str
    level: str
    lang: str
    kind: str
    context: str
    text: str

    @property
    def context_messages(self) -> tuple[str, ...]:
        return tuple(self.context.split(CONTEXT_SEP)) if self.context else ()


class CorpusError(ValueError):
    pass


def load(path: Path = CORPUS_PATH) -> list[Row]:
    rows: list[Row] = []
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    if not lines or tuple(lines[0].split("\t")) != COLUMNS:
        raise CorpusError(f"{path}: the first line after the comments must be the header {COLUMNS}")
    seen: set[str] = set()
    for n, line in enumerate(lines[1:], start=2):
        parts = line.split("\t")
        if len(parts) != len(COLUMNS):
            raise CorpusError(f"{path}: row {n} has {len(parts)} columns")
        values = dict(zip(COLUMNS, parts, strict=True))
        row = Row(**values | {"label": int(values["label"])})
        _check(row, n)
        if row.id in seen:
            raise CorpusError(f"{path}: duplicate id {row.id}")
        seen.add(row.id)
        rows.append(row)
    return rows


def _check(row: Row, n: int) -> None:
    problems = []
    if row.split not in SPLITS:
        problems.append(f"split {row.split!r}")
    if row.lang not in LANGS:
        problems.append(f"lang {row.lang!r}")
    if row.label == 1 and (row.category not in CATEGORIES or row.level not in ("high", "medium")):
        problems.append("a positive needs a category and a level")
    if row.label == 0 and (row.category, row.level) != ("-", "-"):
        problems.append("a negative has category and level '-'")
    if not row.text.strip():
        problems.append("empty text")
    if problems:
        raise CorpusError(f"row {n} ({row.id}): " + "; ".join(problems))


def save(rows: list[Row], path: Path = CORPUS_PATH) -> None:
    body = ["\t".join(COLUMNS)]
    for row in rows:
        values = asdict(row)
        if any("\t" in str(v) or "\n" in str(v) for v in values.values()):
            raise CorpusError(f"{row.id}: tabs and newlines are not allowed")
        body.append("\t".join(str(values[c]) for c in COLUMNS))
    path.write_text(HEADER + "\n".join(body) + "\n", encoding="utf-8")


def digest(rows: list[Row], split: str = "train") -> str:
    """A fingerprint of one split's rows: the trained artifact records the one it was built from."""
    h = hashlib.sha256()
    for row in rows:
        if row.split == split:
            h.update("\t".join(str(v) for v in asdict(row).values()).encode())
            h.update(b"\n")
    return h.hexdigest()


def stratum(row: Row) -> tuple[str, str]:
    return row.lang, row.category if row.label else "neg:" + row.kind


def draw(rows: list[Row], *, seed: int, fraction: float = 0.25) -> list[Row]:
    """Retire the current blind split into train and draw the next one from the ``new`` rows:
    a stratified sample (by language and category, or by kind for negatives)."""
    fresh = [r for r in rows if r.split == "new"]
    if len(fresh) < 200:
        raise CorpusError(f"only {len(fresh)} new rows: write at least 200 fresh lines before re-drawing "
                          "(a blind split re-drawn from rows people have already read is not blind)")
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in fresh:
        groups[stratum(row)].append(row)
    rng = random.Random(seed)
    chosen: set[str] = set()
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda r: r.id)
        rng.shuffle(members)
        chosen.update(r.id for r in members[: round(len(members) * fraction)])
    out = []
    for row in rows:
        if row.split == "blind":
            row = Row(**asdict(row) | {"split": "train"})
        elif row.split == "new":
            row = Row(**asdict(row) | {"split": "blind" if row.id in chosen else "train"})
        out.append(row)
    return out


def record_draw(rows: list[Row], seed: int, fraction: float) -> dict:
    log = json.loads(BLIND_LOG.read_text()) if BLIND_LOG.exists() else []
    entry = {"round": len(log) + 1, "date": date.today().isoformat(), "seed": seed, "fraction": fraction,
             "blind_rows": sum(r.split == "blind" for r in rows),
             "blind_sha256": digest(rows, "blind")}
    log.append(entry)
    BLIND_LOG.write_text(json.dumps(log, indent=2) + "\n")
    return entry


def stats(rows: list[Row]) -> str:
    lines = [f"{len(rows)} rows"]
    for split in SPLITS:
        part = [r for r in rows if r.split == split]
        if not part:
            continue
        pos = sum(r.label for r in part)
        langs = Counter(r.lang for r in part)
        lines.append(f"{split}: {len(part)} rows, {pos} positive, {len(part) - pos} negative; "
                     + ", ".join(f"{k} {langs[k]}" for k in LANGS) + f"; with context {sum(bool(r.context) for r in part)}")
        kinds = Counter((r.category if r.label else "-", r.kind) for r in part)
        lines.append("   " + ", ".join(f"{c}/{k} {n}" for (c, k), n in sorted(kinds.items())))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("stats")
    d = sub.add_parser("draw")
    d.add_argument("--seed", type=int, required=True)
    d.add_argument("--fraction", type=float, default=0.25)
    args = parser.parse_args()
    rows = load()
    if args.command == "stats":
        print(stats(rows))
    else:
        rows = draw(rows, seed=args.seed, fraction=args.fraction)
        save(rows)
        print(record_draw(rows, args.seed, args.fraction))
        print(stats(rows))


if __name__ == "__main__":
    main()
