"""The Chroma store: embedded by default, a server when configured, one code path for both.

The only module that touches a Chroma client or collection (``tests/test_layout.py`` holds
it): everything else reads and writes passages through ``Store``'s methods.

Chroma's embedded mode is not process-safe, so an embedded store is guarded by a file lock:
readers share it, a writer holds it alone, and a conflict is reported with the fix (run a
Chroma server) instead of corrupting the index. The one exception is a follower
(``Store.follow``): a process answering beside a served writer (``rag serve --workers``),
which reopens the store after each of the writer's revisions, never while it writes.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypedDict, cast

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError

from rag.embeddings import Embedder, embedder_for
from rag.embeddings.adapters import ChromaEmbeddingFunction
from rag.embeddings.base import Vectors
from rag.errors import StoreError
from rag.retrieval.keywords import KeywordIndex, keyword_lock
from rag.settings import Settings
from rag.text import keyword_text


class PassageMeta(TypedDict, total=False):
    """What the store keeps with each passage; written by ``ingest``, read by every reader."""

    source: str  # the document's file as ingested (absolute): its identity, never shown
    path: str  # the path shown for it: a file's name, or a folder's name and the path inside
    filename: str
    title: str
    date: str
    chunk_index: int
    start: int  # offsets into the document's cleaned text
    end: int
    page: int
    page_end: int
    page_starts: str  # where each later page starts in a passage spanning pages ("412,1730")
    context: str  # the interviewer's question or heading the passage answers
    script: str  # the writing system most of its letters are in ("latin", "cyrillic"...)
    added_at: str  # when this passage's version of the document was stored (ISO 8601, UTC)


Record = tuple[str, str, PassageMeta]  # id, text, metadata
Sentence = tuple[str, int, int]  # passage id, start, end (offsets into the passage text)
SENTENCES = ".sentences"  # suffix of the collection holding each passage's sentence vectors
DOCUMENTS = ".documents"  # suffix of the one holding each document's summary (rag.documents)
LISTED_KEY = "rag_documents_listed"  # set once every document has its summary
WRITING_KEY = "rag_writing"  # set from a writer's first change to its new revision
MODEL_KEY = "rag_embedding_model"
REVISION_KEY = "rag_revision"
PAGE = 5000
log = logging.getLogger(__name__)
_NO_KEYS: dict[str, Any] = dict.fromkeys(PassageMeta.__annotations__)


def _lock(settings: Settings, write: bool) -> IO[str]:
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    handle = open(settings.chroma_path / "rag.lock", "a+")  # noqa: SIM115 - held for the store's life
    try:
        fcntl.flock(handle, (fcntl.LOCK_EX if write else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StoreError(
            f"The store at {settings.chroma_path} is in use by another process, and Chroma's "
            "embedded mode is not process-safe. Run a server ('chroma run --path "
            f"{settings.chroma_path}') and set RAG_CHROMA_HOST and RAG_CHROMA_PORT for both."
        ) from None
    if write:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
    return handle


@contextmanager
def _writes(settings: Settings, write: bool) -> Iterator[None]:
    """Embedded mode: a writer's changes and a follower's reload never overlap.

    A follower reading Chroma's files while the writer flushes them could load a torn index.
    """
    if settings.chroma_host:
        yield
        return
    with (settings.chroma_path / "rag.writes.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
        yield


def _client(settings: Settings) -> ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        where = f"{settings.chroma_host}:{settings.chroma_port}"
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
            client.heartbeat()
        except Exception as exc:
            raise StoreError(
                f"Cannot reach the Chroma server at {where} (RAG_CHROMA_HOST/RAG_CHROMA_PORT): "
                f"{type(exc).__name__}"
            ) from None
        return client
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


class Store:
    """An open collection, the embedder that filled it, and (embedded mode) its lock."""

    def __init__(
        self,
        settings: Settings,
        client: ClientAPI,
        collection: Collection,
        embedder: Embedder,
        lock: IO[str] | None = None,
        sentences: Collection | None = None,
        documents: Collection | None = None,
        writable: bool = False,
    ) -> None:
        self.settings = settings
        self._client = client
        self._collection = collection
        self._sentences = sentences
        self._documents = documents
        self.writable = writable  # opened to write (embedded: holding the lock alone)
        self.embedder = embedder
        self._lock = lock
        self._keywords: KeywordIndex | None = None
        # What this store wrote since its last revision: the keyword index takes it in then.
        self._written: dict[str, tuple[str, str]] = {}  # id -> (keyword text, script)
        self._deleted: set[str] = set()
        self._followed: str | None = None  # a follower's revision as last loaded
        self._writing = False  # this store has marked the collection (WRITING_KEY)

    @classmethod
    def open(cls, settings: Settings, *, write: bool = False) -> Store:
        """Open the collection; ``write`` creates it if missing and takes the lock alone."""
        lock = None if settings.chroma_host else _lock(settings, write)
        try:
            client = _client(settings)
            settings = _adopt_stored_model(client, settings)
            embedder = embedder_for(settings)
            collection = _collection(client, settings, embedder, create=write)
            sentences = _sentence_collection(client, settings, create=write)
            documents = _side_collection(client, settings, DOCUMENTS, create=write)
        except BaseException:
            if lock:
                lock.close()
            raise
        store = cls(settings, client, collection, embedder, lock, sentences, documents, write)
        if write and (collection.metadata or {}).get(WRITING_KEY):
            store._recover()
        return store

    def _recover(self) -> None:
        """After a writer that stopped between its changes and its new revision (killed).

        What it wrote is in the store, but not in the keyword index or the documents list,
        and the next revision's update would not bring it in: a new revision makes the next
        reader rebuild the index, and the writer lists the documents by reading them again.
        """
        log.warning(
            "an ingest stopped before it finished: the keyword index and the documents list "
            "are rebuilt from the store"
        )
        metadata = dict(self._client.get_collection(self.settings.collection).metadata or {})
        for key in (WRITING_KEY, LISTED_KEY):
            metadata.pop(key, None)
        metadata[REVISION_KEY] = uuid.uuid4().hex
        with _writes(self.settings, write=True):
            self._collection.modify(metadata=metadata)

    def _mark_writing(self) -> None:
        """Before this writer's first change since its last revision: see ``_recover``."""
        if self._writing:
            return
        metadata = dict(self._client.get_collection(self.settings.collection).metadata or {})
        with _writes(self.settings, write=True):
            self._collection.modify(metadata={**metadata, WRITING_KEY: "1"})
        self._writing = True

    @classmethod
    def follow(cls, settings: Settings) -> Store:
        """Open to read beside the process writing the store, which may be running.

        Embedded Chroma loads a collection's vectors once per process, so a follower does not
        see the writer's later changes: ``catch_up`` reopens it after each new revision.
        """
        if settings.chroma_host:  # a server shows every client every change
            return cls.open(settings)
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
        with _writes(settings, write=False):
            return cls._reopen(settings)

    @classmethod
    def _reopen(cls, settings: Settings, embedder: Embedder | None = None) -> Store:
        SharedSystemClient.clear_system_cache()  # else the client of the last load comes back
        client = _client(settings)
        settings = _adopt_stored_model(client, settings)
        embedder = embedder or embedder_for(settings)
        collection = _collection(client, settings, embedder, create=False)
        sentences = _sentence_collection(client, settings, create=False)
        store = cls(settings, client, collection, embedder, None, sentences)
        store._followed = store.revision()
        # Chroma reads a collection's vector index on its first query: do that now, while
        # the writer waits, not later while it may be writing.
        probe = embedder.embed_queries(["?"])
        for loaded in (collection, sentences):
            if loaded is not None:
                loaded.query(query_embeddings=probe, n_results=1, include=[])
        return store

    def catch_up(self, always: bool = False) -> None:
        """A follower reloads the store if the writer changed it since the last load.

        ``always``: even before the writer's new revision says so.
        """
        if self._followed is None or (not always and self.revision() == self._followed):
            return
        with _writes(self.settings, write=False):
            fresh = self._reopen(self.settings, self.embedder)
        self._client, self._collection, self._sentences = (
            fresh._client,
            fresh._collection,
            fresh._sentences,
        )
        self._followed = fresh._followed

    def close(self) -> None:
        """Release the embedded store's lock."""
        if self._lock:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def revision(self) -> str:
        """Changes whenever an ingest changes the collection (read fresh, not cached)."""
        metadata = self._client.get_collection(self.settings.collection).metadata or {}
        return str(metadata.get(REVISION_KEY, ""))

    def bump_revision(self) -> None:
        """Tell every reader (and its keyword index) that the contents changed.

        The keyword index on disk takes in what this store wrote, if it matched the revision
        before; otherwise the next reader rebuilds it. The index's lock is held from before
        the new revision is written, so a reader that sees it waits for the update instead
        of rebuilding the whole index.
        """
        written, deleted = self._written, self._deleted
        self._written, self._deleted = {}, set()
        revision = None
        try:
            with keyword_lock(self.settings.keywords_path):
                before, revision = self._new_revision()
                index = KeywordIndex.open(self.settings.keywords_path)
                if index is None or index.revision != before or index.needs_compaction:
                    return  # rebuilt whole by the next reader
                added = [(id_, text, script) for id_, (text, script) in written.items()]
                self._keywords = index.update(added, sorted(deleted - written.keys()), revision)
        except OSError:  # a folder this process may not write: the next reader rebuilds
            log.warning("could not update the keyword index in %s", self.settings.keywords_path)
            if revision is None:
                self._new_revision()

    def _new_revision(self) -> tuple[str, str]:
        """Write a new revision; returns the one before and the new one."""
        metadata = dict(self._client.get_collection(self.settings.collection).metadata or {})
        before = str(metadata.get(REVISION_KEY, ""))
        metadata[REVISION_KEY] = revision = uuid.uuid4().hex
        metadata.pop(WRITING_KEY, None)  # what it marked is now in the revision
        with _writes(self.settings, write=True):
            self._collection.modify(metadata=metadata)
        self._writing = False
        return before, revision

    def keywords(self) -> KeywordIndex:
        """The keyword index of the collection as it is now (its revision read fresh).

        Loaded from disk when it matches the revision, else rebuilt from every passage and
        written there: a restart reuses it, and a change never goes unseen.
        """
        revision = self.revision()
        if self._keywords is not None and self._keywords.revision == revision:
            return self._keywords
        folder = self.settings.keywords_path
        index = KeywordIndex.open(folder)
        if index is None or index.revision != revision:
            try:
                with keyword_lock(folder):
                    index = KeywordIndex.open(folder)  # another process may have just built it
                    if index is None or index.revision != revision:
                        index = KeywordIndex.build(folder, self._keyword_records(), revision)
            except OSError:  # a data folder this process may not write: a scratch one
                scratch = Path(tempfile.mkdtemp(prefix="rag-keywords-"))
                log.warning("keyword index kept in %s: cannot write %s", scratch, folder)
                index = KeywordIndex.build(scratch, self._keyword_records(), revision)
        self._keywords = index
        return index

    def _keyword_records(self) -> Iterator[tuple[str, str, str]]:
        for id_, text, meta in self.records():
            yield id_, keyword_text(text, meta.get("context")), str(meta.get("script", ""))

    def count(self) -> int:
        """How many passages the store holds."""
        return self._collection.count()

    def heartbeat(self) -> None:
        """Raise unless the store (a Chroma server, when one is used) answers."""
        self._client.heartbeat()

    @property
    def batch_size(self) -> int:
        """The most passages one write may carry."""
        return int(self._client.get_max_batch_size())

    def get(self, ids: Sequence[str]) -> dict[str, tuple[str, PassageMeta]]:
        """Text and metadata by id, for the ids the store has (missing ones are left out)."""
        if not ids:
            return {}
        found = self._collection.get(ids=list(ids), include=["documents", "metadatas"])
        documents = found["documents"] or []
        metadatas = found["metadatas"] or []
        return {
            id_: (documents[i] or "", cast(PassageMeta, dict(metadatas[i] or {})))
            for i, id_ in enumerate(found["ids"])
        }

    def vectors(self, ids: Sequence[str]) -> dict[str, Any]:
        """The stored embedding of each id, so moved text is not embedded again."""
        found = self._collection.get(ids=list(ids), include=["embeddings"])
        vectors = found["embeddings"]
        assert vectors is not None  # asked for with include=["embeddings"]
        return dict(zip(found["ids"], list(vectors), strict=True))

    def nearest(
        self, vectors: Vectors, n: int, where: dict[str, Any] | None = None
    ) -> list[list[str]]:
        """For each query vector, the ``n`` nearest passages matching ``where``, nearest first."""
        found = self._collection.query(
            query_embeddings=vectors, n_results=n, where=where, include=[]
        )
        return [list(ids) for ids in found["ids"]]

    def upsert(self, records: Sequence[Record], vectors: Vectors | Sequence[Any]) -> None:
        """Write passages with their vectors (whole records: stale metadata keys go).

        Chroma's upsert merges an existing passage's metadata with the new keys; a key given
        as None is deleted, so every known key a record lacks is sent as None.
        """
        self._mark_writing()
        self._written.update(
            (r[0], (keyword_text(r[1], r[2].get("context")), str(r[2].get("script", ""))))
            for r in records
        )
        with _writes(self.settings, write=True):
            self._collection.upsert(
                ids=[r[0] for r in records],
                documents=[r[1] for r in records],
                metadatas=[{**_NO_KEYS, **cast(dict[str, Any], r[2])} for r in records],
                embeddings=list(vectors),
            )

    def delete(self, ids: Sequence[str]) -> None:
        """Remove passages by id, with their sentences."""
        self._mark_writing()
        self._deleted.update(ids)
        for id_ in ids:
            self._written.pop(id_, None)
        with _writes(self.settings, write=True):
            self._collection.delete(ids=list(ids))
            if self._sentences is not None and ids:
                self._sentences.delete(where=_of_passages(ids))

    def upsert_sentences(self, sentences: Sequence[Sentence], vectors: Vectors) -> None:
        """Write the quotable sentences' vectors, so answering embeds only the question."""
        if self._sentences is None or not sentences:
            return
        with _writes(self.settings, write=True):
            self._sentences.upsert(
                ids=[f"{id_}@{start}-{end}" for id_, start, end in sentences],
                metadatas=[{"passage": id_, "start": s, "end": e} for id_, s, e in sentences],
                embeddings=list(vectors),
            )

    def sentence_vectors(self, ids: Sequence[str]) -> dict[Sentence, Any]:
        """The stored vector of each sentence of these passages (none for older stores)."""
        if self._sentences is None or not ids:
            return {}
        found = self._sentences.get(where=_of_passages(ids), include=["metadatas", "embeddings"])
        metadatas = found["metadatas"] or []
        vectors = found["embeddings"]
        assert vectors is not None  # asked for with include=["embeddings"]
        return {
            (str(m["passage"]), int(m["start"]), int(m["end"])): vector  # type: ignore[arg-type]
            for m, vector in zip(metadatas, vectors, strict=True)
        }

    def document_summaries(self) -> list[tuple[str, dict[str, Any]]] | None:
        """Each document's summary by its id; None until every document has one."""
        metadata = self._client.get_collection(self.settings.collection).metadata or {}
        if self._documents is None or not metadata.get(LISTED_KEY):
            return None
        found: list[tuple[str, dict[str, Any]]] = []
        while True:
            page = self._documents.get(limit=PAGE, offset=len(found), include=["metadatas"])
            metadatas = page["metadatas"] or []
            found.extend((id_, dict(metadatas[i] or {})) for i, id_ in enumerate(page["ids"]))
            if len(page["ids"]) < PAGE:
                return found

    def write_document_summaries(
        self,
        put: Sequence[tuple[str, dict[str, Any]]],
        drop: Sequence[str],
        complete: bool = False,
    ) -> None:
        """Write and delete document summaries; ``complete``: now every document has one."""
        if self._documents is None:  # a reader of a store from before them
            return
        with _writes(self.settings, write=True):
            for lo in range(0, len(put), self.batch_size):
                part = put[lo : lo + self.batch_size]
                self._documents.upsert(
                    ids=[id_ for id_, _ in part],
                    metadatas=[summary for _, summary in part],
                    embeddings=np.ones((len(part), 1), dtype=np.float32),  # nothing searches
                )
            if drop:
                self._documents.delete(ids=list(drop))
            if complete:
                collection = self._client.get_collection(self.settings.collection)
                self._collection.modify(metadata={**(collection.metadata or {}), LISTED_KEY: "1"})

    def passage_ids(self, where: dict[str, Any] | None = None) -> list[str]:
        """The ids of the passages matching ``where`` (no text or metadata is fetched)."""
        ids: list[str] = []
        while True:
            page = self._collection.get(where=where, limit=PAGE, offset=len(ids), include=[])
            ids.extend(page["ids"])
            if len(page["ids"]) < PAGE:
                return ids

    def records(self, where: dict[str, Any] | None = None) -> Iterator[Record]:
        """Every (id, text, metadata), a page at a time."""
        offset = 0
        while True:
            page = self._collection.get(
                where=where, limit=PAGE, offset=offset, include=["documents", "metadatas"]
            )
            ids = page["ids"]
            documents = page["documents"] or []
            metadatas = page["metadatas"] or []
            for i, id_ in enumerate(ids):
                yield id_, documents[i] or "", cast(PassageMeta, dict(metadatas[i] or {}))
            if len(ids) < PAGE:
                return
            offset += PAGE

    def as_langchain(self) -> Any:
        """The collection as a LangChain ``Chroma`` vector store, for LangChain pipelines."""
        from langchain_chroma import Chroma

        from rag.embeddings.adapters import LangChainEmbeddings

        return Chroma(
            client=self._client,
            collection_name=self.settings.collection,
            embedding_function=LangChainEmbeddings(self.embedder),
        )


