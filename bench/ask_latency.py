"""Latency of `ask` with the offline answerer, and the cold start of `rag ask` as a process.

Run: .venv/bin/python bench/ask_latency.py [--repeat 3] [--json bench/ask_latency.json]

Prints medians and percentiles; the machine is noisy, so compare figures from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rag.evaluation.metrics import percentile

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "tests" / "data" / "qa.jsonl"


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values), 2),
        "p95_ms": round(percentile(values, 95), 2),
        "max_ms": round(max(values), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="passes over the question set")
    parser.add_argument("--cold-runs", type=int, default=5, help="`rag ask` processes to time")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="rag-bench-")) / "data"
    env = {**os.environ, "RAG_DATA_DIR": str(data_dir)}
    rag = str(Path(sys.executable).parent / "rag")
    subprocess.run([rag, "ingest"], env=env, check=True, capture_output=True)

    os.environ["RAG_DATA_DIR"] = str(data_dir)
    from rag.api import Pipeline
    from rag.settings import Settings

    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    with Pipeline.open(Settings()) as pipeline:
        pipeline.ask("warm up the models")
        passes: list[list[float]] = []
        stages: dict[str, list[float]] = {"retrieve_ms": [], "generate_ms": []}
        for _ in range(args.repeat):
            wall = []
            for row in rows:
                history = [tuple(t) for t in row.get("history", [])]
                started = time.perf_counter()
                answer = pipeline.ask(row["question"], history)  # type: ignore[arg-type]
                wall.append(1000 * (time.perf_counter() - started))
                stages["retrieve_ms"].append(answer.timings.retrieve_ms)
                stages["generate_ms"].append(answer.timings.generate_ms)
            passes.append(wall)

    cold = []
    for _ in range(args.cold_runs):
        started = time.perf_counter()
        subprocess.run(
            [rag, "ask", "How long is the Uzbek-Afghan border?"],
            env=env,
            check=True,
            capture_output=True,
        )
        cold.append(1000 * (time.perf_counter() - started))

    figures = {
        "questions": len(rows),
        "first_pass": summary(passes[0]),
        "later_passes": summary([t for p in passes[1:] for t in p]) if len(passes) > 1 else None,
        "retrieve": summary(stages["retrieve_ms"]),
        "answer": summary(stages["generate_ms"]),
        "cold_rag_ask": summary(cold),
        "targets": {"warm_p50_ms": 15, "warm_p95_ms": 40, "cold_rag_ask_ms": 2500},
    }
    print(f"ask, offline answerer, {len(rows)} questions (tests/data/qa.jsonl), warm process:")
    print(f"  first pass (each question new; sentences from the store): {figures['first_pass']}")
    print(f"  later passes (the same questions, vectors cached):       {figures['later_passes']}")
    print(f"  stage retrieve: {figures['retrieve']}")
    print(f"  stage answer:   {figures['answer']}")
    print(f"cold `rag ask` process, {args.cold_runs} runs: {figures['cold_rag_ask']}")
    print("targets (first pass): p50 <= 15 ms, p95 <= 40 ms; cold rag ask <= 2500 ms")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
