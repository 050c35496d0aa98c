"""Train the second stage on the corpus's ``train`` split and write data/model.json.gz.

    .venv/bin/python -m chat.crisis.train             # cross-validate, pick C and the threshold, write the artifact
    .venv/bin/python -m chat.crisis.train --compare   # also print the candidates compared by cross-validation

Deterministic: the same corpus gives the same artifact (lbfgs, fixed fold assignment). Only the
``train`` split is read; the blind split is never seen here. Needs scikit-learn (training only;
scoring at run time is pure Python, model.py).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
from collections import Counter

from . import corpus
from .detector import CATEGORIES, message_features
from .features import counts
from .model import ARTIFACT_PATH, FORMAT

CLASSES = ("none",) + CATEGORIES
C_GRID = (3.0, 10.0, 30.0)
TARGET_RECALL = 0.91      # pick the threshold that keeps cross-validated recall at least this
MIN_DF = 2
FOLDS = 5


def featurize(rows, with_lexicon: bool) -> list[Counter]:
    return [message_features(r.text)[0] if with_lexicon else counts(r.text) for r in rows]


class Vectorizer:
    def __init__(self, docs: list[Counter]):
        df: Counter = Counter()
        for doc in docs:
            df.update(doc.keys())
        self.names = sorted(name for name, n in df.items() if n >= MIN_DF)
        self.index = {name: i for i, name in enumerate(self.names)}
        n = len(docs)
        self.idf = [math.log((1 + n) / (1 + df[name])) + 1.0 for name in self.names]

    def transform(self, docs: list[Counter]):
        from scipy.sparse import csr_matrix

        data, indices, indptr = [], [], [0]
        for doc in docs:
            vals = [(self.index[k], (1.0 + math.log(c)) * self.idf[self.index[k]]) for k, c in doc.items()
                    if k in self.index]
            norm = math.sqrt(sum(v * v for _, v in vals)) or 1.0
            for i, v in sorted(vals):
                indices.append(i)
                data.append(v / norm)
            indptr.append(len(indices))
        return csr_matrix((data, indices, indptr), shape=(len(docs), len(self.names)))


def _targets(rows):
    return [CLASSES.index(r.category) if r.label else 0 for r in rows]


def fit(docs, rows, c: float):
    from sklearn.linear_model import LogisticRegression

    vec = Vectorizer(docs)
    x = vec.transform(docs)
    clf = LogisticRegression(C=c, max_iter=3000)
    clf.fit(x, _targets(rows))
    pos = [i for i, r in enumerate(rows) if r.label]
    lvl = LogisticRegression(C=c, max_iter=3000)
    lvl.fit(x[pos], [int(rows[i].level == "high") for i in pos])
    return vec, clf, lvl


def folds(rows) -> list[int]:
    # deterministic, stratified by label: every FOLDS-th row of each label in id order
    out, seen = [0] * len(rows), Counter()
    for i, r in enumerate(rows):
        out[i] = seen[r.label] % FOLDS
        seen[r.label] += 1
    return out


def oof_risk(rows, docs, c: float) -> list[float]:
    fold = folds(rows)
    risk = [0.0] * len(rows)
    for k in range(FOLDS):
        tr = [i for i in range(len(rows)) if fold[i] != k]
        te = [i for i in range(len(rows)) if fold[i] == k]
        vec, clf, _ = fit([docs[i] for i in tr], [rows[i] for i in tr], c)
        p = clf.predict_proba(vec.transform([docs[i] for i in te]))
        for j, i in enumerate(te):
            risk[i] = 1.0 - p[j][0]
    return risk


def pr_at(risk, rows, t):
    tp = sum(1 for r, x in zip(rows, risk, strict=True) if r.label and x >= t)
    fp = sum(1 for r, x in zip(rows, risk, strict=True) if not r.label and x >= t)
    pos = sum(r.label for r in rows)
    return (tp / (tp + fp) if tp + fp else 1.0), tp / pos


def pick_threshold(risk, rows, target=TARGET_RECALL) -> float:
    best = 0.05
    for step in range(5, 96):
        t = step / 100
        _, rec = pr_at(risk, rows, t)
        if rec >= target:
            best = t
    return best


def choose(rows, compare: bool):
    """Cross-validate each candidate on train; return the best (with_lexicon, C, threshold)."""
    results = []
    for with_lex in (False, True):
        docs = featurize(rows, with_lex)
        for c in C_GRID:
            risk = oof_risk(rows, docs, c)
            t = pick_threshold(risk, rows)
            p, r = pr_at(risk, rows, t)
            results.append((p, r, with_lex, c, t))
            if compare:
                print(f"cv: lexicon features {with_lex!s:5} C={c:<5} threshold {t:.2f}: precision {p:.3f} recall {r:.3f}")
    if compare:
        lex = [corpus_hit(r) for r in rows]
        tp = sum(1 for r, h in zip(rows, lex, strict=True) if r.label and h)
        fp = sum(1 for r, h in zip(rows, lex, strict=True) if not r.label and h)
        print(f"cv: lexicon alone (tuned on part of train): precision {tp / (tp + fp):.3f} "
              f"recall {tp / sum(r.label for r in rows):.3f}")
    results.sort(key=lambda x: (x[0], x[1]), reverse=True)
    return results[0]


def corpus_hit(row) -> bool:
    from .matcher import detect

    return detect(row.text) is not None


def build(compare: bool = False) -> dict:
    rows_all = corpus.load()
    rows = [r for r in rows_all if r.split == "train"]
    p, r, with_lex, c, threshold = choose(rows, compare)
    docs = featurize(rows, with_lex)
    vec, clf, lvl = fit(docs, rows, c)
    coef = [[round(float(clf.coef_[k][i]), 5) for k in range(len(CLASSES))] + [round(float(lvl.coef_[0][i]), 5)]
            for i in range(len(vec.names))]
    return {
        "format": FORMAT,
        "trained_on": {"rows": len(rows), "train_sha256": corpus.digest(rows_all, "train")},
        "classes": list(CLASSES),
        "lexicon_features": with_lex,
        "C": c,
        "threshold": threshold,
        "cv": {"precision": round(p, 4), "recall": round(r, 4), "target_recall": TARGET_RECALL},
        "features": vec.names,
        "idf": [round(x, 5) for x in vec.idf],
        "coef": coef,
        "intercept": [round(float(x), 5) for x in clf.intercept_] + [round(float(lvl.intercept_[0]), 5)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--compare", action="store_true")
    args = parser.parse_args()
    artifact = build(compare=args.compare)
    with gzip.GzipFile(ARTIFACT_PATH, "wb", mtime=0) as fh:
        fh.write(json.dumps(artifact, separators=(",", ":")).encode())
    print(f"wrote {ARTIFACT_PATH.name}: {len(artifact['features'])} features, C={artifact['C']}, "
          f"lexicon features {artifact['lexicon_features']}, threshold {artifact['threshold']}, "
          f"cross-validated precision {artifact['cv']['precision']} recall {artifact['cv']['recall']}, "
          f"{ARTIFACT_PATH.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
