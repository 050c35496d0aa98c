"""Measure the detector on the labelled set:  .venv/bin/python -m chat.crisis.evaluate [-v] [--split dev|holdout]

Prints precision, recall and counts (overall and per split); -v also lists each miss and each
false alarm (the labelled sentences are written by the team, not client data).
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass, field
from pathlib import Path

from .matcher import detect

LABELLED_PATH = Path(__file__).resolve().parent / "data" / "labelled.tsv"
COLUMNS = ["split", "label", "category", "level", "lang", "kind", "text"]


@dataclass(frozen=True)
class Example:
    split: str
    label: int
    category: str
    level: str
    lang: str
    kind: str
    text: str


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    misses: list[Example] = field(default_factory=list)
    false_alarms: list[Example] = field(default_factory=list)
    level_agree: int = 0

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def line(self, name: str) -> str:
        return (f"{name}: precision {self.precision:.3f} recall {self.recall:.3f} "
                f"(n={self.total}: positives {self.tp + self.fn}, negatives {self.fp + self.tn}; "
                f"TP {self.tp} FP {self.fp} FN {self.fn} TN {self.tn}; "
                f"level agrees on {self.level_agree}/{self.tp} true positives)")


def load_examples(path: Path = LABELLED_PATH) -> list[Example]:
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    reader = csv.reader(rows, delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader)
    if header != COLUMNS:
        raise ValueError(f"{path}: header must be {COLUMNS}, got {header}")
    examples = []
    for n, row in enumerate(reader, start=2):
        if len(row) != len(COLUMNS):
            raise ValueError(f"{path}: row {n} has {len(row)} columns: {row}")
        ex = Example(**dict(zip(COLUMNS, row, strict=True)) | {"label": int(row[1])})
        examples.append(ex)
    return examples


def score(examples: list[Example]) -> Score:
    result = Score()
    for ex in examples:
        hit = detect(ex.text)
        if ex.label:
            if hit:
                result.tp += 1
                result.level_agree += hit.level == ex.level
            else:
                result.fn += 1
                result.misses.append(ex)
        elif hit:
            result.fp += 1
            result.false_alarms.append(ex)
        else:
            result.tn += 1
    return result


def report(examples: list[Example], verbose: bool = False) -> str:
    lines = [score(examples).line("all")]
    for split in sorted({ex.split for ex in examples}):
        lines.append(score([ex for ex in examples if ex.split == split]).line(split))
    if verbose:
        result = score(examples)
        lines += [f"  MISS  [{ex.split}] {ex.category}/{ex.level}: {ex.text}" for ex in result.misses]
        lines += [f"  FALSE [{ex.split}] {ex.kind}: {ex.text}" for ex in result.false_alarms]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--split")
    args = parser.parse_args()
    examples = load_examples()
    if args.split:
        examples = [ex for ex in examples if ex.split == args.split]
    print(report(examples, verbose=args.verbose))


if __name__ == "__main__":
    main()
