"""Answering processes (``rag serve --workers``): each answers from the store as the server
last wrote it, a worker that dies costs no answer, and workers that cannot start leave the
server answering by itself."""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import httpx
import pytest

from rag.errors import QuestionError
from rag.pool import AnswerPool
from rag.settings import Settings
from tests.conftest import running_app
from tests.helpers import answering_processes, running, wait_for
from ui.app import App

ZEBRA = "How many stripes does the zebra Quagga have on each flank?"


def write(folder: Path, name: str, title: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"{title}\n\n{body}\n")
    return path


def zebra_file(folder: Path) -> Path:
    return write(
        folder,
        "zebra.txt",
        "Zebra Facts",
        "The zebra Quagga lives on the Karoo plateau. Its stripes number exactly 47 on each "
        "flank, according to the ranger Tumelo Dlamini.",
    )


def lighthouse_file(folder: Path) -> Path:
    return write(
        folder,
        "lighthouse.txt",
        "Lighthouse Notes",
        "The Slangkop lighthouse stands 33 metres tall. It was first lit in 1919.",
    )


def cited_titles(answer: object) -> list[str | None]:
    return [c.title for c in answer.citations]  # type: ignore[attr-defined]


def test_a_worker_answers_from_what_the_server_wrote_since_it_started(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with App.open(settings, write=True) as app:
        app.ingest([lighthouse_file(tmp_path)])
        # One worker: every question goes to the process that loaded the store before the
        # changes below, so it answers right only by catching up with them.
        app.pool = AnswerPool(app.store.settings, 1)
        assert "Lighthouse Notes" in cited_titles(app.ask("How tall is the Slangkop lighthouse?"))
        assert not app.ask(ZEBRA).citations

        app.ingest([zebra_file(tmp_path)])
        answer = app.ask(ZEBRA)
        assert "47" in answer.answer and cited_titles(answer) == ["Zebra Facts"]

        zebra = next(d for d in app.document_list() if d.title == "Zebra Facts")
        assert app.remove_document(zebra.id) is not None
        assert "Zebra Facts" not in cited_titles(app.ask(ZEBRA))
        with pytest.raises(QuestionError):  # refused at once, before any worker is asked
            app.stream("   ")


def test_workers_that_cannot_start_leave_the_server_answering(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with App.open(settings, write=True) as app:
        app.ingest([lighthouse_file(tmp_path)])
        # Workers told to read a collection that does not exist fail as they start.
        app.pool = AnswerPool(app.store.settings.model_copy(update={"collection": "nothing"}), 2)
        answer = app.ask("How tall is the Slangkop lighthouse?")
        assert "33 metres" in answer.answer  # answered in this process instead
        with pytest.raises(BrokenProcessPool):  # and the pool stays off: no respawning
            app.pool.stream("How tall is the Slangkop lighthouse?", None)
        assert not multiprocessing.active_children()
        assert app.ask("When was the lighthouse first lit?").citations


@pytest.mark.server
def test_rag_serve_with_two_workers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"RAG_WORKERS": "2", "RAG_RATE_LIMIT_PER_MINUTE": "0"}
    with running_app(data, tmp_path / "serve.log", **env) as url:
        server = int((data / "chroma" / "rag.lock").read_text())  # the writer's pid
        wait_for(lambda: len(answering_processes(server)) == 2)

        def ask(question: str) -> dict[str, object]:
            response = httpx.post(f"{url}/api/ask", json={"question": question}, timeout=60)
            assert response.status_code == 200, response.text
            return dict(response.json())

        def titles(answer: dict[str, object]) -> list[object]:
            return [c["title"] for c in answer["citations"]]  # type: ignore[attr-defined,index]

        assert "137 km" in str(ask("How long is the Uzbek-Afghan border?")["answer"])
        uploaded = httpx.post(
            f"{url}/api/upload", files={"file": ("zebra.txt", zebra_file(tmp_path).read_bytes())}
        )
        assert uploaded.status_code == 200, uploaded.text
        # Eight at once keep both workers busy: each must have caught up with the upload.
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(ask, [ZEBRA] * 8))
        assert all(titles(a) == ["Zebra Facts"] and "47" in str(a["answer"]) for a in answers)

        # A worker killed: the question that finds it dead is answered by the server itself,
        # and two fresh workers take over.
        os.kill(answering_processes(server)[0], signal.SIGKILL)
        for _ in range(3):
            assert titles(ask(ZEBRA)) == ["Zebra Facts"]
        wait_for(lambda: len(answering_processes(server)) == 2)
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(ask, [ZEBRA] * 8))
        assert all(titles(a) == ["Zebra Facts"] for a in answers)
        workers = answering_processes(server)
    wait_for(lambda: not any(running(w) for w in workers), timeout=30)  # none left behind
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
