"""What the benchmark scripts share: a free port, a running `rag serve` or `chroma run`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(
    data_dir: Path, timeout: float = 120, args: Sequence[str] = ()
) -> tuple[subprocess.Popen[bytes], str, float]:
    """`rag serve` on a free loopback port (rate limit off): the process, its URL, and the
    seconds it took to answer /api/health. ``args``: more options for `rag serve`."""
    port = free_port()
    env = {**os.environ, "RAG_DATA_DIR": str(data_dir), "RAG_RATE_LIMIT_PER_MINUTE": "0"}
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "rag"), "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    _wait_until_answering(server, url + "/api/health", started, timeout, "rag serve")
    return server, url, time.perf_counter() - started


def _wait_until_answering(
    server: subprocess.Popen[bytes], url: str, started: float, timeout: float, name: str
) -> None:
    """Poll ``url`` until it answers 200; the process is killed if it exits or times out."""
    while time.perf_counter() - started < timeout:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.05)
    server.kill()
    raise SystemExit(f"{name} did not answer within {timeout:g} s")


def start_chroma(db: Path, timeout: float = 120) -> tuple[subprocess.Popen[bytes], int]:
    """`chroma run` keeping its data in ``db``, on a free loopback port, once it answers."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "chroma"),
            "run",
            "--path",
            str(db),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    heartbeat = f"http://127.0.0.1:{port}/api/v2/heartbeat"
    _wait_until_answering(server, heartbeat, time.perf_counter(), timeout, "chroma run")
    return server, port


@contextmanager
def chroma_running(db: Path) -> Iterator[int]:
    """`chroma run` on ``db`` (see ``start_chroma``) for the block; yields its port."""
    server, port = start_chroma(db)
    try:
        yield port
    finally:
        server.terminate()
        server.wait(60)


def record(results: list[dict[str, Any]], figures: dict[str, Any], path: Path | None) -> None:
    """Keep one run's figures: printed as a JSON line, and all so far written to ``path``."""
    results.append(figures)
    print(json.dumps(figures), flush=True)
    if path:
        path.write_text(json.dumps(results, indent=2) + "\n")


def rss_mb() -> float:
    """This process's resident memory now (VmRSS), MB."""
    return _status_mb("VmRSS:")


def peak_rss_mb() -> float:
    """This process's highest resident memory so far (VmHWM), MB."""
    return _status_mb("VmHWM:")


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0
