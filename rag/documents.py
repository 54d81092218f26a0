"""What the store holds, document by document: the list the chat, the API and MCP show.

Each document's summary is kept beside the passages (``Store.document_summaries``) and
rewritten by ingest whenever the document changes, so listing documents reads one record
per document, not every passage: at 1e6 passages the scan kept a restarted `rag serve` from
answering for 90 s and left it 700 MB larger. A store from before the summaries is scanned
once, by its writer, to make them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rag.store import Record, Store

_TYPES = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md", ".htm": "html"}


def source_key(source: str) -> str:
    """A short stable key for a document's source path: its id, and its passages' id prefix."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class DocumentInfo:
    """One stored document, as the documents list shows it (never a server folder)."""

    id: str  # ``source_key`` of its source: the first part of each of its passage ids
    title: str
    date: str | None
    type: str  # txt, md, html or pdf
    passages: int
    added_at: str | None  # when its current version was stored (ISO 8601 UTC); None: unknown
    source: str  # the path as ingested: a file's name, or a folder's name and the path inside
    filename: str

    def to_dict(self) -> dict[str, Any]:
        """As JSON for the API."""
        return asdict(self)


@dataclass(frozen=True)
class ListedDocument:
    """A listed document and ``origin``, the file it was read from (server-side only)."""

    info: DocumentInfo
    origin: str


def document_info(origin: str, records: Sequence[Record]) -> DocumentInfo:
    """What the list shows for the document stored from ``origin`` with these passages."""
    meta = records[0][2]
    filename = str(meta.get("filename") or Path(origin).name)
    suffix = Path(origin).suffix.lower()
    stamps = [str(r[2]["added_at"]) for r in records if r[2].get("added_at")]
    return DocumentInfo(
        id=source_key(origin),
        title=str(meta.get("title") or filename),
        date=str(meta["date"]) if meta.get("date") else None,
        type=_TYPES.get(suffix, suffix.lstrip(".")),
        passages=len(records),
        added_at=max(stamps) if stamps else None,  # a changed file's newest passages
        source=str(meta.get("path") or filename),
        filename=filename,
    )


def _summary(document: ListedDocument) -> dict[str, Any]:
    fields = {**document.info.to_dict(), "origin": document.origin}
    del fields["id"]
    return {k: v for k, v in fields.items() if v is not None}  # Chroma keeps no None


def _document(id_: str, summary: dict[str, Any]) -> ListedDocument:
    def text(name: str) -> str | None:
        return str(summary[name]) if summary.get(name) is not None else None

    info = DocumentInfo(
        id=id_,
        title=str(summary["title"]),
        date=text("date"),
        type=str(summary["type"]),
        passages=int(summary["passages"]),
        added_at=text("added_at"),
        source=str(summary["source"]),
        filename=str(summary["filename"]),
    )
    return ListedDocument(info, str(summary["origin"]))


def passages(store: Store, origin: str) -> list[Record]:
    """A document's passages in document order."""
    found = list(store.records(where={"source": origin}))
    return sorted(found, key=lambda r: int(r[2].get("start", 0)))


def refresh(store: Store, origins: Iterable[str]) -> None:
    """Rewrite the summaries of these documents from their passages (gone ones are dropped)."""
    put, drop = [], []
    for origin in set(origins):
        found = passages(store, origin)
        if found:
            document = ListedDocument(document_info(origin, found), origin)
            put.append((document.info.id, _summary(document)))
        else:
            drop.append(source_key(origin))
    store.write_document_summaries(put, drop)


def listing(store: Store) -> list[ListedDocument]:
    """Every stored document, by title (then id, so the order is stable)."""
    summaries = store.document_summaries()
    if summaries is not None:
        documents = [_document(id_, summary) for id_, summary in summaries]
    else:  # a store from before the summaries: every passage is read, once if it may write
        by_origin: dict[str, list[Record]] = {}
        for record in store.records():
            by_origin.setdefault(str(record[2].get("source", "?")), []).append(record)
        documents = [ListedDocument(document_info(o, r), o) for o, r in by_origin.items()]
        if store.writable:
            store.write_document_summaries(
                [(d.info.id, _summary(d)) for d in documents], [], complete=True
            )
    return sorted(documents, key=lambda d: (d.info.title.casefold(), d.info.id))