def _of_passages(ids: Sequence[str]) -> Any:
    """A Chroma filter for the sentences of these passages."""
    return {"passage": {"$in": list(ids)}}


def _adopt_stored_model(client: ClientAPI, settings: Settings) -> Settings:
    """The settings with the bundled model an existing collection was built with.

    Unless the user chose a model: a store filled before the default changed keeps answering.
    """
    if settings.embedding_chosen:
        return settings
    try:
        metadata = client.get_collection(settings.collection).metadata or {}
    except NotFoundError:
        return settings
    provider, _, model = str(metadata.get(MODEL_KEY, "")).partition(":")
    if provider == "onnx" and model and model != settings.embedding_model:
        return settings.model_copy(update={"embedding_model": model})
    return settings


def _side_collection(
    client: ClientAPI, settings: Settings, suffix: str, *, create: bool
) -> Collection | None:
    """A collection kept beside the passages' (absent in stores built before it existed)."""
    name = settings.collection[: 512 - len(suffix)] + suffix
    if create:
        return client.get_or_create_collection(name, embedding_function=None)
    try:
        return client.get_collection(name)
    except NotFoundError:
        return None


def _sentence_collection(
    client: ClientAPI, settings: Settings, *, create: bool
) -> Collection | None:
    """The passages' sentence vectors (absent in stores built before it existed)."""
    name = settings.collection[: 512 - len(SENTENCES)] + SENTENCES
    if create:
        function = ChromaEmbeddingFunction(
            settings.embedding_provider, settings.embedding_model, settings.embedding_base_url
        )
        return client.get_or_create_collection(
            name,
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=function,  # type: ignore[arg-type]
        )
    try:
        return client.get_collection(name)
    except NotFoundError:
        return None


def _collection(
    client: ClientAPI, settings: Settings, embedder: Embedder, *, create: bool
) -> Collection:
    name = settings.collection
    try:
        collection = client.get_collection(name)
    except NotFoundError:
        if not create:
            raise StoreError(
                f"The collection '{name}' does not exist yet: run 'rag ingest' first"
            ) from None
        function = ChromaEmbeddingFunction(
            settings.embedding_provider, settings.embedding_model, settings.embedding_base_url
        )
        return client.create_collection(
            name,
            metadata={
                MODEL_KEY: embedder.model_id,
                REVISION_KEY: uuid.uuid4().hex,
                LISTED_KEY: "1",  # empty: every document (none) has its summary
            },
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=function,  # type: ignore[arg-type]
        )
    stored = (collection.metadata or {}).get(MODEL_KEY)
    if stored != embedder.model_id:
        raise StoreError(
            f"The collection '{name}' was built with the embedding model {stored!r}, but the "
            f"settings select {embedder.model_id!r}: set RAG_EMBEDDING_PROVIDER/"
            "RAG_EMBEDDING_MODEL back, or use a new RAG_COLLECTION and ingest again"
        )
    return collection
