"""When a quote answers: a logistic model over a candidate sentence's signals, calibrated.

Hand-set weights and one threshold could not tell a near miss from an answer across genres;
a small model learned from labelled questions can, and its output is a probability, so the
threshold is chosen for a stated precision and every answer carries its confidence.

The weights live in ``decision.json`` next to this file, one entry per embedding model (the
dense signals differ between models), written by ``scripts/train_answerer.py`` from the
development set's train split (``eval/dev``). Nothing here reads the held-out evaluation set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

WEIGHTS = Path(__file__).with_name("decision.json")
Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Decision:
    """A fitted logistic model: standardised features, weights, bias, and its threshold."""

    features: tuple[str, ...]
    mean: Matrix
    scale: Matrix
    weights: Matrix
    bias: float
    threshold: float

    def probability(self, x: Matrix) -> Matrix:
        """P(the candidate answers the question) for each row of features."""
        z = ((x - self.mean) / self.scale) @ self.weights + self.bias
        result: Matrix = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        return result

    def to_dict(self) -> dict[str, Any]:
        """The JSON form ``decision.json`` keeps."""
        return {
            "features": list(self.features),
            "mean": self.mean.round(6).tolist(),
            "scale": self.scale.round(6).tolist(),
            "weights": self.weights.round(6).tolist(),
            "bias": round(self.bias, 6),
            "threshold": round(self.threshold, 4),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        """From ``to_dict``'s form."""
        return cls(
            features=tuple(data["features"]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            weights=np.asarray(data["weights"], dtype=np.float64),
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
        )


def fit(
    features: tuple[str, ...], x: Matrix, y: Matrix, l2: float = 1.0, steps: int = 3000
) -> Decision:
    """Logistic regression by gradient descent with an L2 penalty (threshold left at 0.5)."""
    mean = x.mean(axis=0)
    scale = np.where(x.std(axis=0) > 1e-9, x.std(axis=0), 1.0)
    z = (x - mean) / scale
    w = np.zeros(x.shape[1])
    b = 0.0
    n = len(y)
    rate = 0.5
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w + b, -30, 30)))
        w -= rate * (z.T @ (p - y) / n + l2 * w / n)
        b -= rate * float(np.mean(p - y))
    return Decision(features, mean, scale, w, b, 0.5)


def load_all() -> dict[str, Decision]:
    """Every trained model in ``decision.json``, by embedding model id."""
    data = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    return {model: Decision.from_dict(entry) for model, entry in data["models"].items()}


@lru_cache(maxsize=8)
def decision_for(model_id: str) -> Decision:
    """The model trained with this embedder, else the default embedder's.

    The fallback is uncalibrated: an embedding served over the API has its own scale.
    """
    models = load_all()
    data = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    return models.get(model_id) or models[data["default"]]
