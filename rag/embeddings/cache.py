"""Remembering recent vectors.

A question is embedded once for retrieval and answering, and a passage's sentences once for
every question that retrieves it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from rag.embeddings.base import Embedder, Vectors

# Bulk calls (ingest) pass straight through: their texts are rarely asked for again.
MAX_CACHED_CALL = 64


class CachingEmbedder:
    """An embedder with a bounded LRU of text -> vector in front of it."""

    def __init__(self, inner: Embedder, size: int = 20_000) -> None:
        self.inner = inner
        self.size = size
        self._vectors: OrderedDict[tuple[bool, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """The wrapped embedder's vector space."""
        return self.inner.model_id

    def clear(self) -> None:
        """Forget every cached vector (benchmarks measure cold queries with it)."""
        with self._lock:
            self._vectors.clear()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Vectors for document texts, computing only those not seen recently."""
        return self._cached(texts, query=False)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Vectors for questions, cached apart from the same text embedded as a document."""
        return self._cached(texts, query=True)

    def _cached(self, texts: Sequence[str], query: bool) -> Vectors:
        compute = self.inner.embed_queries if query else self.inner.embed
        if not texts or len(texts) > MAX_CACHED_CALL:
            return compute(texts)
        with self._lock:
            found = {t: self._vectors[query, t] for t in texts if (query, t) in self._vectors}
            for text in found:
                self._vectors.move_to_end((query, text))
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            computed = compute(missing)
            with self._lock:
                for text, vector in zip(missing, computed, strict=True):
                    found[text] = vector
                    self._vectors[query, text] = vector
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        result: Vectors = np.vstack([found[t] for t in texts]).astype(np.float32)
        return result
