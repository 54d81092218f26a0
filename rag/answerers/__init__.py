"""Answerers by name: the extractive one offline, a generative one when an LLM is set."""

from __future__ import annotations

from rag.answerers.base import Answerer
from rag.embeddings.base import Embedder
from rag.settings import Settings
from rag.text import Idf


def make_answerer(settings: Settings, embedder: Embedder, idf: Idf | None = None) -> Answerer:
    """The answerer the settings select; a generative one falls back to the extractive one."""
    from rag.answerers.extractive import ExtractiveAnswerer

    extractive = ExtractiveAnswerer(embedder, idf)
    choice = settings.answerer
    if choice == "auto":
        choice = "openai" if settings.llm_configured else "extractive"
    if choice == "extractive":
        return extractive
    from rag.answerers.fallback import FallbackAnswerer
    from rag.answerers.generative import GenerativeAnswerer

    return FallbackAnswerer(GenerativeAnswerer(settings, embedder, idf), extractive)
