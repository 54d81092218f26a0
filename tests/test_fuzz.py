"""Bad input, generated: every case ends in an answer or a clear refusal; no 500, no crash, no
hang. Examples per property: 150, or the profile's if more (``HYPOTHESIS_PROFILE=long``: 5000);
``FUZZ_EXAMPLES`` sets the number outright.
"""

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.loaders import LoadError, load
from rag.answer import Answer, check_citations
from rag.api import Pipeline
from rag.errors import QuestionError
from rag.settings import Settings
from tests.helpers import RAG

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", max(150, settings().max_examples)))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text from every corner of Unicode: controls, RTL, emoji, combining marks, lone surrogates.
any_text = st.text(st.characters(), max_size=300) | st.sampled_from(
    [
        "",
        "   \n\t ",
        "\x00\x07\x1b[31m",
        "مرحبا كم طول الحدود؟",
        "‮How long is the border?",
        "🇺🇿🔥💥" * 50,
        "Z̷̢͓a̶̡l̵g̸o̷" * 20,
        "[1] [2] [999] 【3】",
        "x" * 100_000,
    ]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | any_text,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(any_text, inner, max_size=5),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def pipeline(article_data_dir: Path) -> Iterator[Pipeline]:
    with Pipeline.open(Settings(data_dir=article_data_dir)) as opened:
        yield opened


@FUZZ
@given(question=any_text | json_values, history=st.none() | json_values)
def test_any_question_and_history_get_an_answer_or_a_reason(
    pipeline: Pipeline, question: object, history: object
) -> None:
    try:
        answer = pipeline.ask(question, history)  # type: ignore[arg-type]
    except QuestionError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(answer, Answer)
    check_citations(answer)


@FUZZ
@given(data=st.binary(max_size=20_000), suffix=st.sampled_from([".txt", ".md", ".html", ".pdf"]))
def test_random_bytes_load_or_are_refused(tmp_path: Path, data: bytes, suffix: str) -> None:
    for prefix in (b"", b"%PDF-1.4\n", b"\xff\xfe", b"\xef\xbb\xbf", b"<html><body>"):
        path = tmp_path / f"random{suffix}"
        path.write_bytes(prefix + data)
        try:
            document = load(path)
        except LoadError as exc:
            assert str(exc) and "\n" not in str(exc)
        else:
            assert document.text.strip()


@FUZZ
@given(cut=st.floats(0.0, 1.0))
def test_a_pdf_cut_anywhere_loads_or_is_refused(tmp_path: Path, cut: float) -> None:
    from tests.helpers import make_pdf

    whole = tmp_path / "whole.pdf"
    if not whole.exists():
        make_pdf(whole, ["First page text.", "Second page, more text.", "Third."])
    data = whole.read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: int(len(data) * cut)])
    try:
        load(path)
    except LoadError as exc:
        assert "\n" not in str(exc)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bomb.html", b"<div>" * 200_000 + b"deep" + b"</div>" * 200_000),
        ("bomb.md", b"> " * 100_000 + b"quote"),
        ("empty.txt", b""),
        ("big.pdf", os.urandom(50 * 2**20)),
        ("big.html", b"<p>" + os.urandom(50 * 2**20)),
    ],
)
def test_bombs_empty_and_huge_files_end_quickly(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    started = time.monotonic()
    try:
        load(path)
    except LoadError as exc:
        assert "\n" not in str(exc)
    assert time.monotonic() - started < 60


ENDPOINTS = ("/api/ask", "/api/ask/stream", "/api/feedback")


@pytest.mark.server
@FUZZ
@given(body=json_values, path=st.sampled_from(ENDPOINTS))
def test_the_api_never_fails_on_any_json(app_server: str, body: object, path: str) -> None:
    response = httpx.post(app_server + path, content=json.dumps(body), timeout=60)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert json.loads(response.text)["error"]


@pytest.mark.server
@FUZZ
@given(body=st.binary(max_size=5000), path=st.sampled_from(ENDPOINTS))
def test_the_api_never_fails_on_any_bytes(app_server: str, body: bytes, path: str) -> None:
    response = httpx.post(
        app_server + path, content=body, headers={"Content-Type": "application/json"}, timeout=60
    )
    assert response.status_code < 500, response.text


@pytest.mark.server
def test_huge_bodies_and_uploads_are_refused(app_server: str) -> None:
    big = httpx.post(f"{app_server}/api/upload", files={"file": ("big.txt", b"a " * (25 * 2**20))})
    assert big.status_code == 413 and "over 20 MB" in big.json()["error"]
    body = httpx.post(f"{app_server}/api/ask", content=b"{" * (5 * 2**20))
    assert body.status_code == 413


@pytest.mark.parametrize(
    "question",
    ["", "   ", "\x07\x1b[31mred", "x" * 100_000, "🇺🇿" * 100, "‮How long?", b"\xff\xfe bad"],
)
def test_the_cli_answers_or_refuses_in_one_line(article_data_dir: Path, question: object) -> None:
    argument = question if isinstance(question, bytes) else str(question).encode()
    done = subprocess.run(
        [RAG.encode(), b"ask", argument],
        capture_output=True,
        env={**os.environ, "RAG_DATA_DIR": str(article_data_dir)},
        timeout=60,
    )
    assert done.returncode in (0, 2), done.stderr
    assert b"Traceback" not in done.stderr
    if done.returncode == 2:
        assert done.stderr.startswith(b"error: ") and done.stderr.count(b"\n") == 1
