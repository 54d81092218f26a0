"""Incremental indexing: embed only new passages, replace changed files, prune vanished ones.

Writes go new-first: a changed file's new passages are stored before its old ones are
deleted, so an ingest killed at any point loses nothing, and the next run converges to
exactly the file's current passages (ids are deterministic).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from ingest.chunking import Chunk, Chunker
from ingest.ids import chunk_ids
from ingest.loaders import LOADERS, LoadedDocument, LoadError
from ingest.reader import READER
from rag import documents
from rag.retrieval.passages import embedded_text, quotable_spans
from rag.store import PassageMeta, Record, Store
from rag.text import script_of

EMBED_BATCH = 256


@dataclass
class FileResult:
    """What one file's ingest did."""

    path: str
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    error: str | None = None

    @property
    def changed(self) -> bool:
        """True when the store now differs for this file."""
        return bool(self.added or self.updated or self.removed)


@dataclass
class IngestReport:
    """Per-file results of one ingest run."""

    files: list[FileResult] = field(default_factory=list)

    @property
    def failed(self) -> list[FileResult]:
        """Files that could not be ingested."""
        return [f for f in self.files if f.error]

    def total(self, name: str) -> int:
        """Sum of one counter over all files."""
        return sum(int(getattr(f, name)) for f in self.files)


def discover(paths: Iterable[Path]) -> tuple[list[tuple[Path, str]], list[FileResult]]:
    """Supported files under the given paths, each with its shown name; errors for bad paths.

    The shown name is the path as ingested: a file's own name, or a folder's name and the
    path inside it. Answers show that, never where the server keeps its files.
    """
    found: list[tuple[Path, str]] = []
    errors: list[FileResult] = []
    for path in paths:
        if path.is_dir():
            root = path.resolve()
            found.extend(
                (p, (Path(root.name) / p.relative_to(path)).as_posix())
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and p.suffix.lower() in LOADERS
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            found.append((path, path.name))
        else:
            errors.append(FileResult(str(path), error="no such file or folder"))
    unique: dict[Path, str] = {}
    for file, shown in found:
        unique.setdefault(file.resolve(), shown)
    return list(unique.items()), errors


def _metadata(chunk: Chunk, index: int, document: LoadedDocument, shown: str) -> PassageMeta:
    values: dict[str, Any] = {
        "source": document.source,
        "path": shown,
        "filename": Path(shown).name,
        "title": document.title,
        "date": document.date,
        "chunk_index": index,
        "start": chunk.start,
        "end": chunk.end,
        "page": chunk.page,
        "page_end": chunk.page_end,
        "page_starts": _page_starts(chunk, document),
        "context": chunk.context,
        "script": script_of(chunk.text) or None,
    }
    return cast(PassageMeta, {k: v for k, v in values.items() if v is not None})


def _page_starts(chunk: Chunk, document: LoadedDocument) -> str | None:
    """Where each later page starts in a passage that spans pages ("412,1730").

    Offsets in the passage's text: a citation names the page of the sentence it marks, not
    the passage's first page.
    """
    if chunk.page is None or chunk.page_end is None or chunk.page_end == chunk.page:
        return None
    starts = (
        document.pages[n - 1][0] - chunk.start for n in range(chunk.page + 1, chunk.page_end + 1)
    )
    return ",".join(str(max(0, s)) for s in starts)


def now_utc() -> str:
    """The current time as ISO 8601 in UTC, to the second (``2026-01-31T09:15:00Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _versioned(stored: PassageMeta | None, meta: PassageMeta, stamp: str) -> PassageMeta:
    """A passage's metadata with its ``added_at``: kept when nothing else changed, else now.

    So re-ingesting an unchanged file rewrites nothing, and a store from before ``added_at``
    existed keeps its passages as they are until their document changes.
    """
    if stored is not None:
        rest = {k: v for k, v in stored.items() if k != "added_at"}
        if rest == meta:
            return stored
    return cast(PassageMeta, {**meta, "added_at": stamp})


@dataclass
class _Plan:
    """One file's changes: passages to add, to move, to delete."""

    result: FileResult
    new: list[Record] = field(default_factory=list)
    moved: list[Record] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)


