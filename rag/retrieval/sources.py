"""A cited passage inside its document, for the one-click check of a citation."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rag.store import Store

CHUNK_ID = re.compile(r"^[0-9a-f]{16}-[0-9a-f]{16}(?:-\d{1,6})?$")
MARGIN = 600


def piece_together(pieces: Iterable[tuple[int, str]]) -> tuple[int, str]:
    """Overlapping passages (start offset, text) as the stretch of document they cover.

    Returns where that stretch starts and its text; gaps between passages were paragraph
    breaks, so they come back as newlines.
    """
    ordered = sorted(pieces, key=lambda p: p[0])
    lo = ordered[0][0] if ordered else 0
    document = ""
    for piece_start, piece_text in ordered:
        offset = piece_start - lo
        if offset > len(document):
            document += "\n" * (offset - len(document))
        document = document[:offset] + piece_text + document[offset + len(piece_text) :]
    return lo, document


def passage_in_context(store: Store, chunk_id: str, margin: int = MARGIN) -> dict[str, Any] | None:
    """The passage, with up to ``margin`` characters of its document before and after.

    The document is pieced together from its neighbouring passages by their offsets (the
    gaps between passages are paragraph breaks), so no separate copy of it is needed.
    """
    if not CHUNK_ID.match(chunk_id):
        return None
    found = store.get([chunk_id])
    if chunk_id not in found:
        return None
    text, meta = found[chunk_id]
    start, end = int(meta.get("start", 0)), int(meta.get("end", len(text)))
    where: Any = {
        "$and": [
            {"source": meta.get("source", "")},
            {"end": {"$gt": start - margin}},
            {"start": {"$lt": end + margin}},
        ]
    }
    lo, document = piece_together(
        (int(m.get("start", 0)), t) for _, t, m in store.records(where=where)
    )
    before = document[max(0, start - margin - lo) : start - lo]
    after = document[end - lo : end - lo + margin]
    if start - len(before) > 0 and " " in before:  # begin and end on whole words
        before = before[before.index(" ") + 1 :]
    if end - lo + margin < len(document) and " " in after:
        after = after[: after.rindex(" ")]
    return {
        "chunk_id": chunk_id,
        "source": meta.get("path") or meta.get("filename"),
        "filename": meta.get("filename"),
        "title": meta.get("title"),
        "date": meta.get("date"),
        "page": meta.get("page"),
        "start": start,
        "end": end,
        "text": text,
        "before": before,
        "after": after,
        "starts_document": start - len(before) <= 0 and lo == 0,
    }
