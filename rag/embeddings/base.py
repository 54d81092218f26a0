"""The one seam every embedder sits behind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into unit-length vectors; ``model_id`` names the vector space."""

    @property
    def model_id(self) -> str:
        """Provider and model, e.g. ``onnx:all-MiniLM-L6-v2-int8``; vectors compare within one."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Document text (passages, sentences): one row per text, in input order."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Questions: models trained with a query prefix (E5) embed them differently."""
        ...
