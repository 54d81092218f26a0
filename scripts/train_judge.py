"""Fit the support judge (``rag/answering/support.py``) on labelled claim/passage pairs.

Run: .venv/bin/python scripts/train_judge.py [--models e5,minilm] [--repair-recall 0.95]

Reads the train split of ``eval/support/pairs.jsonl`` (claims written for the development
documents, about half of them hard negatives: another number, name or country, a negation,
a claim only partly stated), computes the judge's signals for each with each bundled
embedder, and fits the same logistic model the answerer's decider uses, every weight kept
>= 0 (each signal can only speak for support). Two thresholds, both chosen on the train
split: ``judge``, where the most train labels are agreed with (evaluation), and ``repair``,
the highest one that still passes ``--repair-recall`` of the supported train pairs (citation
repair: a good model answer must reach the user intact). Writes ``rag/answering/support.json``
and prints agreement, precision and recall on both splits. The word weights are BM25's idf
over the pairs' passages, as a store of those documents gives them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answering.decision import fit_logistic  # noqa: E402
from rag.answering.support import SIGNALS, WEIGHTS, support_signals  # noqa: E402
from rag.embeddings import get_embedder  # noqa: E402
from rag.evaluation.judges import verdict_figures  # noqa: E402
from rag.retrieval.bm25 import BM25Index  # noqa: E402

PAIRS = ROOT / "eval" / "support" / "pairs.jsonl"
MODELS = {"e5": "multilingual-e5-small-q4", "minilm": "all-MiniLM-L6-v2-int8"}
DEFAULT = "onnx:multilingual-e5-small-q4"


def figures(p: np.ndarray, y: np.ndarray, threshold: float) -> dict[str, Any]:
    """Agreement, and precision and recall of "supported", at a threshold."""
    return verdict_figures(list(p >= threshold), list(y))


def main() -> None:
    """Fit each embedder's model, write support.json, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="e5,minilm")
    parser.add_argument("--repair-recall", type=float, default=0.95)
    args = parser.parse_args()
    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    idf = BM25Index.over([t for p in pairs for t in p["passages"]]).idf
    out: dict[str, Any] = {"default": DEFAULT, "signals": list(SIGNALS), "models": {}}
    report = {}
    for key in args.models.split(","):
        embedder = get_embedder("onnx", MODELS[key])
        x = np.array(
            [
                support_signals(embedder, p["claim"], "\n\n".join(p["passages"]), idf)[1]
                for p in pairs
            ]
        )
        y = np.array([bool(p["label"]) for p in pairs])
        train = np.array([p["split"] == "train" for p in pairs])
        model = fit_logistic(x[train], y[train].astype(float), [True] * len(SIGNALS))
        p = np.array([model.probability(row) for row in x])
        grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
        judge = float(max(grid, key=lambda t: (figures(p[train], y[train], t)["agreement"], -t)))
        passing = [
            t for t in grid if figures(p[train], y[train], t)["recall"] >= args.repair_recall
        ]
        repair = float(max(passing)) if passing else float(grid[0])
        out["models"][f"onnx:{MODELS[key]}"] = {**model.to_dict(), "repair": repair, "judge": judge}
        report[key] = {
            "weights": dict(zip(SIGNALS, model.weights.round(3).tolist(), strict=True)),
            "judge_threshold": judge,
            "repair_threshold": repair,
            **{
                f"{split}@{name}": figures(p[mask], y[mask], threshold)
                for split, mask in (("train", train), ("test", ~train))
                for name, threshold in (("judge", judge), ("repair", repair))
            },
        }
    WEIGHTS.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
