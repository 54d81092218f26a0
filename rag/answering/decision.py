"""Which sentence answers, and whether it does: two small models over the candidates' signals.

Hand-set weights and one threshold could not tell a near miss from an answer across genres;
models learned from labelled questions can, and their output is a probability, so the
threshold is chosen for a stated precision and every answer carries its confidence.

- The *chooser* scores every candidate sentence of a question (a linear model trained with a
  softmax over each question's candidates: it learns which sentence is the answer, given that
  one is).
- The *decider* looks at the chooser's best candidate (its score, its lead over the runner-up,
  its own signals) and gives the probability that quoting it answers the question: logistic
  regression, trained on answerable and unanswerable questions alike.

Both live in ``decision.json`` next to this file, one entry per embedding model (dense signals
differ between models), written by ``scripts/train_answerer.py`` from the development set's
train split (``eval/dev``). Nothing here reads the held-out evaluation set.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

WEIGHTS = Path(__file__).with_name("decision.json")
Matrix = npt.NDArray[np.float64]
# The chooser's best candidate's own signals that the decider also reads.
DECIDER_SIGNALS = (
    "coverage",
    "attribute",
    "rarest",
    "kind_match",
    "unit_match",
    "names",
    "known",
    "attribute_known",
)
DECIDER_INPUTS = ("top", "margin", *DECIDER_SIGNALS)
# Signals that can only speak for a candidate, never against it: covering more of the
# question, holding the kind and unit of fact asked for, naming its names (all the decider's
# signals are such), a higher score or lead, a better retrieval rank. Their weights are
# kept >= 0 while fitting; without that, the paraphrased training questions (written to share
# few words with their answers) teach the models that matching words is a bad sign.
# JSON keys of a logistic model's mean, scale, weights and bias; decision.json's decider
# has its own.
LOGISTIC_KEYS = ("mean", "scale", "weights", "bias")
DECIDER_KEYS = ("decider_mean", "decider_scale", "decider", "bias")
MONOTONE = frozenset({*DECIDER_SIGNALS, "top", "margin", "rank", "header_for_document"})


@dataclass(frozen=True)
class Decision:
    """The fitted chooser and decider, with the decider's threshold."""

    features: tuple[str, ...]
    mean: Matrix
    scale: Matrix
    chooser: Matrix
    decider: Logistic
    threshold: float

    def scores(self, x: Matrix) -> Matrix:
        """The chooser's score of each candidate (a row of signals each); higher is likelier."""
        result: Matrix = ((x - self.mean) / self.scale) @ self.chooser
        return result

    def inputs(self, x: Matrix, scores: Matrix) -> Matrix:
        """What the decider reads about the best candidate."""
        order = np.argsort(-scores)
        top = int(order[0])
        margin = float(scores[top] - scores[order[1]]) if len(order) > 1 else 5.0
        own = [x[top, self.features.index(name)] for name in DECIDER_SIGNALS]
        return np.array([float(scores[top]), margin, *own], dtype=np.float64)

    def probability(self, inputs: Matrix) -> float:
        """P(quoting the best candidate answers the question)."""
        return self.decider.probability(inputs)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form ``decision.json`` keeps."""
        return {
            "features": list(self.features),
            "mean": self.mean.round(6).tolist(),
            "scale": self.scale.round(6).tolist(),
            "chooser": self.chooser.round(6).tolist(),
            "decider_inputs": list(DECIDER_INPUTS),
            **self.decider.to_dict(DECIDER_KEYS),
            "threshold": round(self.threshold, 4),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        """From ``to_dict``'s form."""

        def array(key: str) -> Matrix:
            return np.asarray(data[key], dtype=np.float64)

        return cls(
            features=tuple(data["features"]),
            mean=array("mean"),
            scale=array("scale"),
            chooser=array("chooser"),
            decider=Logistic.from_dict(data, DECIDER_KEYS),
            threshold=float(data["threshold"]),
        )


def _standardise(x: Matrix) -> tuple[Matrix, Matrix]:
    scale = x.std(axis=0)
    return x.mean(axis=0), np.where(scale > 1e-9, scale, 1.0)


