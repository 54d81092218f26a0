"""Train the offline answerer's decision models on the development set, and report on them.

Run: .venv/bin/python scripts/train_answerer.py [--models e5,minilm] [--precision 0.55]
     [--data-dir DIR]

The development set is ``eval/dev`` (six documents of different genres written for it, 25
real documentation pages in ``docs-real``, questions in ``questions-*.jsonl``, each line
marked ``split`` train or test), plus, for training, the
earlier development questions about the bundled article (``tests/data/qa.jsonl`` and
``ru_questions.jsonl``). Only the train split is learned from; the test split is reported.
``eval/sternik.jsonl`` is held out and never read.

For each embedding model: the documents are ingested into a temporary store; every train
question is retrieved as the pipeline does, and each candidate sentence the answerer sees is
labelled 1 when it holds the question's gold evidence. The chooser learns from those labels
which candidate answers; the decider learns, from the chooser's best candidate of every
train question, whether quoting it is right (it holds the evidence or the reference answer;
for an unanswerable question any answer is wrong). The decider's threshold is set where the
most train questions are handled right (the fact quoted, or an unanswerable question
declined), among thresholds whose train answers are right at least ``--precision`` (0.55)
of the time. The models go to ``rag/answering/decision.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.indexer import Indexer  # noqa: E402
from rag.answering.decision import (  # noqa: E402
    DECIDER_INPUTS,
    WEIGHTS,
    Decision,
    fit_chooser,
    fit_decider,
)
from rag.answering.extractive import ExtractiveAnswerer  # noqa: E402
from rag.answering.signals import FEATURES  # noqa: E402
from rag.evaluation.metrics import normalise  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.settings import DEFAULT_CORPUS, Settings  # noqa: E402
from rag.store import Store  # noqa: E402

DEV = ROOT / "eval" / "dev"
ARTICLE = DEFAULT_CORPUS
MODELS = {"e5": "multilingual-e5-small-q4", "minilm": "all-MiniLM-L6-v2-int8"}
DEFAULT = "onnx:multilingual-e5-small-q4"


def questions(split: str) -> list[dict[str, Any]]:
    """The development questions of one split.

    The train split also has the questions about the bundled article written earlier for the
    answerer's tests (``tests/data/qa.jsonl``, ``ru_questions.jsonl``): they ask the way
    people do, reusing the article's words, where the new set paraphrases on purpose.
    """
    rows = [] if split != "train" else article_questions()
    for path in sorted(DEV.glob("questions-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row.get("split") == split:
                    rows.append(row)
    return rows


def article_questions() -> list[dict[str, Any]]:
    """The earlier development questions about the bundled article, in this set's fields."""
    rows = []
    for name in ("qa.jsonl", "ru_questions.jsonl"):
        for line in (ROOT / "tests" / "data" / name).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            expected = row.get("expected")
            reference = expected[0] if isinstance(expected, list) else expected
            evidence = row.get("evidence")
            rows.append(
                {
                    **row,
                    "doc": ARTICLE.name,
                    "split": "train",
                    "lang": "ru" if name.startswith("ru") else "en",
                    "kind": "unanswerable" if row.get("answerable") is False else "article",
                    "reference": reference,
                    "evidence": [evidence] if isinstance(evidence, str) else evidence or [],
                }
            )
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
        # Quoting a candidate is right when it holds the evidence or the reference, or when
        # the passage it cites does (the reader finds the fact one click away): how
        # ``scripts/eval_dev.py`` counts answers.
        right = [
            bool(y)
            or bool(reference and holds(c.text, [reference]))
            or holds(c.passage.text, evidence)
            for c, y in zip(found, labels, strict=True)
        ]
        out.append({"row": row, "x": features, "y": labels, "right": right})
    return out


