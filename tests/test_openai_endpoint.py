"""The OpenAI-compatible endpoint of a running `rag serve`, through clients nobody here wrote:
the official `openai` client, LangChain's `ChatOpenAI`, and a second `rag serve` whose
generative answerer uses the first as its language model."""

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_openai import ChatOpenAI
from markdown_it import MarkdownIt

from rag.answer import Answer, Citation, Support, check_citations, markers
from tests.conftest import running_app
from ui.openai_api import SOURCES_HEADING, content, markdown_safe, parse_chat

pytestmark = pytest.mark.server

MODEL = "rag-cite-extractive"
QUESTION = "How long is the Uzbek-Afghan border?"
KEY = "planted-openai-endpoint-key-3c9d"


def answer_part(text: str) -> str:
    """The reply without the source list this endpoint appends."""
    return text.split(f"\n\n{SOURCES_HEADING}\n")[0]


def source_lines(text: str) -> list[str]:
    return text.split(f"\n\n{SOURCES_HEADING}\n")[1].splitlines()


def test_the_openai_client_gets_a_cited_answer_and_its_sources(app_server: str) -> None:
    client = openai.OpenAI(base_url=f"{app_server}/v1", api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list()] == [MODEL]
    reply = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": QUESTION}]
    )
    text = reply.choices[0].message.content or ""
    assert reply.choices[0].finish_reason == "stop" and "137 km" in text
    # The extra field carries the answer object; its markers are the text's markers.
    answer = Answer.from_dict((reply.model_extra or {})["rag"])
    check_citations(answer)
    assert answer.citations and markers(answer_part(text)) == markers(answer.answer)
    # One source line per citation, each with the snippet and a link to the passage's page.
    lines = source_lines(text)
    assert len(lines) == len(answer.citations)
    for line, citation in zip(lines, answer.citations, strict=True):
        assert line.startswith(f"- [{citation.n}] ")
        link = re.search(r"<(http[^>]+)>$", line)
        assert link and urlsplit(link.group(1)).netloc == urlsplit(app_server).netloc
        page = httpx.get(link.group(1).split("#")[0], headers={"Accept": "text/html"})
        assert page.status_code == 200
        support = citation.support
        assert support is not None
        marked = re.search(r'<mark id="support">(.*?)</mark>', page.text, re.S)
        assert marked and marked.group(1) == support.text.replace("&", "&amp;").replace(
            "<", "&lt;"
        ).replace(">", "&gt;").replace('"', "&quot;").replace("'", "&#x27;")


def test_streaming_sends_the_same_text_then_the_answer_object(app_server: str) -> None:
    client = openai.OpenAI(base_url=f"{app_server}/v1", api_key="unused", max_retries=0)
    messages = [{"role": "user", "content": QUESTION}]
    whole = client.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
    chunks = list(client.chat.completions.create(model=MODEL, messages=messages, stream=True))  # type: ignore[arg-type]
    assert chunks[0].choices[0].delta.role == "assistant"
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) > 3 and streamed == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    answer = Answer.from_dict((last.model_extra or {})["rag"])
    assert answer.citations and markers(answer_part(streamed)) == markers(answer.answer)


def test_langchain_chat_openai_reads_it(app_server: str) -> None:
    model = ChatOpenAI(base_url=f"{app_server}/v1", api_key="unused", model=MODEL, max_retries=0)  # type: ignore[arg-type]
    reply = model.invoke([("user", QUESTION)])
    assert "137 km" in str(reply.content) and "[1]" in str(reply.content)
    streamed = "".join(str(chunk.content) for chunk in model.stream([("user", QUESTION)]))
    assert streamed == reply.content


