"""The answering pipeline as plain stages: check -> search query -> retrieve -> answer -> check.

``Pipeline.stream`` runs them in order, each a method a reader can follow; ``as_runnable``
offers the same stages to LangChain (``invoke``, ``batch`` and ``stream``; streamed chunks
add up with ``+`` to the final one, whose ``answer`` is the checked ``Answer``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TypedDict

from langchain_core.runnables import Runnable, RunnableGenerator

from rag.answer import Answer, AnswerChunk, check_citations
from rag.answering.base import Answerer, AnswerRequest, Restart
from rag.conversation import Turn, parse_history, search_query, validate_question
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.passages import Passage
from rag.settings import Settings
from rag.store import Store


class Question(TypedDict, total=False):
    """The runnable's input."""

    question: str
    history: Sequence[Turn]


@dataclass
class Pipeline:
    """An open store, its retriever and an answerer, run as the stages below."""

    settings: Settings
    store: Store
    retriever: HybridRetriever
    answerer: Answerer

    @classmethod
    def open(cls, settings: Settings | None = None, store: Store | None = None) -> Pipeline:
        """The pipeline the settings describe, over ``store`` or the store opened to read."""
        from rag.answering import make_answerer

        settings = settings or Settings()
        store = store or Store.open(settings)
        retriever = HybridRetriever(store=store, k=settings.answer_k)
        return cls(
            settings,
            store,
            retriever,
            make_answerer(settings, store.embedder, retriever.idf, store),
        )

    def warm(self) -> int:
        """Build the keyword index and whatever the answerer prepares ahead of questions.

        For long-running servers; returns how many sentences were embedded.
        """
        self.retriever.prepare()
        records = self.store.records()
        passages = (Passage(1, id_, text, dict(meta), 0.0) for id_, text, meta in records)
        return self.answerer.warm(passages)

    def close(self) -> None:
        """Release the store."""
        self.store.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ask(self, question: str, history: Sequence[Turn] | None = None) -> Answer:
        """Answer one question."""
        *_, last = self.stream(question, history)
        assert last.answer is not None  # the last chunk always carries the answer
        return last.answer

    def stream(self, question: str, history: Sequence[Turn] | None = None) -> Iterator[AnswerChunk]:
        """Answer one question as it is produced; the last chunk carries the ``Answer``.

        The question is checked now, before the first chunk is asked for.
        """
        request = self.request(question, history)
        return self._answer(request, time.perf_counter())

    def _answer(self, request: AnswerRequest, started: float) -> Iterator[AnswerChunk]:
        request = self.retrieve(request)
        retrieve_ms = 1000 * (time.perf_counter() - started)
        for chunk in self.generate(request, started, retrieve_ms):
            if chunk.answer is not None:
                check_citations(chunk.answer)
            yield chunk

    def request(self, question: str, history: Sequence[Turn] | None) -> AnswerRequest:
        """Stage 1: the checked question and history, and the query to search with.

        A follow-up's query is the answerer's standalone rewrite when it makes one (a model),
        else the question with the recent user turns (``rag.conversation``).
        """
        limit = self.settings.max_question_chars
        question = validate_question(question, limit)
        turns = tuple(parse_history(history, limit))
        offline = search_query(question, turns)
        query = self.answerer.condense(question, turns) or offline
        return AnswerRequest(question, query, (), turns, offline)

    def retrieve(self, request: AnswerRequest) -> AnswerRequest:
        """Stage 2: the passages hybrid search finds for the query.

        A follow-up is also searched as typed and as the offline rewrite: a model's rewrite
        can miss, and the question's own new words must not drown in earlier turns'.
        """
        also = [
            q
            for q in dict.fromkeys((request.offline_query, request.question))
            if q != request.query
        ]
        documents = self.retriever.invoke(request.query, also=also)
        passages = tuple(Passage.from_document(i, d) for i, d in enumerate(documents, 1))
        return replace(request, passages=passages)

    def generate(
        self, request: AnswerRequest, started: float, retrieve_ms: float
    ) -> Iterator[AnswerChunk]:
        """Stage 3: the answerer's text as it comes, then its answer with the timings."""
        generating = time.perf_counter()
        for event in self.answerer.stream(request):
            if isinstance(event, Restart):
                yield AnswerChunk(restart=True)
            elif isinstance(event, Answer):
                now = time.perf_counter()
                # The answerer's own ranking when it made one, else retrieval's order.
                retrieved = event.retrieved or tuple(p.chunk_id for p in request.passages)
                yield AnswerChunk(
                    answer=replace(event, retrieved=retrieved).with_timings(
                        retrieve_ms=round(retrieve_ms, 2),
                        generate_ms=round(1000 * (now - generating), 2),
                        total_ms=round(1000 * (now - started), 2),
                    )
                )
            else:
                yield AnswerChunk(delta=event)

    def as_runnable(self) -> Runnable[Question, AnswerChunk]:
        """The same stages as a LangChain Runnable (``invoke``, ``batch``, ``stream``)."""

        def run(inputs: Iterator[Question]) -> Iterator[AnswerChunk]:
            for question in inputs:
                yield from self.stream(question["question"], question.get("history"))

        runnable = RunnableGenerator(run, name="rag_pipeline")
        return runnable.with_types(input_type=Question, output_type=AnswerChunk)

    @property
    def chain(self) -> Runnable[Question, AnswerChunk]:
        """``as_runnable()``, by the name earlier versions used."""
        return self.as_runnable()
