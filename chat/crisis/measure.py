"""Precision and recall of the lexicon alone and of the full check (lexicon + model + context)
on one split of the corpus, per language, category and kind:

    .venv/bin/python -m chat.crisis.measure                 # the blind split (the README's figures)
    .venv/bin/python -m chat.crisis.measure --split train   # the rows the model was trained on (optimistic)

It prints only counts and rates, never the rows: the blind split is not for reading errors
off (that is tuning on it). To look at mistakes, use --split train.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from . import corpus
from .detector import assess
from .matcher import detect


def _pr(pairs) -> tuple[int, int, int, int]:
    pairs = list(pairs)
    tp = sum(1 for y, h in pairs if y and h)
    fp = sum(1 for y, h in pairs if not y and h)
    fn = sum(1 for y, h in pairs if y and not h)
    tn = sum(1 for y, h in pairs if not y and not h)
    return tp, fp, fn, tn


def _fmt(tp, fp, fn, tn) -> str:
    p = tp / (tp + fp) if tp + fp else float("nan")
    r = tp / (tp + fn) if tp + fn else float("nan")
    return f"P {p:.3f} R {r:.3f} (TP {tp} FP {fp} FN {fn} TN {tn})"


def run(split: str = "blind", verbose: bool = False) -> str:
    rows = [r for r in corpus.load() if r.split == split]
    lex = {r.id: detect(r.text) is not None for r in rows}
    full_det = {r.id: assess(r.text, r.context_messages) for r in rows}
    full = {r.id: d is not None for r in rows for d in [full_det[r.id]]}
    lines = [f"split {split}: {len(rows)} rows, {sum(r.label for r in rows)} positive"]
    groups: dict[str, list] = defaultdict(list)
    for r in rows:
        groups["all"].append(r)
        groups["lang " + r.lang].append(r)
        if r.context:
            groups["with context"].append(r)
    for name, part in groups.items():
        lines.append(f"{name:14} n={len(part):4}  lexicon {_fmt(*_pr((r.label, lex[r.id]) for r in part))}"
                     f"  |  full {_fmt(*_pr((r.label, full[r.id]) for r in part))}")
    lines.append("recall by category and kind (positives flagged / positives):")
    cats: dict[str, list] = defaultdict(list)
    for r in rows:
        if r.label:
            cats[r.category].append(r)
            cats[f"{r.category}/{r.kind}"].append(r)
    for name in sorted(cats):
        part = cats[name]
        lines.append(f"  {name:24} n={len(part):3}  lexicon {sum(lex[r.id] for r in part) / len(part):.2f}"
                     f"  full {sum(full[r.id] for r in part) / len(part):.2f}")
    lines.append("false alarms by kind of negative (flagged / negatives):")
    kinds: dict[str, list] = defaultdict(list)
    for r in rows:
        if not r.label:
            kinds[r.kind].append(r)
    for name in sorted(kinds):
        part = kinds[name]
        lines.append(f"  {name:24} n={len(part):3}  lexicon {sum(lex[r.id] for r in part):3}"
                     f"  full {sum(full[r.id] for r in part):3}")
    tp = [r for r in rows if r.label and full[r.id]]
    agree = sum(1 for r in tp if full_det[r.id].level == r.level)
    cat_ok = sum(1 for r in tp if r.category in full_det[r.id].categories)
    lines.append(f"true positives of the full check: level agrees on {agree}/{len(tp)}, "
                 f"category includes the label on {cat_ok}/{len(tp)}")
    if verbose:
        if split == "blind":
            raise SystemExit("refusing to list blind rows: that would be tuning on the blind split")
        for r in rows:
            if r.label != full[r.id]:
                lines.append(f"  {'MISS' if r.label else 'FALSE'} {r.id} {r.kind}: {r.context + ' >> ' if r.context else ''}{r.text}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="blind", choices=corpus.SPLITS)
    parser.add_argument("-v", "--verbose", action="store_true", help="list the errors (not on blind)")
    args = parser.parse_args()
    print(run(args.split, args.verbose))


if __name__ == "__main__":
    main()
