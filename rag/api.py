"""The public Python API: ``ask`` and ``stream``, over one pipeline per settings.

Example: ``from rag import ask; print(ask("How long is the Uzbek-Afghan border?").answer)``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import Runnable

from rag.answer import Answer
from rag.answerers.base import Answerer
from rag.chain import AnswerChunk, Question
from rag.inputs import parse_history, validate_question
from rag.query import Turn
from rag.retriever import HybridRetriever
from rag.settings import Settings
from rag.store import Store


@dataclass
class Pipeline:
    """An open store and the chain built on it."""

    settings: Settings
    store: Store
    chain: Runnable[Question, AnswerChunk]
    answerer: Answerer
    retriever: HybridRetriever

    @classmethod
    def open(cls, settings: Settings | None = None, store: Store | None = None) -> Pipeline:
        """Build the chain the settings describe, over ``store`` or the store opened to read."""
        from rag.answerers import make_answerer
        from rag.chain import build_chain

        settings = settings or Settings()
        store = store or Store.open(settings)
        retriever = HybridRetriever(store=store, k=settings.answer_k)
        answerer = make_answerer(settings, store.embedder, retriever.idf)
        chain = build_chain(retriever, answerer, _condenser(answerer))
        return cls(settings, store, chain, answerer, retriever)

    def warm(self) -> int:
        """Build the keyword index and embed the store's sentences ahead of questions.

        For long-running servers; returns how many sentences were embedded (0 when the
        answerer quotes nothing offline).
        """
        from rag.passages import Passage

        self.retriever.prepare()
        quoting = getattr(self.answerer, "fallback", self.answerer)
        if not hasattr(quoting, "warm"):
            return 0
        passages = (Passage(1, id_, text, meta, 0.0) for id_, text, meta in self.store.records())
        count: int = quoting.warm(passages)
        return count

    def close(self) -> None:
        """Release the store."""
        self.store.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _inputs(self, question: str, history: Sequence[Turn] | None) -> Question:
        limit = self.settings.max_question_chars
        return {
            "question": validate_question(question, limit),
            "history": parse_history(history, limit),
        }

    def ask(self, question: str, history: Sequence[Turn] | None = None) -> Answer:
        """Answer one question."""
        chunk = self.chain.invoke(self._inputs(question, history))
        assert chunk.answer is not None  # the chain always ends with the answer
        return chunk.answer

    def stream(self, question: str, history: Sequence[Turn] | None = None) -> Iterator[AnswerChunk]:
        """Answer one question as it is produced; the last chunk carries the ``Answer``.

        The question is checked now, before the first chunk is asked for.
        """
        return self.chain.stream(self._inputs(question, history))


def _condenser(answerer: Any) -> Any:
    return getattr(answerer, "condense", None)


_default: Pipeline | None = None
_lock = threading.Lock()


def default_pipeline() -> Pipeline:
    """One pipeline per process for the module-level helpers, on the environment's settings."""
    global _default
    with _lock:
        if _default is None:
            _default = Pipeline.open()
        return _default


def ask(question: str, history: Sequence[Turn] | None = None) -> Answer:
    """Answer a question over the store the environment's settings name."""
    return default_pipeline().ask(question, history)


def stream(question: str, history: Sequence[Turn] | None = None) -> Iterator[AnswerChunk]:
    """Stream an answer over the store the environment's settings name."""
    return default_pipeline().stream(question, history)
