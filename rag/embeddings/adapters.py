"""The same embedder seen by LangChain (``Embeddings``) and by Chroma (``EmbeddingFunction``).

The Chroma function is registered under a name and saves its provider and model in the
collection's configuration, so a fresh process that opens the collection by name alone
embeds queries with the model that filled it.
"""

from __future__ import annotations

from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function
from langchain_core.embeddings import Embeddings as LangChainEmbeddingsBase

from rag.embeddings import get_embedder
from rag.embeddings.base import Embedder


class LangChainEmbeddings(LangChainEmbeddingsBase):
    """Any of our embedders as a LangChain ``Embeddings``."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages."""
        rows: list[list[float]] = self.embedder.embed(texts).tolist()
        return rows

    def embed_query(self, text: str) -> list[float]:
        """Embed a question (with the model's query prefix, where it has one)."""
        row: list[float] = self.embedder.embed_queries([text])[0].tolist()
        return row


@register_embedding_function
class ChromaEmbeddingFunction(EmbeddingFunction[Documents]):
    """Any of our embedders as a Chroma embedding function, rebuilt from its saved config."""

    def __init__(self, provider: str, model: str, base_url: str | None = None) -> None:
        self.provider = provider
        self.model = model
        self.base_url = base_url
        self.embedder = get_embedder(provider, model, base_url)

    def __call__(self, input: Documents) -> Embeddings:
        """Embed documents for Chroma."""
        return list(self.embedder.embed(list(input)))

    @staticmethod
    def name() -> str:
        """The name Chroma stores in the collection configuration."""
        return "rag-cite"

    def default_space(self) -> Space:
        """Vectors are unit length: cosine distance is the natural one."""
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        """Unit vectors rank the same under all three."""
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        """What a fresh process needs to rebuild this function."""
        return {"provider": self.provider, "model": self.model, "base_url": self.base_url}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingFunction:
        """Rebuild from the configuration Chroma saved with the collection."""
        return ChromaEmbeddingFunction(config["provider"], config["model"], config.get("base_url"))
