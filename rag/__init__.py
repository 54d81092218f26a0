"""Question answering over documents with checkable citations.

Importing the package switches off the telemetry of the libraries it uses, before any of
them is imported: the app must make no network call it does not need. The heavy parts load
on first use, so ``rag --help`` stays instant.

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
):
    os.environ.setdefault(_name, _value)

if TYPE_CHECKING:
    from rag.answer import Answer
    from rag.chain import AnswerChunk


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
