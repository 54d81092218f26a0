"""Train the offline answerer's decision model on the development set, and report on it.

Run: .venv/bin/python scripts/train_answerer.py [--models e5,minilm] [--precision 0.9]

The development set is ``eval/dev`` (six documents of different genres, questions in
``questions-*.jsonl``, each line marked ``split`` train or test). Only the train split is
learned from; the test split is reported. ``eval/sternik.jsonl`` is held out and never read.

For each embedding model: the documents are ingested into a temporary store; every train
question is retrieved as the pipeline does, and each candidate sentence the answerer sees is
labelled 1 when it holds the question's gold evidence. A logistic model is fitted, and its
threshold set where the most train questions are handled right (the fact quoted, or an
unanswerable question declined), among thresholds whose answers on the train split are
right at least ``--precision`` of the time (an answer is right when its quote holds the
evidence or the reference answer; for an unanswerable question any answer is wrong). The
models go to ``rag/answering/decision.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.indexer import Indexer  # noqa: E402
from rag.answering.decision import WEIGHTS, Decision, fit  # noqa: E402
from rag.answering.extractive import ExtractiveAnswerer  # noqa: E402
from rag.answering.signals import FEATURES  # noqa: E402
from rag.evaluation.metrics import normalise  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store import Store  # noqa: E402

DEV = ROOT / "eval" / "dev"
MODELS = {"e5": "multilingual-e5-small-q4", "minilm": "all-MiniLM-L6-v2-int8"}
DEFAULT = "onnx:multilingual-e5-small-q4"


def questions(split: str) -> list[dict[str, Any]]:
    """The development questions of one split."""
    rows = []
    for path in sorted(DEV.glob("questions-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row.get("split") == split:
                    rows.append(row)
    return rows


def holds(text: str, evidence: list[str]) -> bool:
    """Whether a quoted text holds any of the gold evidence."""
    return any(normalise(e) in normalise(text) for e in evidence)


def examples(pipeline: Pipeline, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per question: each candidate's features and label, and the question's facts."""
    answerer = pipeline.answerer
    assert isinstance(answerer, ExtractiveAnswerer)
    out = []
    for row in rows:
        request = pipeline.retrieve(
            pipeline.request(row["question"], [tuple(t) for t in row.get("history", [])])
        )
        found, features = answerer.features(request)
        evidence = row.get("evidence") or []
        labels = np.array([holds(c.text, evidence) for c in found], dtype=np.float64)
        reference = row.get("reference")
        right = [
            bool(y) or bool(reference and holds(c.text, [reference]))
            for c, y in zip(found, labels, strict=True)
        ]
        out.append({"row": row, "x": features, "y": labels, "right": right})
    return out


def outcomes(decision: Decision, data: list[dict[str, Any]]) -> list[tuple[float, bool, bool]]:
    """Per question: the top candidate's probability, whether it is right, answerable."""
    result = []
    for item in data:
        answerable = item["row"].get("answerable", True) is not False
        if not len(item["y"]):
            result.append((0.0, False, answerable))
            continue
        p = decision.probability(item["x"])
        top = int(np.argmax(p))
        result.append((float(p[top]), item["right"][top] and answerable, answerable))
    return result


def choose_threshold(results: list[tuple[float, bool, bool]], precision: float) -> float:
    """The threshold that handles most train questions right, among precise enough ones.

    Right: the fact quoted, or an unanswerable question declined; precise enough: the answers
    given are right at least ``precision`` of the time.
    """
    best, best_score = 0.99, -1
    for threshold in sorted({round(p, 4) for p, _, _ in results}):
        answered = [right for p, right, _ in results if p >= threshold]
        if not answered or sum(answered) / len(answered) < precision:
            continue
        score = sum(answered) + sum(not a for p, _, a in results if p < threshold)
        if score > best_score:
            best, best_score = threshold, score
    return best


def report(name: str, results: list[tuple[float, bool, bool]], threshold: float) -> dict[str, Any]:
    """Precision of answers and of declines, and how often each outcome happens."""
    answered = [(right, a) for p, right, a in results if p >= threshold]
    declined = [(right, a) for p, right, a in results if p < threshold]
    answerable = sum(a for _, _, a in results)
    figures = {
        "questions": len(results),
        "answer_precision": round(sum(r for r, _ in answered) / max(len(answered), 1), 3),
        "decline_precision": round(sum(not a for _, a in declined) / max(len(declined), 1), 3),
        "right_answers": round(sum(r for r, _ in answered) / max(answerable, 1), 3),
        "wrong_declines": round(sum(a for _, a in declined) / max(answerable, 1), 3),
        "correct_declines": f"{sum(not a for _, a in declined)}/{len(results) - answerable}",
    }
    print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    return figures


def train(model: str, precision: float) -> tuple[Decision, dict[str, Any]]:
    """Fit one embedder's decision model and report on both splits."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), embedding_model=model)
        with Store.open(settings, write=True) as store:
            Indexer(store).ingest([DEV / "docs"])
        with Pipeline.open(settings) as pipeline:
            train_data = examples(pipeline, questions("train"))
            test_data = examples(pipeline, questions("test"))
    x = np.vstack([d["x"] for d in train_data if len(d["y"])])
    y = np.concatenate([d["y"] for d in train_data if len(d["y"])])
    decision = fit(FEATURES, x, y)
    threshold = choose_threshold(outcomes(decision, train_data), precision)
    decision = Decision(**{**decision.__dict__, "threshold": threshold})
    print(f"{model}: {len(y)} candidates ({int(y.sum())} positive), threshold {threshold}")
    stats = {
        "train": report("train", outcomes(decision, train_data), threshold),
        "test": report("test", outcomes(decision, test_data), threshold),
        "weights": dict(zip(FEATURES, decision.weights.round(3).tolist(), strict=True)),
    }
    return decision, stats


def main() -> None:
    """Train every model asked for and write ``decision.json``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="e5,minilm")
    parser.add_argument("--precision", type=float, default=0.4)
    args = parser.parse_args()
    out: dict[str, Any] = {"default": DEFAULT, "precision": args.precision, "models": {}}
    stats = {}
    for key in args.models.split(","):
        decision, stats[key] = train(MODELS[key], args.precision)
        out["models"][f"onnx:{MODELS[key]}"] = decision.to_dict()
    WEIGHTS.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
