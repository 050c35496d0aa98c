"""The trained second stage at run time: a linear model over n-gram features (features.py),
loaded from the artifact data/model.json.gz that chat/crisis/train.py writes. Pure Python: no
numpy, nothing fetched; loading takes well under a second and the tables stay in memory.

    from chat.crisis.model import current_model
    probs = current_model().predict(counts)   # {"none": .., "suicide": .., "self_harm": .., "harm_others": .., "high": ..}
"""

from __future__ import annotations

import gzip
import json
import math
import threading
from array import array
from operator import itemgetter
from pathlib import Path

ARTIFACT_PATH = Path(__file__).resolve().parent / "data" / "model.json.gz"
FORMAT = 1


class ModelError(RuntimeError):
    """The artifact is missing, unreadable or of another format."""


class Model:
    __slots__ = ("index", "idf", "coef", "columns", "intercept", "classes", "width", "meta")

    def __init__(self, data: dict):
        if data.get("format") != FORMAT:
            raise ModelError(f"model artifact format {data.get('format')!r}, expected {FORMAT}")
        names = data["features"]
        self.index = {name: i for i, name in enumerate(names)}
        self.idf = array("d", data["idf"])
        self.classes = tuple(data["classes"]) + ("high",)
        self.width = len(self.classes)
        flat = array("d")
        for row in data["coef"]:
            flat.extend(row)
        if len(flat) != len(names) * self.width or len(self.idf) != len(names):
            raise ModelError("model artifact tables do not agree in size")
        self.coef = flat
        self.columns = tuple(flat[k::self.width] for k in range(self.width))  # one per output
        self.intercept = tuple(data["intercept"])
        self.meta = {k: v for k, v in data.items() if k not in ("features", "idf", "coef")}

    def predict(self, features) -> dict[str, float]:
        """Class probabilities (softmax over none + categories) and the probability of `high`
        level (a separate logistic output), from a Counter of n-grams."""
        index, idf = self.index, self.idf
        at: list[int] = []
        values: list[float] = []
        for name, count in features.items():
            i = index.get(name)
            if i is None:
                continue
            at.append(i)
            values.append((1.0 + math.log(count)) * idf[i])
        width = self.width
        scores = list(self.intercept)
        norm = math.sumprod(values, values) if values else 0.0
        if norm:
            # The L2-normalised tf-idf vector times each output's coefficients: the products
            # summed in C (math.sumprod) over the coefficients gathered in C (itemgetter).
            scale = 1.0 / math.sqrt(norm)
            gather = itemgetter(*at) if len(at) > 1 else (lambda column: (column[at[0]],))
            for k, column in enumerate(self.columns):
                scores[k] += scale * math.sumprod(values, gather(column))
        n = width - 1
        top = max(scores[:n])
        exps = [math.exp(s - top) for s in scores[:n]]
        total = sum(exps)
        out = {c: e / total for c, e in zip(self.classes[:n], exps, strict=True)}
        out["high"] = 1.0 / (1.0 + math.exp(-scores[n]))
        return out


_lock = threading.Lock()
_model: Model | None = None


def load(path: Path | str = ARTIFACT_PATH) -> Model:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the model artifact {path}: {exc}") from exc
    try:
        return Model(data)
    except (KeyError, TypeError) as exc:
        raise ModelError(f"model artifact {path} is malformed: {exc}") from exc


def current_model() -> Model:
    """The loaded model (loaded on first use). Raises ModelError when it cannot be loaded."""
    global _model
    model = _model
    if model is None:
        with _lock:
            if _model is None:
                _model = load()
            model = _model
    return model


def reload_model(path: Path | str = ARTIFACT_PATH) -> Model:
    global _model
    model = load(path)
    with _lock:
        _model = model
    return model