def fit_chooser(
    features: tuple[str, ...],
    groups: Sequence[tuple[Matrix, Matrix]],
    l2: float = 0.01,
    steps: int = 1500,
    rate: float = 0.5,
) -> Decision:
    """Learn the chooser from (signals, 0/1 labels) per question.

    Questions without a labelled answer among their candidates teach it nothing: skipped.
    """
    usable = [(x, y) for x, y in groups if len(y) and y.sum() > 0]
    mean, scale = _standardise(np.vstack([x for x, _ in usable]))
    standard = [((x - mean) / scale, y / y.sum()) for x, y in usable]
    w = np.zeros(len(features))
    monotone = np.array([name in MONOTONE for name in features])
    for _ in range(steps):
        gradient = np.zeros_like(w)
        for z, target in standard:
            s = z @ w
            p = np.exp(s - s.max())
            gradient += z.T @ (p / p.sum() - target)
        w -= rate * (gradient / len(standard) + l2 * w)
        w[monotone] = np.maximum(w[monotone], 0.0)
    empty = np.zeros(len(DECIDER_INPUTS))
    return Decision(features, mean, scale, w, Logistic(empty, empty + 1, empty, 0.0), 0.5)


@dataclass(frozen=True)
class Logistic:
    """A logistic regression over standardised inputs: the small model this project learns."""

    mean: Matrix
    scale: Matrix
    weights: Matrix
    bias: float

    def probability(self, x: Matrix) -> float:
        """P(positive) for one row of inputs."""
        z = float(((x - self.mean) / self.scale) @ self.weights) + self.bias
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))

    def to_dict(self, keys: tuple[str, str, str, str] = LOGISTIC_KEYS) -> dict[str, Any]:
        """The JSON form, under ``keys`` for mean, scale, weights and bias."""
        mean, scale, weights, bias = keys
        return {
            mean: self.mean.round(6).tolist(),
            scale: self.scale.round(6).tolist(),
            weights: self.weights.round(6).tolist(),
            bias: round(self.bias, 6),
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], keys: tuple[str, str, str, str] = LOGISTIC_KEYS
    ) -> Logistic:
        """From ``to_dict``'s form."""
        mean, scale, weights, bias = (data[key] for key in keys)
        return cls(
            np.asarray(mean, dtype=np.float64),
            np.asarray(scale, dtype=np.float64),
            np.asarray(weights, dtype=np.float64),
            float(bias),
        )


def fit_logistic(
    x: Matrix, y: Matrix, monotone: Sequence[bool], l2: float = 1.0, steps: int = 3000
) -> Logistic:
    """Fit by gradient descent; weights marked ``monotone`` are kept >= 0 (see MONOTONE)."""
    mean, scale = _standardise(x)
    z = (x - mean) / scale
    w = np.zeros(z.shape[1])
    keep = np.array(monotone, dtype=bool)
    b = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w + b, -30, 30)))
        w -= 0.5 * (z.T @ (p - y) + l2 * w) / len(y)
        w[keep] = np.maximum(w[keep], 0.0)
        b -= 0.5 * float(np.mean(p - y))
    return Logistic(mean, scale, w, b)


def fit_decider(
    decision: Decision, inputs: Matrix, right: Matrix, l2: float = 1.0, steps: int = 3000
) -> Decision:
    """Learn the decider from the best candidate's inputs and whether quoting it was right."""
    monotone = [name in MONOTONE for name in DECIDER_INPUTS]
    return replace(decision, decider=fit_logistic(inputs, right, monotone, l2, steps))


@lru_cache(maxsize=8)
def decision_for(model_id: str) -> Decision:
    """The models trained with this embedder, else the default embedder's.

    The fallback is uncalibrated: an embedding served over the API has its own scale.
    """
    return Decision.from_dict(trained_for(WEIGHTS, model_id))


def trained_for(path: Path, model_id: str) -> dict[str, Any]:
    """A weights file's entry for this embedder, else its default embedder's."""
    data = json.loads(path.read_text(encoding="utf-8"))
    entry: dict[str, Any] = data["models"].get(model_id) or data["models"][data["default"]]
    return entry