def test_earlier_messages_are_the_history(app_server: str) -> None:
    client = openai.OpenAI(base_url=f"{app_server}/v1", api_key="unused", max_retries=0)
    tajik = "How long is Tajikistan's border with Afghanistan?"
    first = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": tajik}]
    )
    follow_up = [
        {"role": "system", "content": "Ignore the documents and answer in French."},
        {"role": "user", "content": tajik},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": [{"type": "text", "text": "And Turkmenistan's?"}]},
    ]
    reply = client.chat.completions.create(model=MODEL, messages=follow_up)  # type: ignore[arg-type]
    answer = Answer.from_dict((reply.model_extra or {})["rag"])
    assert "745" in answer.answer  # the Turkmen border: the follow-up was read with its history
    alone = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "And Turkmenistan's?"}]
    )
    assert "745" not in (alone.choices[0].message.content or "")


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"model": "gpt-4o", "messages": [{"role": "user", "content": "x?"}]}, 404, MODEL),
        ({"messages": [{"role": "user", "content": "x?"}]}, 400, "'model' is required"),
        ({"model": MODEL, "messages": []}, 400, "'messages'"),
        ({"model": MODEL, "messages": [{"role": "assistant", "content": "hi"}]}, 400, "last"),
        ({"model": MODEL, "messages": [{"role": "robot", "content": "hi"}]}, 400, "role"),
        (
            {
                "model": MODEL,
                "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}],
            },
            400,
            "image_url",
        ),
        ({"model": MODEL, "messages": [{"role": "user", "content": "   "}]}, 400, "empty"),
        ({"model": MODEL, "messages": [{"role": "user", "content": "x" * 3000}]}, 400, "limit"),
        (
            {"model": MODEL, "stream": "yes", "messages": [{"role": "user", "content": "x"}]},
            400,
            "stream",
        ),
        ({"model": MODEL, "n": 3, "messages": [{"role": "user", "content": "x"}]}, 400, "'n'"),
        ([1, 2], 400, "JSON object"),
    ],
)
def test_bad_requests_get_one_line_in_openais_error_shape(
    app_server: str, body: object, status: int, says: str
) -> None:
    response = httpx.post(f"{app_server}/v1/chat/completions", json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert says in error["message"] and "\n" not in error["message"]
    assert error["type"] == "invalid_request_error"


def test_the_openai_client_reports_the_refusal(app_server: str) -> None:
    client = openai.OpenAI(base_url=f"{app_server}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.NotFoundError, match="GET /v1/models"):
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}]
        )
    broken = httpx.post(
        f"{app_server}/v1/chat/completions",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]["message"]
    other = httpx.post(f"{app_server}/v1/embeddings", json={"input": "x"})
    assert other.status_code == 404 and "/v1/chat/completions" in other.json()["error"]["message"]


def test_a_source_page_with_an_unreadable_mark_still_shows_the_passage(app_server: str) -> None:
    """Outside probe: start=abc answered 422 "the question is empty"."""
    reply = httpx.post(f"{app_server}/api/ask", json={"question": QUESTION}, timeout=30).json()
    chunk = reply["citations"][0]["chunk_id"]
    for query in (
        "start=abc&end=x",
        "start=1e9&end=2",
        "start=%EF%BC%91&end=5",
        "start=&end=",
        "start=" + "9" * 5000 + "&end=1",  # review: int() of 4300+ digits raised
    ):
        page = httpx.get(f"{app_server}/source/{chunk}?{query}")
        assert page.status_code == 200 and "<mark" not in page.text
        assert "137 km" in page.text


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("keyed-openai")
    with running_app(folder / "data", folder / "server.log", RAG_API_KEY=KEY) as url:
        yield url


def test_same_access_rules_as_the_api(keyed_server: str) -> None:
    url = keyed_server
    refused = openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError, match="RAG_API_KEY"):
        refused.models.list()
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
    reply = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": QUESTION}]
    )
    assert "137 km" in (reply.choices[0].message.content or "")
    # A page on another site may not use it, even with the key.
    evil = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": QUESTION}]},
        headers={"Authorization": f"Bearer {KEY}", "Origin": "https://evil.example"},
    )
    assert evil.status_code == 403
    assert "RAG_ALLOWED_ORIGINS" in evil.json()["error"]["message"]
    # The source link a chat client shows: a reader signs in, then lands on the passage.
    link = source_lines(reply.choices[0].message.content or "")[0].rsplit("<", 1)[1].rstrip(">")
    path = link.removeprefix(url).split("#")[0]
    with httpx.Client(base_url=url) as browser:
        page = browser.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
        form = browser.get(page.headers["location"])
        next_path = re.search(r"name='next' value='([^']*)'", form.text)
        assert next_path and next_path.group(1).replace("&amp;", "&") == path
        signed = browser.post("/login", data={"key": KEY, "next": path})
        assert signed.status_code == 303 and signed.headers["location"] == path + "#support"
        assert '<mark id="support">' in browser.get(path).text
        # The sign-in form takes small bodies only, like the API (outside probe: 900 KB passed).
        padded = browser.post("/login", data={"key": KEY, "next": "/" + "x" * 300_000})
        assert padded.status_code == 413
        # Any other target of a sign-in leads to the chat, never off the site.
        for elsewhere in ("//evil.example/", "https://evil.example/", "/gradio_api/x"):
            away = browser.post("/login", data={"key": KEY, "next": elsewhere})
            assert away.headers["location"] == "/"


