"""The Chroma store: embedded by default, a server when configured, one code path for both.

Chroma's embedded mode is not process-safe, so an embedded store is guarded by a file lock:
readers share it, a writer holds it alone, and a conflict is reported with the fix (run a
Chroma server) instead of corrupting the index.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from typing import IO, Any

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError

from rag.embeddings import Embedder, embedder_for
from rag.embeddings.adapters import ChromaEmbeddingFunction
from rag.errors import StoreError
from rag.settings import Settings

MODEL_KEY = "rag_embedding_model"
REVISION_KEY = "rag_revision"
PAGE = 5000


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
    ) -> None:
        self.settings = settings
        self.client = client
        self.collection = collection
        self.embedder = embedder
        self._lock = lock

    @classmethod
    def open(cls, settings: Settings, *, write: bool = False) -> Store:
        """Open the collection; ``write`` creates it if missing and takes the lock alone."""
        lock = None if settings.chroma_host else _lock(settings, write)
        try:
            client = _client(settings)
            embedder = embedder_for(settings)
            collection = _collection(client, settings, embedder, create=write)
        except BaseException:
            if lock:
                lock.close()
            raise
        return cls(settings, client, collection, embedder, lock)

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
        metadata = self.client.get_collection(self.settings.collection).metadata or {}
        return str(metadata.get(REVISION_KEY, ""))

    def bump_revision(self) -> None:
        """Tell every reader (and its keyword index) that the contents changed."""
        metadata = dict(self.client.get_collection(self.settings.collection).metadata or {})
        metadata[REVISION_KEY] = uuid.uuid4().hex
        self.collection.modify(metadata=metadata)

    def records(
        self, where: dict[str, Any] | None = None
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every (id, text, metadata), a page at a time."""
        offset = 0
        while True:
            page = self.collection.get(
                where=where, limit=PAGE, offset=offset, include=["documents", "metadatas"]
            )
            ids = page["ids"]
            documents = page["documents"] or []
            metadatas = page["metadatas"] or []
            for i, id_ in enumerate(ids):
                yield id_, documents[i] or "", dict(metadatas[i] or {})
            if len(ids) < PAGE:
                return
            offset += PAGE

    def as_langchain(self) -> Any:
        """The collection as a LangChain ``Chroma`` vector store, for LangChain pipelines."""
        from langchain_chroma import Chroma

        from rag.embeddings.adapters import LangChainEmbeddings

        return Chroma(
            client=self.client,
            collection_name=self.settings.collection,
            embedding_function=LangChainEmbeddings(self.embedder),
        )


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
            metadata={MODEL_KEY: embedder.model_id, REVISION_KEY: uuid.uuid4().hex},
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
