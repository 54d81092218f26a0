"""The answering pipeline as a LangChain Runnable: query -> retrieval -> answerer -> check.

``invoke``, ``batch`` and ``stream`` all work; streamed chunks add up (``+``) to the final
one, whose ``answer`` is the checked ``Answer``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypedDict

from langchain_core.runnables import Runnable, RunnableGenerator, RunnableLambda

from rag.answer import Answer, check_citations
from rag.answerers.base import Answerer, AnswerRequest, Restart
from rag.passages import Passage
from rag.query import Turn, search_query
from rag.retriever import HybridRetriever


class Question(TypedDict, total=False):
    """The chain's input."""

    question: str
    history: Sequence[Turn]


@dataclass(frozen=True)
class AnswerChunk:
    """A piece of a streamed answer; the last one carries the complete ``Answer``.

    ``restart`` tells a consumer to discard the text shown so far.
    """

    delta: str = ""
    answer: Answer | None = None
    restart: bool = False

    def __add__(self, other: AnswerChunk) -> AnswerChunk:
        if other.restart:
            return AnswerChunk(other.delta, other.answer or self.answer, restart=True)
        return AnswerChunk(self.delta + other.delta, other.answer or self.answer, self.restart)


@dataclass(frozen=True)
class _State:
    request: AnswerRequest
    started: float
    retrieve_ms: float


def _history(raw: Any) -> tuple[Turn, ...]:
    return tuple((str(user), str(assistant)) for user, assistant in (raw or ()))


def build_chain(
    retriever: HybridRetriever, answerer: Answerer, condense: Any = None
) -> Runnable[Question, AnswerChunk]:
    """The pipeline; ``condense(question, history) -> str`` rewrites follow-ups when given."""

    def standalone(inputs: Question) -> _State:
        started = time.perf_counter()
        question = inputs["question"]
        history = _history(inputs.get("history"))
        offline = search_query(question, history)
        query = condense(question, history) if condense else offline
        return _State(AnswerRequest(question, query, (), history, offline), started, 0.0)

    def retrieve(state: _State) -> _State:
        # A follow-up is also searched as typed and as the offline rewrite: a model's rewrite
        # can miss, and the question's own new words must not drown in earlier turns'.
        request = state.request
        also = [
            q
            for q in dict.fromkeys((request.offline_query, request.question))
            if q != request.query
        ]
        documents = retriever.invoke(request.query, also=also)
        passages = tuple(Passage.from_document(i, d) for i, d in enumerate(documents, 1))
        request = replace(request, passages=passages)
        return _State(request, state.started, 1000 * (time.perf_counter() - state.started))

    def generate(states: Iterator[_State]) -> Iterator[AnswerChunk]:
        for state in states:
            generating = time.perf_counter()
            for event in answerer.stream(state.request):
                if isinstance(event, Restart):
                    yield AnswerChunk(restart=True)
                elif isinstance(event, Answer):
                    now = time.perf_counter()
                    # The answerer's own ranking when it made one, else retrieval's order.
                    retrieved = event.retrieved or tuple(p.chunk_id for p in state.request.passages)
                    yield AnswerChunk(
                        answer=replace(event, retrieved=retrieved).with_timings(
                            retrieve_ms=round(state.retrieve_ms, 2),
                            generate_ms=round(1000 * (now - generating), 2),
                            total_ms=round(1000 * (now - state.started), 2),
                        )
                    )
                else:
                    yield AnswerChunk(delta=event)

    def check(chunks: Iterator[AnswerChunk]) -> Iterator[AnswerChunk]:
        for chunk in chunks:
            if chunk.answer is not None:
                check_citations(chunk.answer)
            yield chunk

    return (
        RunnableLambda(standalone, name="standalone_question")
        | RunnableLambda(retrieve, name="retrieve")
        | RunnableGenerator(generate, name="answer")
        | RunnableGenerator(check, name="check_citations")
    ).with_types(input_type=Question, output_type=AnswerChunk)