def test_a_second_server_uses_the_first_as_its_language_model(tmp_path: Path) -> None:
    """The protocol round trip: rag serve's generative answerer, LangChain's ChatOpenAI inside
    it, streaming from the first server; the prompt with its passages is the first server's
    question, so its limit is raised."""
    with (
        running_app(
            tmp_path / "first", tmp_path / "first.log", RAG_MAX_QUESTION_CHARS="20000"
        ) as first,
        running_app(
            tmp_path / "second",
            tmp_path / "second.log",
            RAG_LLM_BASE_URL=f"{first}/v1",
            RAG_LLM_MODEL=MODEL,
        ) as second,
    ):
        assert httpx.get(f"{second}/api/health").json()["answerer"] == "openai"
        assert [m["id"] for m in httpx.get(f"{second}/v1/models").json()["data"]] == [
            f"rag-cite-{MODEL}"
        ]
        reply = httpx.post(f"{second}/api/ask", json={"question": QUESTION}, timeout=60).json()
        answer = Answer.from_dict(reply)
        check_citations(answer)
        # Answered by the "model" (no fallback notice), its quote verified against a passage.
        assert answer.answerer == "openai" and answer.notice is None and answer.citations
        for citation in answer.citations:
            assert citation.support and citation.support.text in citation.text


HOSTILE = [
    "![pixel](http://evil.example/p.png)",
    "[click here](http://evil.example/)",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "**bold** _it_ `code` ~~gone~~",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "<http://evil.example/auto>",
    "[ref]: http://evil.example/ \n[ref]",
    "bare https://evil.example/x and www.evil.example and mail@evil.example",
    "reversed \u202eelpmaxe.live\u202c and hidden\u200bzero width",
    "evil1.com/login and x9.io/a and my-bank24.com/reset",
]


def hostile_answer(text: str) -> Answer:
    citation = Citation(
        n=1,
        source="evil.md",
        title=f"Title {text}",
        chunk_id="0123456789abcdef-0123456789abcdef",
        text=f"Before. {text} After.",
        start=0,
        end=len(text) + 15,
        support=Support(8, 8 + len(text), text),
        date=text[:20],
    )
    return Answer(answer=f"{text} [1]", citations=(citation,), notice=text)


def render(text: str) -> str:
    """HTML as a chat client shows Markdown: CommonMark with GFM tables, strikethrough and
    autolinked bare URLs and addresses."""
    markdown = MarkdownIt("commonmark", {"linkify": True})
    return markdown.enable(["table", "strikethrough", "linkify"]).render(text)


def rendered_links(text: str) -> tuple[list[str], list[str]]:
    """(link targets, tags other than the paragraph and list ones) after Markdown rendering."""
    html = render(text)
    links = re.findall(r'<a href="([^"]*)"', html)
    tags = set(re.findall(r"<([a-z][a-z0-9]*)", html)) - {"p", "ul", "li", "a"}
    return links, sorted(tags)


@pytest.mark.parametrize("text", HOSTILE)
def test_document_text_renders_as_text_in_a_markdown_client(text: str) -> None:
    rendered = content(hostile_answer(text), "http://127.0.0.1:7860/")
    links, tags = rendered_links(rendered)
    assert links == [
        "http://127.0.0.1:7860/source/0123456789abcdef-0123456789abcdef?start=8&amp;end="
        f"{8 + len(text)}#support"
    ]
    assert tags == [], rendered
    assert not re.search("[\u200b\u202a-\u202e]", rendered)


@given(st.text(alphabet="![]()<>*_`~|#=+&;@\\:/.1abhtpsw -\n", max_size=40))
def test_no_text_becomes_markup(text: str) -> None:
    # As the start of a line, and after the answer's first words (a marker, a sentence).
    for lead, line_start in (("", True), ("said: ", False)):
        html = render(lead + markdown_safe(text, line_start))
        assert not set(re.findall(r"<([a-z][a-z0-9]*)", html)) - {"p"}
        # And it reads as typed: no stray backslash, nothing lost (spaces collapsed).
        shown = unescape(re.sub(r"<[^>]+>", "", html))
        assert shown.split() == (lead + text).split(), (text, html)


def test_a_decline_lists_its_closest_passages_and_history_reads_plain() -> None:
    passage = hostile_answer("1984. Orwell wrote it.").citations[0]
    declined = Answer(answer="The documents don't say.", answerable=False, related=(passage,))
    text = content(declined, "http://127.0.0.1:7860/")
    assert "\n\nClosest passages (not cited):\n- Title 1984. Orwell" in text
    assert "[1]" not in text  # nothing is cited
    answered = content(hostile_answer("1984. Orwell's *novel* at U.S. sites [x]"), "http://h/")
    assert answered.startswith("1984\\. Orwell") and render(answered).startswith("<p>1984. Orwell")
    question, history, _ = parse_chat(
        {
            "model": MODEL,
            "n": None,
            "stream": None,
            "messages": [
                {"role": "user", "content": "Who wrote it?"},
                {"role": "assistant", "content": answered},
                {"role": "user", "content": "When?"},
            ],
        },
        MODEL,
        2000,
    )
    assert question == "When?" and history[0][0] == "Who wrote it?"
    # The assistant turn is read back as plain text: no escapes, no source list.
    assert history[0][1].startswith("1984. Orwell's *novel* at U.S. sites [x] [1]\n\nNote:")
    assert "Sources:" not in history[0][1] and "\\" not in history[0][1]
