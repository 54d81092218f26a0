"""The same code against a real Chroma server (`chroma run`), through HttpClient."""

from pathlib import Path

import pytest

from ingest.indexer import Indexer
from rag.errors import StoreError
from rag.retrieval.hybrid import HybridRetriever
from rag.settings import DEFAULT_CORPUS, Settings
from rag.store import Store

pytestmark = pytest.mark.server


def test_ingest_and_retrieve_through_a_chroma_server(
    chroma_server: tuple[str, int], tmp_path: Path
) -> None:
    host, port = chroma_server
    settings = Settings(
        data_dir=tmp_path / "unused", chroma_host=host, chroma_port=port, collection="server-test"
    )
    with Store.open(settings, write=True) as store:
        store.heartbeat()  # the server answers (and no embedded store is made: below)
        first = Indexer(store).ingest([DEFAULT_CORPUS])
        assert first.total("added") > 20 and not first.failed
        assert Indexer(store).ingest([DEFAULT_CORPUS]).total("added") == 0
    assert not (tmp_path / "unused" / "chroma").exists(), (
        "server mode must not create an embedded store"
    )

    # A second client (as another process would) sees the data and retrieves from it.
    with Store.open(settings) as store:
        documents = HybridRetriever(store=store, k=3).invoke("How long is the Uzbek-Afghan border?")
    assert any("Uzbek-Afghan border of 137 km" in d.page_content for d in documents)


def test_two_writers_may_share_a_server(chroma_server: tuple[str, int], tmp_path: Path) -> None:
    host, port = chroma_server
    settings = Settings(chroma_host=host, chroma_port=port, collection="shared-test")
    with Store.open(settings, write=True), Store.open(settings, write=True) as second:
        assert second.count() == 0


def test_unreachable_server_is_a_one_line_error(tmp_path: Path) -> None:
    from tests.conftest import free_port

    settings = Settings(chroma_host="127.0.0.1", chroma_port=free_port())
    with pytest.raises(
        StoreError, match=r"Cannot reach the Chroma server at 127\.0\.0\.1:\d+ \(RAG_CHROMA_HOST"
    ):
        Store.open(settings)


def test_the_app_says_503_while_chroma_is_down_and_recovers_by_itself(tmp_path: Path) -> None:
    import httpx

    from tests.conftest import free_port, running_app, start_chroma, stop_process

    port = free_port()
    (tmp_path / "chroma").mkdir()
    chroma = start_chroma(tmp_path / "chroma", port)
    question = {"question": "Who translated the interview from Russian?"}
    try:
        with running_app(
            tmp_path / "data",
            tmp_path / "app.log",
            RAG_CHROMA_HOST="127.0.0.1",
            RAG_CHROMA_PORT=str(port),
            RAG_RATE_LIMIT_PER_MINUTE="0",
        ) as url:
            assert "Kristina Rus" in httpx.post(f"{url}/api/ask", json=question, timeout=30).text
            stop_process(chroma)
            for path in ("/api/ask", "/api/ask/stream"):
                down = httpx.post(url + path, json=question, timeout=30)
                assert down.status_code == 503, down.text
                assert down.json()["error"] == (
                    f"the Chroma server at 127.0.0.1:{port} is not reachable; try again shortly"
                )
            assert httpx.get(f"{url}/api/health").status_code == 503
            chroma = start_chroma(tmp_path / "chroma", port)  # same data, same port
            back = httpx.post(f"{url}/api/ask", json=question, timeout=30)
            assert back.status_code == 200 and "Kristina Rus" in back.json()["answer"]
            assert httpx.get(f"{url}/api/health").json()["status"] == "ok"
            assert "Traceback" not in (tmp_path / "app.log").read_text()
    finally:
        stop_process(chroma)


def test_two_servers_share_one_chroma_server(tmp_path: Path) -> None:
    """Scale-out: ingest through one `rag serve`, ask through another."""
    import httpx

    from tests.conftest import free_port, running_app, start_chroma, stop_process

    port = free_port()
    (tmp_path / "chroma").mkdir()
    chroma = start_chroma(tmp_path / "chroma", port)
    shared = {
        "RAG_CHROMA_HOST": "127.0.0.1",
        "RAG_CHROMA_PORT": str(port),
        "RAG_RATE_LIMIT_PER_MINUTE": "0",
    }
    try:
        with (
            running_app(tmp_path / "a", tmp_path / "a.log", **shared) as first_url,
            running_app(tmp_path / "b", tmp_path / "b.log", **shared) as second_url,
        ):
            note = b"Harbor log\n\nThe Vesterhavn harbor crane lifts 84 tonnes.\n"
            added = httpx.post(
                f"{first_url}/api/upload", files={"file": ("harbor.txt", note)}, timeout=60
            )
            assert added.status_code == 200 and added.json()["added"] == 1
            question = {"question": "How much does the Vesterhavn harbor crane lift?"}
            answer = httpx.post(f"{second_url}/api/ask", json=question, timeout=30).json()
            assert (
                "84 tonnes" in answer["answer"]
                and answer["citations"][0]["filename"] == "harbor.txt"
            )
            source = httpx.get(f"{second_url}/api/sources/{answer['citations'][0]['chunk_id']}")
            assert source.status_code == 200 and "84 tonnes" in source.json()["text"]
            article = httpx.post(
                f"{second_url}/api/ask",
                json={"question": "Who translated the interview?"},
                timeout=30,
            )
            assert "Kristina Rus" in article.json()["answer"]
    finally:
        stop_process(chroma)
