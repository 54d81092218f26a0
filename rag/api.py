"""The module-level ``ask`` and ``stream``, over one pipeline per process.

Example: ``from rag import ask; print(ask("How long is the Uzbek-Afghan border?").answer)``.
For explicit settings, ``Pipeline.open(Settings(...))``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from rag.answer import Answer, AnswerChunk
from rag.conversation import Turn
from rag.pipeline import Pipeline

__all__ = ["Pipeline", "ask", "default_pipeline", "stream"]

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