class Indexer:
    """Brings the store in line with a set of files."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.chunker = Chunker(store.settings.chunk_size, store.settings.chunk_overlap)

    def ingest(
        self,
        paths: Sequence[Path],
        *,
        prune: bool = False,
        on_file: Callable[[FileResult], None] | None = None,
    ) -> IngestReport:
        """Ingest files and folders; one bad file is reported and the others still go in.

        Files are planned one by one but written in groups of at least ``EMBED_BATCH`` new
        passages: embedding many small files one call each would waste most of the model's
        time on padding and per-call overhead.
        """
        files, errors = discover(paths)
        report = IngestReport(files=list(errors))
        pending: list[_Plan] = []

        def flush() -> None:
            self._write(pending)
            for plan in pending:
                report.files.append(plan.result)
                if on_file:
                    on_file(plan.result)
            pending.clear()

        for path, shown in files:
            pending.append(self._plan(path, shown))
            if sum(len(p.new) for p in pending) >= EMBED_BATCH:
                flush()
        flush()
        if prune:
            report.files.extend(self.prune())
        self._changed([f.path for f in report.files if f.changed])
        return report

    def _changed(self, sources: Sequence[str]) -> None:
        """After writing: the changed documents' summaries, then the store's new revision."""
        if sources:
            documents.refresh(self.store, sources)
            self.store.bump_revision()

    def _plan(self, path: Path, shown: str) -> _Plan:
        """What must change in the store for one file (nothing is written yet)."""
        result = FileResult(str(path))
        try:
            document = READER.load(path, self.store.settings.read_timeout)
        except LoadError as exc:
            result.error = str(exc)
            return _Plan(result)
        chunks = self.chunker.chunk(document)
        ids = chunk_ids(document.source, [c.text for c in chunks])
        metadatas = [_metadata(c, i, document, shown) for i, c in enumerate(chunks)]
        stored = {
            id_: meta for id_, _, meta in self.store.records(where={"source": document.source})
        }
        stamp = now_utc()
        records = [
            (id_, c.text, _versioned(stored.get(id_), m, stamp))
            for id_, c, m in zip(ids, chunks, metadatas, strict=True)
        ]
        plan = _Plan(
            result,
            new=[r for r in records if r[0] not in stored],
            moved=[r for r in records if r[0] in stored and stored[r[0]] != r[2]],
            stale=sorted(set(stored) - set(ids)),
        )
        if plan.stale and not plan.new and not plan.moved:
            # Only passages gone from the end: the last one left carries the new version's
            # time, since a document's added_at is its newest passage's.
            id_, text, meta = records[-1]
            plan.moved.append((id_, text, cast(PassageMeta, {**meta, "added_at": stamp})))
        result.added, result.updated, result.removed = (
            len(plan.new),
            len(plan.moved),
            len(plan.stale),
        )
        result.unchanged = len(ids) - len(plan.new) - len(plan.moved)
        return plan

    def _write(self, plans: Sequence[_Plan]) -> None:
        """New passages first, then moved ones, then deletions: a kill loses nothing."""
        store = self.store
        batch = min(EMBED_BATCH, store.batch_size)
        new = [r for p in plans for r in p.new]
        for lo in range(0, len(new), batch):
            part = new[lo : lo + batch]
            # Sentences before their passage: a kill in between leaves only harmless vectors
            # that the next ingest overwrites, never a passage without its sentences.
            sentences = [
                (r[0], s, e, embedded_text(r[1], r[2], s, e))
                for r in part
                for s, e in quotable_spans(r[1], r[2])
            ]
            for at in range(0, len(sentences), batch):
                some = sentences[at : at + batch]
                vectors = store.embedder.embed([text for *_, text in some])
                store.upsert_sentences([(id_, s, e) for id_, s, e, _ in some], vectors)
            store.upsert(part, store.embedder.embed([r[1] for r in part]))
        moved = [r for p in plans for r in p.moved]
        for lo in range(0, len(moved), batch):
            # Same text elsewhere in the file: new offsets, same vector (Chroma's update
            # merges metadata keys, so upsert the whole record to drop stale ones).
            part = moved[lo : lo + batch]
            kept = store.vectors([r[0] for r in part])
            store.upsert(part, [kept[r[0]] for r in part])
        stale = [id_ for p in plans for id_ in p.stale]
        for lo in range(0, len(stale), batch):
            store.delete(stale[lo : lo + batch])

    def ingest_file(self, path: Path, shown: str) -> FileResult:
        """Ingest one file under the name it was shown with before (see ``discover``)."""
        plan = self._plan(path, shown)
        self._write([plan])
        self._changed([plan.result.path] if plan.result.changed else [])
        return plan.result

    def remove(self, source: str) -> FileResult:
        """Remove one document (its passages and their sentences) by its ``source``.

        The keyword index learns of it from the store's new revision; the file is left alone.
        """
        ids = self.store.passage_ids(where={"source": source})
        batch = min(EMBED_BATCH, self.store.batch_size)
        for lo in range(0, len(ids), batch):
            self.store.delete(ids[lo : lo + batch])
        self._changed([source] if ids else [])
        return FileResult(source, removed=len(ids))

    def prune(self) -> list[FileResult]:
        """Remove the passages of documents whose files no longer exist."""
        by_source: dict[str, list[str]] = {}
        for id_, _, meta in self.store.records():
            by_source.setdefault(str(meta.get("source", "")), []).append(id_)
        results = []
        for source, ids in sorted(by_source.items()):
            if source and not Path(source).exists():
                self.store.delete(ids)
                results.append(FileResult(source, removed=len(ids)))
        return results
