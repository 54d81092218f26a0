"""The generative path against real OpenAI-protocol servers on loopback (llama.cpp, tiny model).

The tiny model's answers are poor; the plumbing is what is tested: streaming, verified
citations, the fallback when the server stops, and the timeout.
"""

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answer import check_citations
from rag.api import Pipeline
from rag.retrieval.hybrid import HybridRetriever
from rag.settings import Settings
from tests.conftest import start_llama_server, stop_process

pytestmark = pytest.mark.server


def llm_settings(data_dir: Path, url: str, **extra: object) -> Settings:
    return Settings(
        data_dir=data_dir, llm_base_url=url, llm_model="smollm2", llm_timeout=60, **extra
    )  # type: ignore[arg-type]


def test_streamed_tokens_then_a_verified_answer(article_data_dir: Path, llm_server: str) -> None:
    question = "Who translated the interview from Russian?"
    with Pipeline.open(llm_settings(article_data_dir, llm_server)) as pipeline:
        chunks = list(pipeline.stream(question))
        retriever = HybridRetriever(store=pipeline.store, k=pipeline.settings.answer_k)
        retrieved = {d.id for d in retriever.invoke(question)}
    final = chunks[-1].answer
    assert final is not None
    deltas = [c.delta for c in chunks[:-1] if c.delta]
    assert len(deltas) > 3, "tokens arrive one by one, not as one block"
    check_citations(final)
    assert final.answerer in ("openai", "extractive")
    if final.answerer == "extractive":  # the tiny model's answer could not be verified
        assert final.notice and "language model failed" in final.notice
    for c in final.citations:
        assert c.chunk_id in retrieved
        assert c.support is not None and c.text[c.support.start : c.support.end] == c.support.text


def test_a_local_server_needs_no_api_key(article_data_dir: Path, llm_server: str) -> None:
    with Pipeline.open(llm_settings(article_data_dir, llm_server)) as pipeline:
        answer = pipeline.ask("How long is the Uzbek-Afghan border?")
    check_citations(answer)
    assert answer.notice is None or "API key" not in answer.notice


def test_server_stopped_mid_conversation_falls_back_with_a_notice(
    article_data_dir: Path, tmp_path: Path
) -> None:
    process, url = start_llama_server(tmp_path / "llama.log")
    try:
        with Pipeline.open(llm_settings(article_data_dir, url, llm_max_retries=0)) as pipeline:
            first = pipeline.ask("How long is Tajikistan's border with Afghanistan?")
            check_citations(first)
            stop_process(process)
            started = time.monotonic()
            history = [("How long is Tajikistan's border with Afghanistan?", first.answer)]
            second = pipeline.ask("And Turkmenistan's?", history)
            elapsed = time.monotonic() - started
    finally:
        stop_process(process)
    assert second.answerer == "extractive"
    assert second.notice == (
        "The language model failed (the server could not be reached); "
        "this answer quotes the documents instead."
    )
    assert "745 kilometers" in second.answer
    check_citations(second)
    assert elapsed < 10


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and reads requests but never answers: a hung LLM server."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def test_a_hung_server_times_out_into_the_extractive_answer(
    article_data_dir: Path, silent_server: str
) -> None:
    settings = Settings(
        data_dir=article_data_dir, llm_base_url=silent_server, llm_timeout=1.5, llm_max_retries=0
    )
    with Pipeline.open(settings) as pipeline:
        started = time.monotonic()
        answer = pipeline.ask("How long is the Uzbek-Afghan border?")
        elapsed = time.monotonic() - started
    assert answer.answerer == "extractive" and "137 km" in answer.answer
    assert answer.notice is not None and "no answer within 1.5 s" in answer.notice
    assert 1.5 <= elapsed < 5
