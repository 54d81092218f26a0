"""The REST API of a running `rag serve`, through a real HTTP client."""

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.answer import Answer, Citation, Support, Timings, check_citations
from tests.conftest import running_app, stop_process

pytestmark = pytest.mark.server


def as_answer(data: dict) -> Answer:  # type: ignore[type-arg]
    citations = tuple(
        Citation(**{**c, "support": Support(**c["support"]) if c["support"] else None})
        for c in data["citations"]
    )
    return Answer(**{**data, "citations": citations, "timings": Timings(**data["timings"])})


def events(response: httpx.Response) -> Iterator[tuple[str, dict]]:  # type: ignore[type-arg]
    name, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data += line[6:]
        elif not line and data:
            yield name, json.loads(data)
            name, data = "message", ""


def test_ask_returns_the_answer_object(app_server: str) -> None:
    response = httpx.post(
        f"{app_server}/api/ask",
        json={"question": "How long is the Uzbek-Afghan border?"},
        timeout=30,
    )
    assert response.status_code == 200
    answer = as_answer(response.json())
    check_citations(answer)
    assert "137 km" in answer.answer and answer.answerer == "extractive"


def test_stream_sends_tokens_then_the_answer_with_its_citations(app_server: str) -> None:
    body = {
        "question": "And Turkmenistan's?",
        "history": [["How long is Tajikistan's border with Afghanistan?", "1300 km"]],
    }
    with httpx.stream("POST", f"{app_server}/api/ask/stream", json=body, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        received = list(events(response))
    names = [name for name, _ in received]
    assert names[0] == "token" and names[-1] == "answer" and names.count("answer") == 1
    final = as_answer(received[-1][1])
    check_citations(final)
    assert "745 kilometers" in final.answer and final.citations
    assert "".join(d["text"] for n, d in received if n == "token") == final.answer


def test_health_and_sources(app_server: str) -> None:
    health = httpx.get(f"{app_server}/api/health").json()
    assert health["status"] == "ok" and health["passages"] >= 28
    answer = httpx.post(
        f"{app_server}/api/ask", json={"question": "Who translated the interview?"}, timeout=30
    ).json()
    chunk_id = answer["citations"][0]["chunk_id"]
    source = httpx.get(f"{app_server}/api/sources/{chunk_id}").json()
    assert source["text"] == answer["citations"][0]["text"]
    assert source["starts_document"] is True and source["before"] == ""
    assert source["after"].lstrip().startswith("Director of the Third Department")
    for bad in ("nope", "0" * 16 + "-" + "0" * 16, "x" * 5000):
        response = httpx.get(f"{app_server}/api/sources/{bad}")
        assert response.status_code == 404 and response.json()["error"].startswith(
            "no passage with id"
        )
        assert len(response.json()["error"]) < 120  # a long id is not echoed back whole
    for traversal in ("..%2F..%2Fetc%2Fpasswd", "%2E%2E/%2E%2E/etc/passwd"):
        response = httpx.get(f"{app_server}/api/sources/{traversal}")
        assert response.status_code == 404 and "root:" not in response.text


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'{"question": ""}', 422, "the question is empty"),
        (b'{"question": "   "}', 422, "the question is empty"),
        (
            json.dumps({"question": "x" * 2001}).encode(),
            422,
            "the limit is 2000 (RAG_MAX_QUESTION_CHARS)",
        ),
        (b'{"question": 42}', 422, "the question must be text"),
        (b"{not json", 400, "the request body is not valid JSON"),
        (b'["a list"]', 400, "must be a JSON object"),
        (b"", 400, "must be a JSON object"),
        (b'{"question": "Why?", "history": "nope"}', 422, "the history must be a list"),
        (
            json.dumps({"question": "Why?", "history": [["q", "a"]] * 51}).encode(),
            422,
            "the limit is 50",
        ),
        (b'{"question": "' + b"x" * 300_000 + b'"}', 413, "over 256 KB"),
    ],
)
def test_bad_requests_get_a_clear_4xx(
    app_server: str, body: bytes, status: int, message: str
) -> None:
    for path in ("/api/ask", "/api/ask/stream"):
        response = httpx.post(
            f"{app_server}{path}", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == status, response.text
        assert message in response.json()["error"]


def test_upload_then_ask_about_it(app_server: str) -> None:
    text = "Zorbistan notes\n\nThe Zorbistan canal is 42 km long and was opened in 1911 by Queen Amarda."
    response = httpx.post(
        f"{app_server}/api/upload",
        files={"file": ("../../zorbistan.txt", text.encode())},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["file"] == "zorbistan.txt" and response.json()["added"] == 1
    answer = httpx.post(
        f"{app_server}/api/ask", json={"question": "How long is the Zorbistan canal?"}, timeout=30
    ).json()
    assert "42 km" in answer["answer"]
    assert answer["citations"][0]["filename"] == "zorbistan.txt"
    assert answer["citations"][0]["source"] == "zorbistan.txt"  # the upload's name, not its path
    bad = httpx.post(
        f"{app_server}/api/upload", files={"file": ("broken.pdf", b"%PDF-1.4 junk")}, timeout=30
    )
    assert bad.status_code == 422 and bad.json()["error"].startswith(
        "broken.pdf: corrupt or unreadable PDF"
    )


def test_openapi_schema_is_published(app_server: str) -> None:
    schema = httpx.get(f"{app_server}/openapi.json").json()
    assert {
        "/api/ask",
        "/api/ask/stream",
        "/api/health",
        "/api/sources/{chunk_id}",
        "/api/upload",
    } <= set(schema["paths"])
    assert httpx.get(f"{app_server}/docs").status_code == 200
    paths, models = schema["paths"], schema["components"]["schemas"]

    def body(path: str) -> str:
        content = paths[path]["post"]["requestBody"]["content"]["application/json"]
        return str(content["schema"]["$ref"]).rsplit("/", 1)[1]

    def answered(path: str, method: str) -> dict[str, object]:
        content = paths[path][method]["responses"]["200"]["content"]
        return dict(content)

    assert body("/api/ask") == body("/api/ask/stream") == "AskRequest"
    assert body("/api/feedback") == "FeedbackRequest"
    assert {"question", "history"} <= set(models["AskRequest"]["properties"])
    assert "text/event-stream" in answered("/api/ask/stream", "post")
    for path, method, model in (
        ("/api/ask", "post", "Answer"),
        ("/api/feedback", "post", "Rated"),
        ("/api/sources/{chunk_id}", "get", "PassageInContext"),
    ):
        assert model in str(answered(path, method)["application/json"]), path
    assert {"answer", "citations", "answer_id"} <= set(models["Answer"]["properties"])
    assert models["Refusal"]["required"] == ["error"]


def test_cors_allows_only_the_configured_origins(app_server: str, tmp_path: Path) -> None:
    preflight = {
        "Origin": "https://other.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    response = httpx.options(f"{app_server}/api/ask", headers=preflight)
    assert "access-control-allow-origin" not in response.headers
    with running_app(
        tmp_path / "data", tmp_path / "server.log", RAG_ALLOWED_ORIGINS='["https://other.example"]'
    ) as url:
        allowed = httpx.options(f"{url}/api/ask", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "https://other.example"
        denied = httpx.options(
            f"{url}/api/ask", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in denied.headers


def test_rate_limit_and_upload_switch(tmp_path: Path) -> None:
    with running_app(
        tmp_path / "data",
        tmp_path / "server.log",
        RAG_RATE_LIMIT_PER_MINUTE="3",
        RAG_ALLOW_UPLOAD="false",
    ) as url:
        codes = [
            httpx.post(
                f"{url}/api/ask", json={"question": "Who translated it?"}, timeout=30
            ).status_code
            for _ in range(5)
        ]
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
        limited = httpx.post(f"{url}/api/ask", json={"question": "Who translated it?"})
        assert (
            int(limited.headers["Retry-After"]) >= 1
            and "RAG_RATE_LIMIT_PER_MINUTE" in limited.json()["error"]
        )
        upload = httpx.post(f"{url}/api/upload", files={"file": ("a.txt", b"text")})
        assert upload.status_code == 403 and "RAG_ALLOW_UPLOAD" in upload.json()["error"]
        (article,) = httpx.get(f"{url}/api/documents").json()
        deleted = httpx.delete(f"{url}/api/documents/{article['id']}")
        assert deleted.status_code == 403 and "RAG_ALLOW_UPLOAD" in deleted.json()["error"]


def test_gradio_client_calls_the_named_endpoint(app_server: str) -> None:
    from gradio_client import Client

    client = Client(app_server + "/", verbose=False)
    result = client.predict("How long is the Uzbek-Afghan border?", api_name="/ask")
    assert "137 km" in result["answer"] and result["citations"][0]["n"] == 1


def test_the_readme_start_command_brings_up_the_chat(tmp_path: Path) -> None:
    import os
    import subprocess

    from tests.conftest import ROOT, free_port, wait_for_port

    readme = (ROOT / "README.md").read_text()
    first, second = readme.split("```")[1].strip().splitlines()[1:3]
    assert first.startswith("scripts/start ") and second.startswith("scripts/test ")
    port = free_port()
    process = subprocess.Popen(
        [str(ROOT / "scripts" / "start"), "--port", str(port)],
        env={**os.environ, "RAG_DATA_DIR": str(tmp_path / "data")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process, timeout=180)  # type: ignore[arg-type]
        assert process.stdout is not None
        for _ in range(30):  # pip may print warnings before the server's line
            line = process.stdout.readline().decode()
            if line.startswith("Chat: "):
                break
        assert line.startswith(f"Chat: http://127.0.0.1:{port}/")
        assert httpx.get(f"http://127.0.0.1:{port}/api/health").json()["passages"] == 28
        assert "gradio" in httpx.get(f"http://127.0.0.1:{port}/").text.lower()
    finally:
        stop_process(process)  # type: ignore[arg-type]
        if process.stdout:
            process.stdout.close()


def test_a_bad_upload_never_replaces_a_good_one(app_server: str, app_folder: Path) -> None:
    good = b"Harbour notes\n\nThe Ostrava harbour crane lifts 90 tonnes."
    assert (
        httpx.post(
            f"{app_server}/api/upload", files={"file": ("harbour.txt", good)}, timeout=60
        ).status_code
        == 200
    )
    bad = httpx.post(
        f"{app_server}/api/upload",
        files={"file": ("harbour.txt", b"\x00\x01\x02binary" * 10)},
        timeout=60,
    )
    assert bad.status_code == 422 and bad.json()["error"].startswith("harbour.txt: ")
    answer = httpx.post(
        f"{app_server}/api/ask",
        json={"question": "How much does the Ostrava harbour crane lift?"},
        timeout=30,
    ).json()
    assert "90 tonnes" in answer["answer"]
    assert answer["citations"][0]["source"] == "harbour.txt"
    assert (app_folder / "data" / "uploads" / "harbour.txt").read_bytes() == good


def test_an_oversized_body_without_a_length_is_cut_off(app_server: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(40):
            yield b"x" * 10_000  # 400 KB in all, sent chunked (no Content-Length)
        yield b'"}'

    response = httpx.post(
        f"{app_server}/api/ask", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413 and "over 256 KB" in response.json()["error"]


@pytest.mark.parametrize(
    "name",
    [
        "../../evil-upload.txt",
        "..\\..\\evil-upload.txt",
        "/etc/evil-upload.txt",
        "a/../../../evil-upload.txt",
        "..",
        ".",
        "",
        "%2e%2e%2fevil-upload.txt",
    ],
)
def test_uploads_cannot_write_outside_the_uploads_folder(
    app_server: str, app_folder: Path, name: str
) -> None:
    files = {"file": (name, b"The Ostrava bridge has 19 arches.")}
    response = httpx.post(f"{app_server}/api/upload", files=files, timeout=60)
    assert response.status_code in (200, 422), response.text
    uploads = (app_folder / "data" / "uploads").resolve()
    written = [p for p in app_folder.rglob("*evil-upload*")] + [
        p for p in Path("/etc").glob("*evil-upload*")
    ]
    assert all(p.resolve().parent == uploads for p in written)


def test_no_route_reads_files_outside_the_app(app_server: str) -> None:
    for path in (
        "/gradio_api/file=/etc/passwd",
        "/gradio_api/file=../../../../etc/passwd",
        "/file=/etc/passwd",
        "/embed.js/../../../etc/passwd",
        "/static/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/sources/..%2F..%2F..%2Fetc%2Fpasswd",
    ):
        response = httpx.get(app_server + path)
        assert "root:" not in response.text and response.status_code < 500, path
