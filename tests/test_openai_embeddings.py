"""The OpenAI embedding path, against a real OpenAI-protocol server on loopback."""

from pathlib import Path

import pytest

from ingest.indexer import Indexer
from rag.errors import StoreError
from rag.retrieval.hybrid import HybridRetriever
from rag.settings import DEFAULT_CORPUS, Settings
from rag.store import Store

pytestmark = pytest.mark.server


def test_ingest_and_retrieve_with_openai_protocol_embeddings(
    embeddings_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "local-test-server-needs-no-key")
    monkeypatch.setenv("RAG_EMBEDDING_PROVIDER", "openai")
    monkeypatch.setenv("RAG_EMBEDDING_MODEL", "multilingual-e5-small-q4")
    monkeypatch.setenv("RAG_EMBEDDING_BASE_URL", embeddings_server)
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.embedding_provider == "openai"
    with Store.open(settings, write=True) as store:
        assert store.embedder.model_id == "openai:multilingual-e5-small-q4"
        vectors = store.embedder.embed(["Граница", "border"])
        assert vectors.shape == (2, 384)
        report = Indexer(store).ingest([DEFAULT_CORPUS])
        assert report.total("added") == store.count() > 20
        documents = HybridRetriever(store=store, k=3).invoke("How long is the Uzbek-Afghan border?")
    assert any("Uzbek-Afghan border of 137 km" in d.page_content for d in documents)

    onnx = Settings(data_dir=tmp_path / "data", embedding_provider="onnx", embedding_model="")
    with pytest.raises(StoreError, match="'openai:multilingual-e5-small-q4'"):
        Store.open(onnx)


def test_default_openai_model_is_text_embedding_3_small() -> None:
    settings = Settings(embedding_provider="openai")
    assert settings.embedding_model == "text-embedding-3-small"
