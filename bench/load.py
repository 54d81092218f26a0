"""Load on `rag serve`: many concurrent users asking the evaluation set's questions.

Run: .venv/bin/python bench/load.py [--users 50] [--seconds 60] [--url URL] [--json out.json]
     .venv/bin/python bench/load.py --users 1,8,32 --seconds 20   (throughput by clients)
     .venv/bin/python bench/load.py --workers 1,2 --users 16 --seconds 30 (one run each)

Without --url it starts `rag serve` (offline answerer, rate limit off, fresh data folder) on
a free loopback port, once per --workers value, and warms it up first. Each user asks
questions one after another, alternating the JSON and the streaming endpoint. Prints
requests, errors, throughput, latency percentiles and the cores the server used (its
processes' CPU time over the run's wall time), then each worker count's throughput as a
ratio of the first's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from common import ROOT, start_serve

from rag.evaluation.metrics import percentile


async def user(
    client: httpx.AsyncClient, questions: list[dict[str, Any]], offset: int, stop: float
) -> list[tuple[float, str]]:
    """One user's requests until ``stop``: (seconds, outcome) each."""
    results = []
    i = offset
    while time.monotonic() < stop:
        row = questions[i % len(questions)]
        body = {"question": row["question"], "history": row.get("history")}
        stream = i % 2 == 1
        started = time.monotonic()
        try:
            if stream:
                async with client.stream("POST", "/api/ask/stream", json=body) as response:
                    text = "".join([part async for part in response.aiter_text()])
                ok = response.status_code == 200 and "event: answer" in text
            else:
                response = await client.post("/api/ask", json=body)
                ok = response.status_code == 200 and "answer" in response.json()
            outcome = "ok" if ok else f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        results.append((time.monotonic() - started, outcome))
        i += 1
    return results


async def run(url: str, users: int, seconds: float) -> dict[str, Any]:
    questions = [
        json.loads(line) for line in (ROOT / "eval/sternik.jsonl").read_text().splitlines() if line
    ]
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        started = time.monotonic()
        stop = started + seconds
        per_user = await asyncio.gather(*(user(client, questions, u, stop) for u in range(users)))
        elapsed = time.monotonic() - started
    results = [r for rows in per_user for r in rows]
    latencies = [seconds * 1000 for seconds, outcome in results if outcome == "ok"]
    outcomes = Counter(outcome for _, outcome in results)
    return {
        "users": users,
        "seconds": round(elapsed, 1),
        "requests": len(results),
        "errors": len(results) - outcomes["ok"],
        "error_kinds": {k: v for k, v in outcomes.items() if k != "ok"},
        "throughput_per_s": round(len(results) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
    }


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children (a served app's answering workers)."""
    total = 0.0
    for task in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{task}/stat").read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in map(int, kids):
            found += [kid, *_children(kid)]
    return found


def measure(url: str, users: int, seconds: float, pid: int | None) -> dict[str, Any]:
    cpu = cpu_seconds(pid) if pid else 0.0
    figures = asyncio.run(run(url, users, seconds))
    if pid:
        figures["server_cores"] = round((cpu_seconds(pid) - cpu) / figures["seconds"], 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", default="50", help="users, or several runs: 1,8,32")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", default="1", help="answering processes: 1,2 for both")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of load first")
    parser.add_argument("--url", help="An already running server (else one is started).")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    runs = []
    for workers in (int(w) for w in args.workers.split(",")):
        server = None
        url = args.url
        if url is None:
            data = Path(tempfile.mkdtemp(prefix="rag-load-")) / "data"
            server, url, _ = start_serve(data, args=["--workers", str(workers)])
        try:
            if args.warmup:
                asyncio.run(run(url, 4, args.warmup))
            for users in (int(u) for u in args.users.split(",")):
                pid = server.pid if server else None
                figures = {"workers": workers, **measure(url, users, args.seconds, pid)}
                runs.append(figures)
                for name, value in figures.items():
                    print(f"{name:<18}{value}")
                print()
        finally:
            if server is not None:
                server.terminate()
                server.wait(30)
    first = {r["users"]: r["throughput_per_s"] for r in runs if r["workers"] == runs[0]["workers"]}
    for r in runs:
        if r["workers"] != runs[0]["workers"]:
            r["throughput_ratio"] = round(r["throughput_per_s"] / first[r["users"]], 2)
            print(f"{r['workers']} workers, {r['users']} users: {r['throughput_ratio']}x")
    if args.json:
        args.json.write_text(json.dumps(runs[0] if len(runs) == 1 else runs, indent=2) + "\n")
    if any(r["errors"] for r in runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
