"""The documents API of a running `rag serve`: list, delete and re-read stored documents.

The server here is private (loopback, no admin token), so its own user may change documents;
``tests/test_access.py`` checks who may not.
"""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from ingest.ids import source_key
from rag.documents import DocumentInfo, document_info
from rag.settings import DEFAULT_CORPUS, Settings
from rag.store import DOCUMENTS, LISTED_KEY, Record
from tests.conftest import running_app
from ui.api import build_router, install_error_handlers
from ui.app import App

pytestmark = pytest.mark.server

ARTICLE_ID = source_key(str(DEFAULT_CORPUS.resolve()))
FIELDS = {"id", "title", "date", "type", "passages", "added_at", "source", "filename"}
ZORB = b"Zorbistan notes\n\nThe Zorbistan canal is 42 km long and was opened in 1911."
QUINCE = b"Orchard notes\n\nThe Melnik orchard grows 300 quince trees on the north slope."


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("documents")
    with running_app(folder / "data", folder / "server.log", RAG_RATE_LIMIT_PER_MINUTE="0") as url:
        yield url, folder / "data"


def listed(url: str) -> dict[str, dict]:  # type: ignore[type-arg]
    response = httpx.get(f"{url}/api/documents", timeout=30)
    assert response.status_code == 200, response.text
    return {d["filename"]: d for d in response.json()}


def upload(url: str, name: str, data: bytes) -> None:
    response = httpx.post(f"{url}/api/upload", files={"file": (name, data)}, timeout=60)
    assert response.status_code == 200, response.text


