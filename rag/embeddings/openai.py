"""OpenAI (or any OpenAI-compatible server's) embeddings, selected by setting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.embeddings.base import Vectors


class OpenAIEmbedder:
    """Embeddings over the OpenAI protocol; the import waits until the first call."""

    def __init__(self, model: str, base_url: str | None = None) -> None:
        self.model = model
        self.base_url = base_url
        self._client: Any = None

    @property
    def model_id(self) -> str:
        """Provider and model name: vectors of different models never mix."""
        return f"openai:{self.model}"

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed through the server, normalised so scores compare with the ONNX path's."""
        if self._client is None:
            from langchain_openai import OpenAIEmbeddings

            self._client = OpenAIEmbeddings(
                model=self.model,
                openai_api_base=self.base_url,
                # Token-length checks fetch a tiktoken file: not offline-safe, not needed.
                check_embedding_ctx_length=False,
            )
        rows = np.asarray(self._client.embed_documents(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        result: Vectors = rows / np.clip(norms, 1e-12, None)
        return result

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Questions are embedded like any text: this model has no query prefix."""
        return self.embed(texts)
