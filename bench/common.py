"""What the benchmark scripts share: a free port and a running `rag serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(data_dir: Path, timeout: float = 120) -> tuple[subprocess.Popen[bytes], str, float]:
    """`rag serve` on a free loopback port (rate limit off): the process, its URL, and the
    seconds it took to answer /api/health."""
    port = free_port()
    env = {**os.environ, "RAG_DATA_DIR": str(data_dir), "RAG_RATE_LIMIT_PER_MINUTE": "0"}
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "rag"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    while time.perf_counter() - started < timeout:
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                return server, url, time.perf_counter() - started
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.05)
    server.kill()
    raise SystemExit(f"rag serve did not answer within {timeout:g} s")
