import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ingest.indexer import Indexer
from rag.embeddings import get_embedder
from rag.embeddings.adapters import ChromaEmbeddingFunction, LangChainEmbeddings
from rag.embeddings.minilm import MiniLMEmbedder
from rag.errors import StoreError
from rag.pipeline import Pipeline
from rag.settings import DEFAULT_CORPUS, Settings
from rag.store import Store


def test_vectors_are_unit_length_and_meaningful() -> None:
    embedder = MiniLMEmbedder()
    texts = [
        "The border between Uzbekistan and Afghanistan is 137 km long.",
        "How long is the Uzbek-Afghan frontier?",
        "Chocolate cake needs butter, sugar and cocoa.",
    ]
    vectors = embedder.embed(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > 0.5 > unrelated + 0.3


def test_batching_and_padding_do_not_change_vectors() -> None:
    embedder = MiniLMEmbedder(batch_size=2)
    texts = ["short", "a much longer sentence " * 20, "medium length text here", "x"]
    together = embedder.embed(texts)
    alone = np.vstack([embedder.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_long_texts_are_truncated_not_rejected() -> None:
    vector = MiniLMEmbedder().embed(["word " * 5000])
    assert vector.shape == (1, 384) and np.isfinite(vector).all()


def test_langchain_embeddings_adapter() -> None:
    embeddings = LangChainEmbeddings(get_embedder("onnx", "all-MiniLM-L6-v2-int8"))
    documents = embeddings.embed_documents(["one", "two"])
    query = embeddings.embed_query("one")
    assert len(documents) == 2 and len(query) == 384
    assert np.allclose(documents[0], query, atol=1e-5)


def test_chroma_function_round_trips_its_config() -> None:
    function = ChromaEmbeddingFunction("onnx", "all-MiniLM-L6-v2-int8")
    rebuilt = ChromaEmbeddingFunction.build_from_config(function.get_config())
    assert rebuilt.get_config() == function.get_config()
    assert ChromaEmbeddingFunction.name() == "rag-cite"
    assert np.allclose(function(["hello"])[0], rebuilt(["hello"])[0])


def test_collection_reopens_by_name_in_a_fresh_process(settings: Settings, tmp_path: Path) -> None:
    question = "Uzbek-Afghan border 137 km"
    with Store.open(settings, write=True) as store:
        Indexer(store).ingest([DEFAULT_CORPUS])
        vector = store.embedder.embed([question])
        expected = store.nearest(vector, 3)[0]
    script = f"""
import json, chromadb, rag.embeddings.adapters
from chromadb.config import Settings
client = chromadb.PersistentClient({str(settings.chroma_path)!r}, Settings(anonymized_telemetry=False))
collection = client.get_collection({settings.collection!r})
hit = collection.query(query_texts=[{question!r}], n_results=3)
print(json.dumps(hit["ids"][0]))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == expected  # Chroma rebuilt our embedder from its config


def test_opening_with_another_embedding_model_is_a_clear_error(settings: Settings) -> None:
    with Store.open(settings, write=True) as store:
        Indexer(store).ingest([DEFAULT_CORPUS])
        count = store.count()
    other = settings.model_copy(
        update={"embedding_provider": "openai", "embedding_model": "text-embedding-3-small"}
    )
    with pytest.raises(
        StoreError,
        match=r"built with the embedding model 'onnx:multilingual-e5-small-q4'.*'openai:text-embedding-3-small'",
    ):
        Store.open(other)
    with Store.open(settings) as store:
        assert store.count() == count


def test_a_store_built_before_the_default_changed_keeps_its_model(settings: Settings) -> None:
    """Upgrading must not strand a store: unless a model is chosen, the stored one is used."""
    old = settings.model_copy(update={"embedding_model": "all-MiniLM-L6-v2-int8"})
    with Store.open(old, write=True) as store:
        Indexer(store).ingest([DEFAULT_CORPUS])
    defaults = Settings(data_dir=settings.data_dir)
    assert defaults.embedding_model == "multilingual-e5-small-q4" and not defaults.embedding_chosen
    with Pipeline.open(defaults) as pipeline:
        assert pipeline.store.embedder.model_id == "onnx:all-MiniLM-L6-v2-int8"
        answer = pipeline.ask("How long is the Uzbek-Afghan border?")
    assert answer.answerable and "137 km" in answer.answer
    chosen = Settings(data_dir=settings.data_dir, embedding_model="multilingual-e5-small-q4")
    with pytest.raises(StoreError, match="all-MiniLM-L6-v2-int8"):
        Store.open(chosen)


def test_unknown_provider_or_model_names_the_setting() -> None:
    with pytest.raises(ValueError, match="RAG_EMBEDDING_PROVIDER"):
        get_embedder("nope", "x")
    with pytest.raises(ValueError, match="RAG_EMBEDDING_MODEL"):
        get_embedder("onnx", "bge-large")


def test_the_store_as_a_langchain_vector_store(article_store: Store) -> None:
    vectorstore = article_store.as_langchain()
    found = vectorstore.similarity_search("Uzbek-Afghan border 137 km", k=3)
    assert any("Uzbek-Afghan border of 137 km" in d.page_content for d in found)
    assert all(d.metadata["source"].endswith("sternik-interview-2016.txt") for d in found)


def test_the_e5_engine_threads_sleep_when_idle_unless_told_otherwise() -> None:
    # libgomp's default lets idle OpenMP threads spin: beside a busy process, a question's
    # embedding took ~850 ms instead of ~30 (bench/busy_neighbour.py). It reads the setting
    # once, when the engine loads: importing rag sets it first, keeping the user's own.
    script = (
        "import os, rag; from rag.embeddings.e5 import E5Embedder; "
        "E5Embedder().embed(['x']); print(os.environ['OMP_WAIT_POLICY'])"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert run.stdout.strip() == "PASSIVE", run.stderr
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert run.stdout.strip() == "ACTIVE", run.stderr


def test_a_question_is_embedded_while_a_document_is_being_embedded() -> None:
    # The e5 engine is one native handle: it was locked for a whole call, so a question
    # asked during an upload's embedding (a call of hundreds of sentences) waited for all of
    # it (28 s for 640 under load). Now it waits for one batch at most.
    import threading

    from rag.embeddings.e5 import BATCH, E5Embedder

    embedder = E5Embedder()
    embedder.embed(["warm up"])
    sentences = [f"Sentence {i} of a long uploaded document about borders." for i in range(640)]
    started = threading.Event()
    model = embedder._model

    class Watched:  # the engine, telling when the document's first batch is in it
        dim = model.dim

        def encode(self, batch: list[str], query: bool) -> object:
            started.set()
            return model.encode(batch, query)

    embedder._model = Watched()
    document = threading.Thread(target=embedder.embed, args=(sentences,))
    document.start()
    started.wait(timeout=60)
    embedder.embed_queries(["How long is the border?"])
    assert document.is_alive(), "the question waited for the whole document"
    document.join()
    assert len(sentences) // BATCH > 4
