"""`rag serve` on loopback: time to first streamed token, full answer, and memory.

Run: .venv/bin/python bench/serve_latency.py [--questions 100] [--json out.json]

Starts the server with a fresh data folder (offline answerer), streams questions from
tests/data/qa.jsonl through /api/ask/stream one at a time, then reads the server's resident
memory. Figures are medians and percentiles of one run on this machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from common import ROOT, start_serve

from rag.evaluation.metrics import percentile


def memory_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields["VmRSS"], "peak_rss_mb": fields["VmHWM"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--data-dir", type=Path, help="An existing data folder: times a restart, not a first start."
    )
    args = parser.parse_args()

    rows = [json.loads(x) for x in (ROOT / "tests/data/qa.jsonl").read_text().splitlines() if x]
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="rag-serve-bench-")) / "data"
    restart = data_dir.exists()
    server, url, ready_s = start_serve(data_dir)
    try:
        first_token: list[float] = []
        full: list[float] = []
        with httpx.Client(timeout=60) as client:
            for i in range(args.questions):
                row = rows[i % len(rows)]
                body = {"question": row["question"], "history": row.get("history", [])}
                t0 = time.perf_counter()
                got_token = None
                with client.stream("POST", f"{url}/api/ask/stream", json=body) as response:
                    for line in response.iter_lines():
                        if got_token is None and line.startswith("event: token"):
                            got_token = time.perf_counter()
                        if line.startswith("event: answer"):
                            break
                end = time.perf_counter()
                first_token.append(1000 * ((got_token or end) - t0))
                full.append(1000 * (end - t0))
        figures = {
            "questions": args.questions,
            "server_ready_s": round(ready_s, 2),
            "first_answer_s": round(ready_s + full[0] / 1000, 2),
            "first_token_ms": {
                "p50": round(statistics.median(first_token), 1),
                "p95": round(percentile(first_token, 95), 1),
            },
            "full_answer_ms": {
                "p50": round(statistics.median(full), 1),
                "p95": round(percentile(full, 95), 1),
            },
            "memory_after": memory_mb(server.pid),
            "targets": {"first_token_p50_ms": 150, "rss_mb": 500},
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    first = "existing data folder" if restart else "fresh data folder"
    print(f"rag serve ready in {figures['server_ready_s']} s ({first}); data in {data_dir}")
    print(f"first answer {figures['first_answer_s']} s after the process started")
    print(f"/api/ask/stream over {args.questions} questions, offline answerer, one client:")
    print(f"  first token ms: {figures['first_token_ms']}")
    print(f"  full answer ms: {figures['full_answer_ms']}")
    print(f"  server memory after: {figures['memory_after']}")
    print("targets: first token p50 <= 150 ms; resident memory <= 500 MB")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
