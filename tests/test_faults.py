"""LLM faults injected by a proxy in front of the real llama.cpp server: every question still
gets an answer (a retry, else the extractive one with a notice), and none waits past the
configured timeout.
"""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answer import check_citations
from rag.api import Pipeline
from rag.settings import Settings
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.server

QUESTION = "How long is the Uzbek-Afghan border?"
TIMEOUT = 4.0
# For faults other than a hang: the model's first token must never lose a race with the
# timeout (its cold prompt takes ~4 s on 2 busy cores), or a reset meant to land mid-answer
# ends as a timeout before any token, with no restart.
MODEL_TIMEOUT = 60.0


@pytest.fixture
def proxy(llm_server: str) -> Iterator[FaultProxy]:
    faulty = FaultProxy(llm_server.removesuffix("/v1"))
    faulty.url = faulty.start()  # type: ignore[attr-defined]
    try:
        yield faulty
    finally:
        faulty.stop()


def ask(
    data_dir: Path,
    proxy: FaultProxy,
    faults: list[str],
    timeout: float = TIMEOUT,
    question: str = QUESTION,
    retries: int = 1,
) -> tuple[object, float, list]:  # type: ignore[type-arg]
    proxy.faults = list(faults)
    settings = Settings(
        data_dir=data_dir,
        llm_base_url=proxy.url + "/v1",  # type: ignore[attr-defined]
        llm_model="smollm2",
        llm_timeout=timeout,
        llm_max_retries=retries,
    )
    with Pipeline.open(settings) as pipeline:
        started = time.monotonic()
        chunks = list(pipeline.stream(question))
        elapsed = time.monotonic() - started
    answer = chunks[-1].answer
    assert answer is not None
    check_citations(answer)
    return answer, elapsed, chunks


@pytest.mark.parametrize(
    ("faults", "reason"),
    [
        (["500", "500"], "HTTP 500"),
        (["429", "429"], "rate limited (HTTP 429)"),
        (["hang"], f"no answer within {TIMEOUT:g} s"),  # the whole budget: no retry
        (["malformed"], "(JSONDecodeError)"),
        (["reset"], "the server could not be reached"),  # not a timeout before any token
    ],
)
def test_a_fault_ends_in_the_extractive_answer_with_a_notice(
    article_data_dir: Path, proxy: FaultProxy, faults: list[str], reason: str
) -> None:
    timeout = TIMEOUT if faults == ["hang"] else MODEL_TIMEOUT
    answer, elapsed, chunks = ask(article_data_dir, proxy, faults, timeout)
    assert answer.answerer == "extractive" and "137 km" in answer.answer  # type: ignore[attr-defined]
    assert answer.notice is not None and reason in answer.notice  # type: ignore[attr-defined]
    assert elapsed < timeout + 2, f"waited {elapsed:.1f} s"
    assert proxy.seen[: len(faults)] == faults
    if faults == ["reset"]:  # tokens were streamed before the reset: the client is told
        assert any(c.restart for c in chunks)


@pytest.mark.parametrize("fault", ["429", "500"])
def test_one_transient_fault_is_retried(
    article_data_dir: Path, proxy: FaultProxy, fault: str
) -> None:
    answer, elapsed, _ = ask(article_data_dir, proxy, [fault])
    assert proxy.seen[:2] == [fault, "pass"]
    notice = answer.notice or ""  # type: ignore[attr-defined]
    # Whatever the tiny model then says, the fault itself is not what the user sees.
    assert "HTTP" not in notice and "rate limited" not in notice
    assert elapsed < TIMEOUT + 2
    if fault == "429":
        assert elapsed >= 1.0  # Retry-After: 1 was honoured


UZBEK_POPULATION = "What is the population of Uzbekistan?"


def said(data_dir: Path, proxy: FaultProxy, text: str, question: str) -> object:
    """The answer when the real model's reply is replaced by ``text``."""
    answer, _, _ = ask(data_dir, proxy, [f"say:{text}"], MODEL_TIMEOUT, question, retries=0)
    assert proxy.seen == [f"say:{text}"]
    return answer


@pytest.mark.parametrize(
    "text",
    [
        # Claims the passages do not support: true in the world, absent from the article.
        "Uzbekistan has a population of about 36 million people [1]. Its capital is Tashkent [2].",
        # The model declining in its own words.
        "I'm sorry, but the passages do not contain information about Uzbekistan's population.",
    ],
)
def test_a_model_that_finds_nothing_ends_in_a_decline_with_related_passages(
    article_data_dir: Path, proxy: FaultProxy, text: str
) -> None:
    """Outside measurement for issue 14: this used to end in the extractive fallback quoting a
    near miss (the Uzbek-Afghan border's length) for a population question."""
    answer = said(article_data_dir, proxy, text, UZBEK_POPULATION)
    assert not answer.answerable and not answer.citations  # type: ignore[attr-defined]
    assert answer.answerer == "openai"  # type: ignore[attr-defined]
    assert "137" not in answer.answer  # type: ignore[attr-defined]
    related = answer.related  # type: ignore[attr-defined]
    assert related and all(c.support and c.support.text in c.text for c in related)
    if "36 million" in text:
        assert "nothing in the documents supports" in (answer.notice or "")  # type: ignore[attr-defined]


def test_a_supported_answer_from_the_model_is_kept(
    article_data_dir: Path, proxy: FaultProxy
) -> None:
    text = "The Uzbek-Afghan border is 137 km long [2]."
    answer = said(article_data_dir, proxy, text, QUESTION)
    assert answer.answerable and answer.answerer == "openai"  # type: ignore[attr-defined]
    assert answer.notice is None and answer.answer == "The Uzbek-Afghan border is 137 km long. [1]"  # type: ignore[attr-defined]
    assert "137 km" in answer.citations[0].support.text  # type: ignore[attr-defined]