def tops(decision: Decision, data: list[dict[str, Any]]) -> list[tuple[Any, bool, bool]]:
    """Per question: the decider's inputs, whether quoting the top is right, answerable."""
    result = []
    for item in data:
        answerable = item["row"].get("answerable", True) is not False
        if not len(item["y"]):
            result.append((None, False, answerable))
            continue
        scores = decision.scores(item["x"])
        top = int(np.argmax(scores))
        inputs = decision.inputs(item["x"], scores)
        result.append((inputs, item["right"][top] and answerable, answerable))
    return result


def outcomes(decision: Decision, data: list[dict[str, Any]]) -> list[tuple[float, bool, bool]]:
    """Per question: the decider's probability, whether quoting the top is right, answerable."""
    return [
        (decision.probability(inputs) if inputs is not None else 0.0, right, answerable)
        for inputs, right, answerable in tops(decision, data)
    ]


def choose_threshold(results: list[tuple[float, bool, bool]], precision: float) -> float:
    """The threshold that handles most train questions right, among precise enough ones.

    Right: the fact quoted, or an unanswerable question declined. Precise enough: the answers
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


def train(model: str, precision: float, data_dir: Path | None) -> tuple[Decision, dict[str, Any]]:
    """Fit one embedder's decision model and report on both splits.

    ``data_dir``: a store to ingest into and keep (a second run finds everything ingested),
    else a temporary one.
    """
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=data_dir or Path(tmp), embedding_model=model)
        with Store.open(settings, write=True) as store:
            Indexer(store).ingest([DEV / "docs", DEV / "docs-real", ARTICLE])
        with Pipeline.open(settings) as pipeline:
            train_data = examples(pipeline, questions("train"))
            test_data = examples(pipeline, questions("test"))
    decision = fit_chooser(FEATURES, [(d["x"], d["y"]) for d in train_data])
    seen = [
        (inputs, right) for inputs, right, _ in tops(decision, train_data) if inputs is not None
    ]
    decision = fit_decider(
        decision,
        np.vstack([inputs for inputs, _ in seen]),
        np.array([right for _, right in seen], dtype=np.float64),
    )
    threshold = choose_threshold(outcomes(decision, train_data), precision)
    decision = replace(decision, threshold=threshold)
    candidates = sum(len(d["y"]) for d in train_data)
    positive = int(sum(d["y"].sum() for d in train_data))
    print(f"{model}: {candidates} candidates ({positive} positive), threshold {threshold}")
    for name, data in (("train", train_data), ("test", test_data)):
        answerable = [d for d in data if d["y"].sum() > 0]
        chosen = sum(d["y"][int(np.argmax(decision.scores(d["x"])))] for d in answerable)
        print(f"  {name}: the chooser picks the gold sentence: {int(chosen)}/{len(answerable)}")
    stats = {
        "train": report("train", outcomes(decision, train_data), threshold),
        "test": report("test", outcomes(decision, test_data), threshold),
        "chooser": dict(zip(FEATURES, decision.chooser.round(3).tolist(), strict=True)),
        "decider": dict(
            zip(DECIDER_INPUTS, decision.decider.weights.round(3).tolist(), strict=True)
        ),
    }
    return decision, stats


def main() -> None:
    """Train every model asked for and write ``decision.json``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="e5,minilm")
    parser.add_argument("--precision", type=float, default=0.55)
    parser.add_argument(
        "--data-dir", type=Path, help="keep each model's store under DIR/e5, DIR/minilm"
    )
    args = parser.parse_args()
    # Models not trained this time keep their weights.
    kept = json.loads(WEIGHTS.read_text(encoding="utf-8"))["models"] if WEIGHTS.exists() else {}
    out: dict[str, Any] = {"default": DEFAULT, "precision": args.precision, "models": kept}
    stats = {}
    for key in args.models.split(","):
        data_dir = args.data_dir / key if args.data_dir else None
        decision, stats[key] = train(MODELS[key], args.precision, data_dir)
        out["models"][f"onnx:{MODELS[key]}"] = decision.to_dict()
    WEIGHTS.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
