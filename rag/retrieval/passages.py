"""Retrieved passages as answerers see them, and the citations made from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.documents import Document

from rag.answer import Citation, Support


@dataclass(frozen=True)
class Passage:
    """One retrieved passage; ``rank`` is its 1-based place in the retrieval order."""

    rank: int
    chunk_id: str
    text: str
    metadata: dict[str, Any]
    score: float

    @classmethod
    def from_document(cls, rank: int, document: Document) -> Passage:
        """From a retriever's LangChain document."""
        metadata = dict(document.metadata)
        return cls(
            rank=rank,
            chunk_id=str(document.id or metadata.get("id", "")),
            text=document.page_content,
            metadata=metadata,
            score=float(metadata.get("score", 0.0)),
        )

    @property
    def asked_until(self) -> int:
        """Where the interviewer's question that opens this passage ends (0 if none does)."""
        context = self.metadata.get("context")
        if context and self.text.startswith(context):
            return len(context)
        return 0

    def citation(self, n: int, support: tuple[int, int] | None = None) -> Citation:
        """The passage as citation number ``n``, with its supporting span if known."""
        m = self.metadata
        return Citation(
            n=n,
            # The path as ingested (older stores: the file's name), never the server's folders.
            source=str(m.get("path") or m.get("filename") or ""),
            title=m.get("title"),
            chunk_id=self.chunk_id,
            text=self.text,
            start=int(m.get("start", 0)),
            end=int(m.get("end", len(self.text))),
            support=Support(support[0], support[1], self.text[support[0] : support[1]])
            if support
            else None,
            page=m.get("page"),
            score=round(self.score, 6),
            date=m.get("date"),
            filename=m.get("filename"),
        )