def ask(url: str, question: str) -> dict:  # type: ignore[type-arg]
    response = httpx.post(f"{url}/api/ask", json={"question": question}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def one_line_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"]
    return str(body["error"])


def test_the_list_shows_the_bundled_article(docs_server: tuple[str, Path]) -> None:
    url, _ = docs_server
    documents = httpx.get(f"{url}/api/documents").json()
    article = next(d for d in documents if d["id"] == ARTICLE_ID)
    assert set(article) == FIELDS
    assert article["title"].startswith("America’s Attempts to Halt Eurasian Integration")
    assert article["date"] == "2016-01-06" and article["type"] == "txt"
    assert article["passages"] == 28
    assert article["source"] == article["filename"] == "sternik-interview-2016.txt"
    added = datetime.strptime(article["added_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(0) <= datetime.now(UTC) - added < timedelta(hours=1)
    # The id is the first part of every passage id of the document.
    answer = ask(url, "How long is the Uzbek-Afghan border?")
    assert {c["chunk_id"].split("-")[0] for c in answer["citations"]} == {ARTICLE_ID}
    titles = [d["title"].casefold() for d in documents]
    assert titles == sorted(titles)


def test_delete_removes_an_upload_everywhere_and_nothing_else(
    docs_server: tuple[str, Path],
) -> None:
    url, data = docs_server
    upload(url, "zorbistan.txt", ZORB)
    upload(url, "orchard.txt", QUINCE)
    before = listed(url)
    zorb = before["zorbistan.txt"]
    assert zorb["passages"] == 1 and zorb["source"] == "zorbistan.txt" and zorb["added_at"]
    assert "42 km" in ask(url, "How long is the Zorbistan canal?")["answer"]
    assert (data / "uploads" / "zorbistan.txt").exists()

    deleted = httpx.delete(f"{url}/api/documents/{zorb['id']}", timeout=30)
    assert deleted.status_code == 200 and deleted.json() == {"deleted": zorb["id"], "passages": 1}
    after = listed(url)
    assert "zorbistan.txt" not in after
    assert after == {k: v for k, v in before.items() if k != "zorbistan.txt"}
    answer = ask(url, "How long is the Zorbistan canal?")
    assert "42 km" not in answer["answer"]
    assert all(c["filename"] != "zorbistan.txt" for c in answer["citations"])
    assert not (data / "uploads" / "zorbistan.txt").exists()  # a restart cannot bring it back
    # Everything else still answers.
    assert (data / "uploads" / "orchard.txt").exists()
    assert "300 quince" in ask(url, "How many quince trees does the Melnik orchard grow?")["answer"]
    assert "137 km" in ask(url, "How long is the Uzbek-Afghan border?")["answer"]
    gone = httpx.delete(f"{url}/api/documents/{zorb['id']}")
    assert one_line_error(gone, 404).startswith("no document with id")


@pytest.mark.parametrize(
    "doc_id",
    ["0" * 16, "nope", "x" * 5000, ARTICLE_ID.upper(), ARTICLE_ID + "-1", "%2E%2E%2F%2E%2E%2Fetc"],
)
def test_unknown_or_malformed_ids_are_a_one_line_404(
    docs_server: tuple[str, Path], doc_id: str
) -> None:
    url, _ = docs_server
    for method, path in (("DELETE", ""), ("POST", "/reingest")):
        response = httpx.request(method, f"{url}/api/documents/{doc_id}{path}", timeout=30)
        one_line_error(response, 404)
    assert ARTICLE_ID in {d["id"] for d in listed(url).values()}


def test_reingest_rereads_the_file_and_names_a_missing_one(
    docs_server: tuple[str, Path],
) -> None:
    url, data = docs_server
    article = httpx.post(f"{url}/api/documents/{ARTICLE_ID}/reingest", timeout=60)
    assert article.status_code == 200, article.text
    assert article.json() == {
        "id": ARTICLE_ID,
        "source": "sternik-interview-2016.txt",
        "added": 0,
        "updated": 0,
        "removed": 0,
        "unchanged": 28,
    }
    text = b"Kiln notes\n\nThe Bechyne kiln fires at 1280 degrees."
    upload(url, "kiln.txt", text)
    kiln = listed(url)["kiln.txt"]
    file = data / "uploads" / "kiln.txt"
    file.write_bytes(text + b"\n\n" + b"The Bechyne kiln was rebuilt in 1957 by Tomas Vrba. " * 20)
    changed = httpx.post(f"{url}/api/documents/{kiln['id']}/reingest", timeout=60)
    assert changed.status_code == 200 and changed.json()["added"] >= 1, changed.text
    assert listed(url)["kiln.txt"]["id"] == kiln["id"]
    assert "Tomas Vrba" in ask(url, "Who rebuilt the Bechyne kiln?")["answer"]
    file.unlink()
    missing = httpx.post(f"{url}/api/documents/{kiln['id']}/reingest", timeout=60)
    message = one_line_error(missing, 409)
    assert message.startswith("kiln.txt: ") and str(data) not in message
    assert "kiln.txt" in listed(url)  # a failed re-read removes nothing
    file.write_bytes(b"\x00\x01\x02binary" * 10)
    unreadable = httpx.post(f"{url}/api/documents/{kiln['id']}/reingest", timeout=60)
    assert one_line_error(unreadable, 422).startswith("kiln.txt: ")
    assert "Tomas Vrba" in ask(url, "Who rebuilt the Bechyne kiln?")["answer"]


def test_the_routes_refuse_changes_the_gate_did_not_admit(tmp_path: Path) -> None:
    """Mounted without ``ui.access.Gate``, the change routes fail closed."""
    settings = Settings(data_dir=tmp_path / "data")
    with App.open(settings, write=True) as rag_app:
        rag_app.ingest([DEFAULT_CORPUS])
        bare = FastAPI()
        bare.include_router(build_router(rag_app))
        install_error_handlers(bare, rag_app)
        with TestClient(bare) as client:
            assert client.get("/api/documents").json()[0]["id"] == ARTICLE_ID
            for response in (
                client.delete(f"/api/documents/{ARTICLE_ID}"),
                client.post(f"/api/documents/{ARTICLE_ID}/reingest"),
            ):
                assert response.status_code == 403 and "admin token" in response.json()["error"]
        assert rag_app.store.count() == 28


def test_the_app_methods_the_chat_page_calls(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with App.open(settings, write=True) as rag_app:
        rag_app.ingest([DEFAULT_CORPUS])
        rag_app.add_document("zorbistan.txt", ZORB)
        documents = rag_app.document_list()
        assert [d.filename for d in documents] == ["sternik-interview-2016.txt", "zorbistan.txt"]
        zorb = documents[1]
        assert re.fullmatch(r"[0-9a-f]{16}", zorb.id) and zorb.type == "txt"
        assert rag_app.search("Zorbistan canal", k=1)[0].metadata["filename"] == "zorbistan.txt"
        assert rag_app.reingest_document(zorb.id) is not None
        removed = rag_app.remove_document(zorb.id)
        assert removed is not None and removed.passages == 1
        assert all(
            d.metadata["filename"] != "zorbistan.txt" for d in rag_app.search("Zorbistan", 4)
        )
        assert rag_app.remove_document(zorb.id) is None
        assert rag_app.reingest_document("../../etc") is None
        assert [d.id for d in rag_app.document_list()] == [ARTICLE_ID]
        # A file ingested with its folder is read again under the same shown path.
        (tmp_path / "notes").mkdir()
        (tmp_path / "notes" / "kiln.txt").write_bytes(b"Kiln notes\n\nThe kiln fires at 1280.")
        rag_app.ingest([tmp_path / "notes"])
        kiln = next(d for d in rag_app.document_list() if d.filename == "kiln.txt")
        assert kiln.source == "notes/kiln.txt"
        found = rag_app.reingest_document(kiln.id)
        assert found is not None and found[1].unchanged == 1 and not found[1].changed
        assert kiln in rag_app.document_list()  # same source, same added_at


def scanned(store: object) -> list[DocumentInfo]:
    """The documents list made the old way, from every passage."""
    by_origin: dict[str, list[Record]] = {}
    for record in store.records():  # type: ignore[attr-defined]
        by_origin.setdefault(str(record[2]["source"]), []).append(record)
    found = [document_info(origin, records) for origin, records in by_origin.items()]
    return sorted(found, key=lambda d: (d.title.casefold(), d.id))


def no_scans(monkeypatch: pytest.MonkeyPatch, store: object) -> None:
    """From here on, reading every passage of the store fails the test."""
    records = store.records  # type: ignore[attr-defined]

    def one_document_only(where: dict[str, object] | None = None) -> Iterator[Record]:
        assert where is not None, "the documents list read every passage"
        return records(where)  # type: ignore[no-any-return]

    monkeypatch.setattr(store, "records", one_document_only)


def test_the_documents_list_reads_no_passage_and_follows_every_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 1e6 passages, reading them all for the list kept a restart from answering for 90 s."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "zorb.txt").write_bytes(ZORB)
    (notes / "quince.txt").write_bytes(QUINCE)
    settings = Settings(data_dir=tmp_path / "data")
    with App.open(settings, write=True) as rag_app:
        rag_app.ingest([notes])
        expected = scanned(rag_app.store)
        no_scans(monkeypatch, rag_app.store)
        assert rag_app.document_list() == expected and len(expected) == 2
        zorb = next(d for d in expected if d.filename == "zorb.txt")
        (notes / "zorb.txt").write_bytes(ZORB + b"\n\nIts locks lift boats 9 metres.\n\n" * 40)
        assert rag_app.reingest_document(zorb.id) is not None
        monkeypatch.undo()
        grown, expected = expected, scanned(rag_app.store)
        assert grown != expected  # more passages, a later added_at
        no_scans(monkeypatch, rag_app.store)
        assert rag_app.document_list() == expected
        assert rag_app.remove_document(zorb.id) is not None
        assert [d.filename for d in rag_app.document_list()] == ["quince.txt"]
    monkeypatch.undo()
    with App.open(settings) as reader:  # another process's view: the same list
        no_scans(monkeypatch, reader.store)
        assert [d.filename for d in reader.document_list()] == ["quince.txt"]


def test_a_store_from_before_the_list_is_scanned_once_by_its_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with App.open(settings, write=True) as rag_app:
        rag_app.add_document("zorbistan.txt", ZORB)
        expected = rag_app.document_list()
        # What a store written before the list existed looks like: no summaries, no mark.
        store = rag_app.store
        store._client.delete_collection(settings.collection + DOCUMENTS)  # type: ignore[attr-defined]
        metadata = dict(store._collection.metadata)  # type: ignore[attr-defined]
        del metadata[LISTED_KEY]
        store._collection.modify(metadata=metadata)  # type: ignore[attr-defined]
    with App.open(settings) as reader:  # a reader scans, and writes nothing
        assert reader.document_list() == expected
    with App.open(settings, write=True) as writer:  # the writer scans once and keeps it
        assert writer.document_list() == expected
    with App.open(settings) as reader:
        no_scans(monkeypatch, reader.store)
        assert reader.document_list() == expected
