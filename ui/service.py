"""What the server holds open: the store (as its only writer), the pipeline and the indexer."""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.indexer import FileResult, Indexer
from ingest.loaders import LoadError, load
from rag.answer import Answer, AnswerChunk
from rag.api import Pipeline
from rag.errors import FeedbackError, outage
from rag.feedback import FeedbackStore
from rag.settings import DEFAULT_CORPUS, Settings
from rag.store import Store

log = logging.getLogger(__name__)
_ingest_lock = threading.Lock()
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


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
class Service:
    """One open store and pipeline, shared by the API, the chat page and uploads.

    Answers go through ``ask`` and ``stream`` here, which keep each answer given so that
    users can rate it (``rate``).
    """

    settings: Settings
    store: Store
    pipeline: Pipeline
    feedback: FeedbackStore | None = None

    @classmethod
    def open(cls, settings: Settings) -> Service:
        """Open the store for writing, ingest the bundled article if it is empty."""
        store = Store.open(settings, write=True)
        if store.count() == 0:
            Indexer(store).ingest([DEFAULT_CORPUS])
        pipeline = Pipeline.open(settings, store)
        # First questions then answer as fast as later ones (sentence vectors are cached).
        threading.Thread(target=_warm, args=(pipeline,), name="warm", daemon=True).start()
        feedback = FeedbackStore.open(settings) if settings.feedback else None
        return cls(settings, store, pipeline, feedback)

    def ask(self, question: Any, history: Any = None) -> Answer:
        """Answer, and keep the answer for rating."""
        answer = self.pipeline.ask(question, history)
        self._keep(answer, history)
        return answer

    def stream(self, question: Any, history: Any = None) -> Iterator[AnswerChunk]:
        """Stream an answer (the question is checked now), and keep it for rating."""
        chunks = self.pipeline.stream(question, history)

        def kept() -> Iterator[AnswerChunk]:
            for chunk in chunks:
                if chunk.answer is not None:
                    self._keep(chunk.answer, history)
                yield chunk

        return kept()

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
                load(trial)
            except LoadError as exc:
                return FileResult(str(path), error=str(exc))
            trial.replace(path)
            return Indexer(self.store).ingest([path]).files[0]

    def outage(self, exc: BaseException) -> str | None:
        """One line for users when ``exc`` means a server the app needs is down, else None."""
        return outage(exc, self.settings)

    def close(self) -> None:
        """Release the store and the feedback database."""
        self.store.close()
        if self.feedback is not None:
            self.feedback.close()
