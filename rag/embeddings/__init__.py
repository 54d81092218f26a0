"""Embedders by provider name, as LangChain ``Embeddings`` and as a Chroma function."""

from __future__ import annotations

from collections.abc import Callable

from rag.embeddings.base import Embedder, Vectors
from rag.embeddings.cache import CachingEmbedder
from rag.settings import Settings


def _onnx(model: str, base_url: str | None) -> Embedder:
    if model == "multilingual-e5-small-q4":
        from rag.embeddings.e5 import E5Embedder

        return E5Embedder()
    if model == "all-MiniLM-L6-v2-int8":
        from rag.embeddings.minilm import MiniLMEmbedder

        return MiniLMEmbedder()
    raise ValueError(
        f"RAG_EMBEDDING_MODEL={model!r} is not bundled; the onnx provider has "
        "'multilingual-e5-small-q4' and 'all-MiniLM-L6-v2-int8'"
    )


def _openai(model: str, base_url: str | None) -> Embedder:
    from rag.embeddings.openai import OpenAIEmbedder

    return OpenAIEmbedder(model, base_url)


PROVIDERS: dict[str, Callable[[str, str | None], Embedder]] = {"onnx": _onnx, "openai": _openai}

# The median cosine of two unrelated sentences (random pairs from different documents of the
# development set, eval/dev): E5's vectors all lie in a narrow cone, MiniLM's do not. Support
# judging rescales by it, so one threshold means the same under either model.
UNRELATED_COSINE = {"onnx:multilingual-e5-small-q4": 0.765}


def rescaled(similarity: Vectors, model_id: str) -> Vectors:
    """Cosine similarity with the model's unrelated-text level moved to 0 (1 stays 1)."""
    floor = UNRELATED_COSINE.get(model_id, 0.0)
    result: Vectors = (similarity - floor) / (1.0 - floor)
    return result


_cache: dict[tuple[str, str, str | None], Embedder] = {}


def get_embedder(provider: str, model: str, base_url: str | None = None) -> Embedder:
    """The embedder for a provider and model, loaded once per process, with a vector cache."""
    key = (provider, model, base_url)
    if key not in _cache:
        try:
            factory = PROVIDERS[provider]
        except KeyError:
            raise ValueError(
                f"RAG_EMBEDDING_PROVIDER={provider!r} is unknown; choose one of {sorted(PROVIDERS)}"
            ) from None
        _cache[key] = CachingEmbedder(factory(model, base_url))
    return _cache[key]


def embedder_for(settings: Settings) -> Embedder:
    """The embedder the settings select."""
    return get_embedder(
        settings.embedding_provider, settings.embedding_model, settings.embedding_base_url
    )


__all__ = ["PROVIDERS", "Embedder", "Vectors", "embedder_for", "get_embedder", "rescaled"]
