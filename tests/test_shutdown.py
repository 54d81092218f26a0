"""`rag serve` stops when told to, whatever is open or running, and reading a file never
holds up questions (issue 23: an HTML file hung the server for 40+ minutes, SIGTERM ignored)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import VENV_BIN, free_port, start_server, stop_process
from tests.helpers import answering_processes, running, wait_for


def serve(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = start_server(
        [str(VENV_BIN / "rag"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        port,
        tmp_path / "serve.log",
        {"RAG_DATA_DIR": str(tmp_path / "data"), "RAG_RATE_LIMIT_PER_MINUTE": "0"},
    )
    return process, f"http://127.0.0.1:{port}"


def exits_after_sigterm(process: subprocess.Popen[bytes]) -> bool:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)  # SHUTDOWN_SECONDS is 5; generous for a busy machine
    except subprocess.TimeoutExpired:
        return False
    return True


PAGE = "<html><head><title>{0}</title></head><body><p>{0} is a page about {0}.</p></body></html>"


@pytest.mark.server
def test_a_file_whose_reading_never_ends_holds_up_neither_questions_nor_shutdown(
    tmp_path: Path,
) -> None:
    process, url = serve(tmp_path)
    try:
        first = httpx.post(
            f"{url}/api/upload", files={"file": ("a.html", PAGE.format("Alpha"))}, timeout=120
        )
        assert first.status_code == 200 and first.json()["added"] == 1, first.text
        # The reading process is now started; frozen, it stands for a parse that never ends.
        [reader] = answering_processes(process.pid)
        os.kill(reader, signal.SIGSTOP)
        upload: dict[str, object] = {}

        def add() -> None:
            try:
                upload["response"] = httpx.post(
                    f"{url}/api/upload",
                    files={"file": ("b.html", PAGE.format("Bravo"))},
                    timeout=120,
                )
            except httpx.HTTPError as exc:  # the server may stop before it replies
                upload["error"] = exc

        adding = threading.Thread(target=add)
        adding.start()
        time.sleep(0.5)  # the upload reaches the frozen reader (if not, it waits there anyway)
        asked = httpx.post(
            f"{url}/api/ask", json={"question": "How long is the Uzbek-Afghan border?"}, timeout=60
        )
        assert asked.status_code == 200 and "137 km" in asked.json()["answer"]
        assert adding.is_alive()  # the upload still waits for its reading
        assert exits_after_sigterm(process), "the server did not stop while reading a file"
        adding.join(timeout=60)
        assert not adding.is_alive()
        wait_for(lambda: not running(reader), timeout=30)  # the frozen reader was killed
    finally:
        stop_process(process)


@pytest.mark.server
def test_the_server_stops_while_a_chat_tab_is_open(tmp_path: Path) -> None:
    process, url = serve(tmp_path)
    try:
        page = httpx.get(url + "/", timeout=60)
        assert page.status_code == 200
        # What an open tab holds: Gradio's heartbeat stream.
        with httpx.stream("GET", f"{url}/gradio_api/heartbeat/tab1", timeout=60) as stream:
            assert stream.status_code == 200
            assert exits_after_sigterm(process), "the server waited for the open tab"
    finally:
        stop_process(process)
