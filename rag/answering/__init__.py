"""Answering: the ``Answerer`` protocol and the answerers, picked by ``make_answerer``.

``base`` (the protocol), the offline ``extractive`` answerer (with its ``signals`` and the
trained ``decision``), the ``generative`` one over any OpenAI-compatible model (``llm``) with
its ``fallback``, and the ``support`` judge both use. Offline the extractive one answers; a
generative one when an LLM is set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.answering.base import Answerer
from rag.embeddings.base import Embedder
from rag.settings import Settings
from rag.text import Idf

if TYPE_CHECKING:
    from rag.store import Store


def make_answerer(
    settings: Settings, embedder: Embedder, idf: Idf | None = None, store: Store | None = None
) -> Answerer:
    """The answerer the settings select; a generative one falls back to the extractive one."""
    from rag.answering.extractive import ExtractiveAnswerer

    extractive = ExtractiveAnswerer(embedder, idf, store)
    if settings.offline:
        return extractive
    from rag.answering.fallback import FallbackAnswerer
    from rag.answering.generative import GenerativeAnswerer

    return FallbackAnswerer(GenerativeAnswerer(settings, embedder, idf), extractive)
