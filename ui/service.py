"""What the server holds open: the store (as its only writer), the pipeline and the indexer."""

from __future__ import annotations

import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from ingest.indexer import FileResult, Indexer
from ingest.loaders import LoadError, load
from rag.api import Pipeline
from rag.settings import DEFAULT_CORPUS, Settings
from rag.store import Store

_ingest_lock = threading.Lock()
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_upload_name(name: str) -> str:
    """A file name that cannot leave the uploads folder: its last part, plain characters."""
    base = Path(name.replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", base).strip(" .")
    return cleaned[:120] or "upload"


@dataclass
class Service:
    """One open store and pipeline, shared by the API, the chat page and uploads."""

    settings: Settings
    store: Store
    pipeline: Pipeline

    @classmethod
    def open(cls, settings: Settings) -> Service:
        """Open the store for writing, ingest the bundled article if it is empty."""
        store = Store.open(settings, write=True)
        if store.collection.count() == 0:
            Indexer(store).ingest([DEFAULT_CORPUS])
        pipeline = Pipeline.open(settings, store)
        # First questions then answer as fast as later ones (sentence vectors are cached).
        threading.Thread(target=pipeline.warm, name="warm-sentences", daemon=True).start()
        return cls(settings, store, pipeline)

    def add_document(self, filename: str, data: bytes) -> FileResult:
        """Save an upload inside the data folder and ingest it with the CLI's code.

        The file is checked where it cannot replace anything first: an unreadable upload
        named like an earlier one leaves that one, and its passages, as they were.
        """
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

    def close(self) -> None:
        """Release the store."""
        self.store.close()
