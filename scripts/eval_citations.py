"""How well citations are checked: the support judge on labelled pairs, repair on replayed answers.

Usage:
  .venv/bin/python scripts/eval_citations.py [--llm-url URL --llm-model NAME] [--misses]
      [--min NAME=VALUE ...]

Prints, for ``eval/support/pairs.jsonl`` per split, the offline judge's agreement with the
labels and its precision and recall of "supported" (and the LLM judge's on the test split
beside it with ``--llm-url``); then, for ``eval/replay/answers.jsonl``, what the generative
answerer's verification step delivers (``rag.evaluation.replay``). A figure under its
``--min`` floor (names as printed, e.g. ``judge_test_agreement``, ``kept_intact``) exits 3:
``scripts/test`` runs this as part of the evaluation guard. The word weights come from the
passages in the two files, as a store of those documents would give them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PAIRS = ROOT / "eval" / "support" / "pairs.jsonl"
REPLAY = ROOT / "eval" / "replay" / "answers.jsonl"


def main() -> None:
    """Measure, print, and exit 3 under a floor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm-url", help="OpenAI-compatible base URL for the LLM judge")
    parser.add_argument("--llm-model", default="smollm2")
    parser.add_argument("--misses", action="store_true", help="print every disagreement")
    parser.add_argument("--min", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()

    from rag.answering.support import best_support, support_model
    from rag.embeddings import embedder_for
    from rag.evaluation.judges import LLMJudge, OfflineJudge, agreement
    from rag.evaluation.replay import read_replay, score
    from rag.retrieval.bm25 import BM25Index
    from rag.settings import Settings

    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    replay = read_replay(REPLAY)
    texts = [t for p in pairs for t in p["passages"]] + [p.text for r in replay for p in r.passages]
    idf = BM25Index.over(texts).idf
    embedder = embedder_for(Settings())
    judges: dict[str, Any] = {"offline": OfflineJudge(embedder, idf)}
    if args.llm_url:
        settings = Settings(llm_base_url=args.llm_url, llm_model=args.llm_model, llm_timeout=120)
        judges["llm"] = LLMJudge(settings)

    figures: dict[str, float | None] = {}
    print(f"support judge, {PAIRS.relative_to(ROOT)}")
    print(f"{'judge':8} {'split':6} {'pairs':>5} {'agreement':>9} {'precision':>9} {'recall':>7}")
    for name, judge in judges.items():
        for split in ("train", "test") if name == "offline" else ("test",):
            rows = [p for p in pairs if p["split"] == split]
            result = agreement([(p["claim"], p["passages"], p["label"]) for p in rows], judge)
            figures[
                f"judge_{split}_agreement" if name == "offline" else f"llm_{split}_agreement"
            ] = result["agreement"]
            print(
                f"{name:8} {split:6} {result['pairs']:5} {result['agreement']:9} "
                f"{result['precision']!s:>9} {result['recall']!s:>7}"
            )
            if args.misses:
                for p, verdict in zip(rows, result["verdicts"], strict=True):
                    if verdict != p["label"]:
                        print(f"    {p['id']} {p['kind']:20} label={p['label']!s:5} {p['claim']}")

    model = support_model(embedder.model_id)
    replayed = score(
        replay, lambda claim, p: best_support(embedder, claim, p, idf), model.repair, model.judge
    )
    counts = replayed["counts"]
    print(f"\ncitation repair, {REPLAY.relative_to(ROOT)} ({len(replay)} answers)")
    for key, label in (
        ("kept_intact", "keep"),
        ("corrected", "move"),
        ("dropped", "drop"),
        ("answers_intact", "answers"),
    ):
        figures[key] = replayed[key]
        print(
            f"  {key:15} {replayed[key]!s:>7}  ({counts[label]['right']} of {counts[label]['of']})"
        )
    if args.misses:
        for miss in replayed["misses"]:
            print(f"    {json.dumps(miss, ensure_ascii=False)}")

    below = []
    for floor in args.min:
        name, _, value = floor.partition("=")
        if figures.get(name) is None or float(figures[name] or 0) < float(value):
            below.append(f"error: {name} {figures.get(name)} is below the minimum {value}")
    for line in below:
        print(line, file=sys.stderr)
    sys.exit(3 if below else 0)


if __name__ == "__main__":
    main()
