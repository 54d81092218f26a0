"""The application: one store with its pipeline, indexer and ratings, built once.

The ``rag`` command and the web server both use it, so each stays a thin layer over it.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from ingest.indexer import FileResult, Indexer, IngestReport
from ingest.loaders import LoadError
from ingest.reader import READER
from rag.answer import Answer, AnswerChunk
from rag.documents import DocumentInfo, ListedDocument, document_info, listing, passages
from rag.errors import FeedbackError, RagError, outage
from rag.feedback import FeedbackStore
from rag.pipeline import Pipeline
from rag.pool import AnswerPool
from rag.settings import DEFAULT_CORPUS, Settings
from rag.store import Record, Store

log = logging.getLogger(__name__)
_ingest_lock = threading.Lock()
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
DOCUMENT_ID = re.compile(r"[0-9a-f]{16}")  # ``source_key``: passage ids start with it


class FileGone(RagError):
    """A stored document's file is no longer where it was ingested from."""


def _warm(pipeline: Pipeline) -> None:
    try:
        pipeline.warm()
    except Exception as exc:  # the first question will build what is missing
        log.warning("could not warm up (%s); questions will do it", type(exc).__name__)


def safe_upload_name(name: str) -> str:
    """A file name that cannot leave the uploads folder: its last part, plain characters."""
    base = Path(name.replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", base).strip(" .")
    return cleaned[:120] or "upload"


@dataclass
class App:
    """One open store with its pipeline (built on first use), indexer and ratings.

    Answers go through ``ask`` and ``stream`` here; a served app keeps each answer given so
    that users can rate it (``rate``).
    """

    settings: Settings
    store: Store
    feedback: FeedbackStore | None = None
    pool: AnswerPool | None = None  # answering processes (``rag serve --workers``)
    _pipeline: Pipeline | None = field(default=None, repr=False)
    # The document list as of a store revision: every chat page load shows it.
    _listed: tuple[str, list[ListedDocument]] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings, *, write: bool = False) -> App:
        """The store (``write``: as its only writer), for a command."""
        return cls(settings, Store.open(settings, write=write))

    @classmethod
    def serve(cls, settings: Settings) -> App:
        """For a server: the store as its writer, and the ratings database.

        An empty store gets the bundled article; the pipeline warms up in the background.
        """
        app = cls.open(settings, write=True)
        if app.store.count() == 0:
            app.ingest([DEFAULT_CORPUS])
        if settings.workers > 1 and settings.offline:
            app.pool = AnswerPool(app.store.settings, settings.workers)
        else:
            # First questions then answer as fast as later ones (sentence vectors are cached).
            threading.Thread(target=_warm, args=(app.pipeline,), name="warm", daemon=True).start()
        app.feedback = FeedbackStore.open(settings) if settings.feedback else None
        return app

    @property
    def pipeline(self) -> Pipeline:
        """The answering pipeline over this store, built on first use."""
        if self._pipeline is None:
            self._pipeline = Pipeline.open(self.settings, self.store)
        return self._pipeline

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ingest(
        self,
        paths: Sequence[Path],
        *,
        prune: bool = False,
        on_file: Callable[[FileResult], None] | None = None,
    ) -> IngestReport:
        """Bring the store in line with files and folders (see ``ingest.indexer``)."""
        return Indexer(self.store).ingest(paths, prune=prune, on_file=on_file)

    def documents(self) -> dict[str, list[Record]]:
        """Each stored document's passages in document order, by its source file."""
        found: dict[str, list[Record]] = {}
        for record in self.store.records():
            found.setdefault(str(record[2].get("source", "?")), []).append(record)
        for records in found.values():
            records.sort(key=lambda r: int(r[2].get("start", 0)))
        return dict(sorted(found.items()))

    def document_list(self) -> list[DocumentInfo]:
        """Every stored document, by title (then id, so the order is stable)."""
        return [d.info for d in self._listing()]

    def _listing(self) -> list[ListedDocument]:
        revision = self.store.revision()
        if self._listed is None or self._listed[0] != revision:
            self._listed = (revision, listing(self.store))
        return self._listed[1]

    def document_passages(self, doc_id: str) -> tuple[str, list[Record]] | None:
        """The source and passages of the document with this id, or None."""
        if not DOCUMENT_ID.fullmatch(doc_id):
            return None
        for document in self._listing():
            if document.info.id == doc_id:
                return document.origin, passages(self.store, document.origin)
        return None

    def _uploaded(self, source: str) -> Path | None:
        """The file in ``DATA_DIR/uploads`` this document was read from, if it was uploaded."""
        folder = (self.settings.data_dir / "uploads").resolve()
        path = Path(source)
        return path if path.is_absolute() and path.parent == folder else None

    def remove_document(self, doc_id: str) -> DocumentInfo | None:
        """Remove a document: its passages, their sentences, and its uploaded file if any.

        Returns what was removed, or None for an id no document has. A file ingested from
        elsewhere stays where it is (``rag ingest`` of it brings the document back).
        """
        with _ingest_lock:
            found = self.document_passages(doc_id)
            if found is None:
                return None
            source, records = found
            info = document_info(source, records)
            Indexer(self.store).remove(source)
            upload = self._uploaded(source)
            if upload is not None:
                upload.unlink(missing_ok=True)  # nothing can read it into the store again
            return info

    def reingest_document(self, doc_id: str) -> tuple[DocumentInfo, FileResult] | None:
        """Read a document's file again from where it was ingested, with the ingest code.

        Returns the document as it was listed before, and what the ingest did (unchanged
        passages are not embedded again; ``error`` says why a file that is there could not
        be read, and then nothing changed). None for an unknown id; raises ``FileGone`` when
        the file is no longer there (the stored passages stay).
        """
        with _ingest_lock:
            found = self.document_passages(doc_id)
            if found is None:
                return None
            source, records = found
            info = document_info(source, records)
            path = Path(source)
            if not path.is_file():
                raise FileGone(
                    f"{info.source}: the file is no longer where it was ingested from; "
                    "upload it again or delete the document"
                )
            shown = str(records[0][2].get("path") or path.name)
            return info, Indexer(self.store).ingest_file(path, shown)

    def search(self, question: str, k: int) -> list[Document]:
        """The passages hybrid search finds for a question, best first."""
        return self.pipeline.retriever.invoke(question, k=k)

    def ask(self, question: Any, history: Any = None) -> Answer:
        """Answer, and keep the answer for rating."""
        *_, last = self._stream(question, history)
        assert last.answer is not None  # the last chunk always carries the answer
        self._keep(last.answer, history)
        return last.answer

    def stream(self, question: Any, history: Any = None) -> Iterator[AnswerChunk]:
        """Stream an answer (the question is checked now), and keep it for rating."""
        chunks = self._stream(question, history)

        def kept() -> Iterator[AnswerChunk]:
            for chunk in chunks:
                if chunk.answer is not None:
                    self._keep(chunk.answer, history)
                yield chunk

        return kept()

    def _stream(self, question: Any, history: Any) -> Iterator[AnswerChunk]:
        """The pipeline's chunks, worked out as they are read (in a worker when pooled).

        A bad question is refused now, before any chunk is read.
        """
        if self.pool is None:
            return self.pipeline.stream(question, history)
        self.pipeline.request(question, history)
        return self._pooled(self.pool, question, history)

    def _pooled(self, pool: AnswerPool, question: Any, history: Any) -> Iterator[AnswerChunk]:
        try:
            chunks: Iterator[AnswerChunk] = iter(pool.stream(question, history))
        except BrokenProcessPool:  # answered here this once, while new processes start
            chunks = self.pipeline.stream(question, history)
        yield from chunks

    def _keep(self, answer: Answer, history: Any) -> None:
        if self.feedback is None:
            return
        try:
            self.feedback.record(answer, history or [])
        except self.feedback.errors:  # the answer still goes out; only its rating will fail
            log.exception("could not keep answer %s for rating", answer.answer_id)

    def rate(self, answer_id: Any, rating: Any, citation: Any = None, comment: Any = None) -> int:
        """Store a user's rating of an answer given here, or of one of its citations."""
        if self.feedback is None:
            raise FeedbackError("ratings are turned off on this server (RAG_FEEDBACK)")
        return self.feedback.rate(answer_id, rating, citation, comment)

    def add_document(self, filename: str, data: bytes) -> FileResult:
        """Save an upload inside the data folder and ingest it with the CLI's code.

        The file is checked where it cannot replace anything first: an unreadable upload
        named like an earlier one leaves that one, and its passages, as they were.
        """
        limit = self.settings.max_upload_mb
        if len(data) > limit * 1024 * 1024:  # every way in ends here: the one size check
            return FileResult(filename, error=f"the file is over {limit} MB (RAG_MAX_UPLOAD_MB)")
        folder = (self.settings.data_dir / "uploads").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / safe_upload_name(filename)
        if path.parent != folder:  # cannot happen with a cleaned name; never write elsewhere
            return FileResult(filename, error="invalid file name")
        with _ingest_lock, tempfile.TemporaryDirectory(dir=folder) as scratch:
            trial = Path(scratch) / path.name
            trial.write_bytes(data)
            try:
                READER.load(trial, self.settings.read_timeout)
            except LoadError as exc:
                return FileResult(str(path), error=str(exc))
            trial.replace(path)
            return self.ingest([path]).files[0]

    def outage(self, exc: BaseException) -> str | None:
        """One line for users when ``exc`` means a server the app needs is down, else None."""
        return outage(exc, self.settings)

    def close(self) -> None:
        """Stop the answering and reading processes; release the store and the ratings."""
        READER.close()
        if self.pool is not None:
            self.pool.close()
        self.store.close()
        if self.feedback is not None:
            self.feedback.close()
