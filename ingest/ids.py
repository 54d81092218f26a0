"""Deterministic ids: the same passage of the same file always gets the same id."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from rag.documents import source_key


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def chunk_ids(source: str, texts: Sequence[str]) -> list[str]:
    """``<source key>-<content hash>``; a passage repeated within one file gets ``-2``, ``-3``..."""
    key = source_key(source)
    seen: dict[str, int] = {}
    ids = []
    for text in texts:
        digest = _digest(text)
        seen[digest] = seen.get(digest, 0) + 1
        suffix = f"-{seen[digest]}" if seen[digest] > 1 else ""
        ids.append(f"{key}-{digest}{suffix}")
    return ids


__all__ = ["chunk_ids", "source_key"]
