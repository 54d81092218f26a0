"""OpenAI's chat completions protocol over the app, so any OpenAI client can ask the documents.

The last user message is the question and earlier user/assistant pairs are the history;
system messages are not followed (this server answers from its documents by its own rules).
The reply keeps its ``[n]`` markers and ends with a numbered source list, each with a link
to the passage's page, so a plain chat client shows citations a reader can check. The whole
answer object travels in the extra field ``rag``: on the response, or on a stream's last chunk.

A stream carries verified text only. A language model's raw tokens may cite the wrong
passage until ``rag.answering.generative.verify`` has checked them, and the protocol has no
way to take back text already sent, so the text is sent once the answer is final.

Clients render the content as Markdown: text from documents is escaped, so a passage can
make no link, image or HTML in the reader's chat.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from rag.answer import MARKER, Answer, Citation
from rag.conversation import Turn, parse_history, validate_question
from rag.errors import QuestionError
from ui.access import refusal_body
from ui.api import unavailable
from ui.app import App

SOURCES_HEADING = "Sources:"
RELATED_HEADING = "Closest passages (not cited):"
SNIPPET_CHARS = 160
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
# Characters that start Markdown or HTML inline, and a line start that makes a heading,
# list or quote; escaped with a backslash (CommonMark), which a client shows as the character.
_MARKUP = re.compile(r"([\\`*_<>\[\]|~&@])")
_BLOCK_START_MARK = re.compile(r"^([#+=-])")
_NUMBERED = re.compile(r"^(\d{1,9})([.)])")
# What clients turn into links by themselves: "https://...", "www.x", bare domains like
# "evil.example" (linkify-it's fuzzy links), e-mail addresses (the "@" is escaped above).
# An escape inside breaks the pattern and shows the same text.
_AUTOLINK = re.compile(r"(?<=:)//|(?<=[\w-])\.(?=[^\W\d_])")
# Direction overrides and zero-width characters: they can reverse or hide quoted text.
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069]")
# The source list this endpoint appends, and its Markdown escapes: an assistant turn sent
# back as history is read as the answer's plain text.
_SOURCE_LIST = re.compile(
    rf"\n\n(?:{re.escape(SOURCES_HEADING)}|{re.escape(RELATED_HEADING)})\n- .*\Z", re.S
)
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


class ChatRequestError(Exception):
    """A request this endpoint cannot answer: the status and one line saying why."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def openai_error(status: int, message: str, code: str | None = None) -> JSONResponse:
    """A refusal in the shape OpenAI clients read: ``{"error": {"message", "type", "code"}}``."""
    return JSONResponse(refusal_body("/v1/", status, message, code), status_code=status)


def served_model(rag_app: App) -> str:
    """The model id this server answers as: its answerer, and the LLM behind it if any."""
    if rag_app.pipeline.answerer.name == "extractive":
        return "rag-cite-extractive"
    return f"rag-cite-{rag_app.settings.llm_model}"


def _text(content: Any, where: str) -> str:
    """A message's text: a string, or a list of text parts (images are refused)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise ChatRequestError(
                    400, f"{where}: only text content is supported, not {str(kind)[:40]!r}"
                )
            if not isinstance(part.get("text"), str):
                raise ChatRequestError(400, f"{where}: a text part needs a string 'text'")
            parts.append(part["text"])
        return "\n".join(parts)
    raise ChatRequestError(400, f"{where}: 'content' must be a string or a list of text parts")


def parse_chat(body: Any, model: str, max_chars: int) -> tuple[str, list[Turn], bool]:
    """The question, the history and whether to stream; ``ChatRequestError`` says what is wrong."""
    if not isinstance(body, dict):
        raise ChatRequestError(400, 'the body must be a JSON object like {"model", "messages"}')
    if not isinstance(body.get("model"), str):
        raise ChatRequestError(400, f"'model' is required: this server answers as {model!r}")
    if body["model"] != model:
        shown = str(body.get("model"))[:100]
        raise ChatRequestError(
            404,
            f"the model {shown!r} does not exist here; this server answers as {model!r} "
            "(GET /v1/models)",
            "model_not_found",
        )
    stream = body.get("stream") or False  # null is the default, as OpenAI takes it
    if not isinstance(stream, bool):
        raise ChatRequestError(400, "'stream' must be true or false")
    if body.get("n") not in (None, 1):
        raise ChatRequestError(400, "'n' must be 1: this server gives one answer per question")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ChatRequestError(400, "'messages' must be a non-empty list of messages")
    turns: list[tuple[str, str]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise ChatRequestError(
                400, f"messages[{i}] must be an object with a role of {', '.join(ROLES)}"
            )
        turns.append((message["role"], _text(message.get("content"), f"messages[{i}]")))
    if turns[-1][0] != "user":
        raise ChatRequestError(400, "the last message must be the user's question")
    try:
        question = validate_question(turns[-1][1], max_chars)
        history = parse_history(_history(turns[:-1]), max_chars)
    except QuestionError as exc:
        raise ChatRequestError(400, str(exc)) from None
    return question, history, stream


def _history(turns: list[tuple[str, str]]) -> list[list[str]]:
    """User questions paired with the assistant reply that followed each (without its sources)."""
    pairs: list[list[str]] = []
    waiting: str | None = None
    for role, text in turns:
        if role == "user":
            waiting = text if waiting is None else f"{waiting}\n{text}"
        elif role == "assistant" and waiting is not None:
            pairs.append([waiting, _ESCAPE.sub(r"\1", _SOURCE_LIST.sub("", text))])
            waiting = None
    return pairs


def markdown_safe(text: str, line_start: bool = False) -> str:
    """Document text a Markdown client shows as typed: no link, image, HTML or emphasis.

    Line breaks become spaces (a quote reads the same); direction overrides and zero-width
    characters go. Bare URLs, domains and e-mail addresses are escaped too, since clients
    (Open WebUI, LibreChat) would link them on their own.
    """
    flat = _MARKUP.sub(r"\\\1", re.sub(r"\s+", " ", _INVISIBLE.sub("", text)))
    flat = _AUTOLINK.sub(lambda m: "".join(f"\\{c}" for c in m.group(0)), flat)
    if not line_start:
        return flat
    # A heading, list or quote marker where a line starts (a list's "1." by its punctuation).
    return _NUMBERED.sub(r"\1\\\2", _BLOCK_START_MARK.sub(r"\\\1", flat))


def _snippet(citation: Citation) -> str:
    text = " ".join((citation.support.text if citation.support else citation.text).split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"


def source_link(base_url: str, citation: Citation) -> str:
    """The passage's page on this server, its supporting sentence marked."""
    link = f"{base_url.rstrip('/')}/source/{quote(citation.chunk_id)}"
    if citation.support:
        link += f"?start={citation.support.start}&end={citation.support.end}#support"
    return link


def content(answer: Answer, base_url: str) -> str:
    """The answer as a chat client shows it: text with markers, a notice, the source list."""
    # The answer's own markers stay; everything else in it may be quoted document text.
    pieces = MARKER.split(answer.answer)
    text = "".join(
        markdown_safe(piece, line_start=i == 0) if i % 2 == 0 else f"[{piece}]"
        for i, piece in enumerate(pieces)
    )
    if answer.notice:
        text += f"\n\nNote: {markdown_safe(answer.notice)}"
    if answer.citations:
        lines = [_source_line(f"[{c.n}] ", c, base_url) for c in answer.citations]
        text += f"\n\n{SOURCES_HEADING}\n" + "\n".join(lines)
    if answer.related:  # a decline's closest passages: to read, not cited
        lines = [_source_line("", c, base_url) for c in answer.related]
        text += f"\n\n{RELATED_HEADING}\n" + "\n".join(lines)
    return text


def _source_line(label: str, c: Citation, base_url: str) -> str:
    title = markdown_safe(c.title or c.filename or c.source)
    date = f" ({markdown_safe(c.date)})" if c.date else ""
    return f"- {label}{title}{date}: “{markdown_safe(_snippet(c))}” <{source_link(base_url, c)}>"


def _completion_id(answer: Answer) -> str:
    return f"chatcmpl-{answer.answer_id}"


def completion(answer: Answer, model: str, base_url: str) -> dict[str, Any]:
    """The non-streamed response, with the answer object in ``rag``."""
    return {
        "id": _completion_id(answer),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content(answer, base_url)},
                "finish_reason": "stop",
            }
        ],
        "rag": answer.to_dict(),
    }


def _chunk(
    chunk_id: str, model: str, delta: dict[str, Any], finish: str | None = None
) -> dict[str, Any]:
    data = {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return data


def _sse(data: Any) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _pieces(text: str) -> Iterator[str]:
    """The content in word-sized pieces, as a streamed reply arrives."""
    yield from re.findall(r"\S+\s*|\s+", text)


def stream_events(
    answers: Iterator[Answer], model: str, base_url: str, rag_app: App
) -> Iterator[str]:
    """The role chunk at once, then the verified text, the last chunk with ``rag``, ``[DONE]``."""
    chunk_id = f"chatcmpl-{int(time.time() * 1000)}"
    yield _sse(_chunk(chunk_id, model, {"role": "assistant", "content": ""}))
    try:
        answer = next(answers)
    except Exception as exc:  # the status line is sent: report in the stream, never hang up
        outage = rag_app.outage(exc)
        message = outage or f"the answer could not be finished ({type(exc).__name__})"
        yield _sse({"error": {"message": message, "type": "server_error", "code": None}})
        return
    for piece in _pieces(content(answer, base_url)):
        yield _sse(_chunk(chunk_id, model, {"content": piece}))
    last = _chunk(chunk_id, model, {}, "stop")
    last["rag"] = answer.to_dict()
    yield _sse(last)
    yield "data: [DONE]\n\n"


def build_openai_router(rag_app: App) -> APIRouter:
    """``/v1/models`` and ``/v1/chat/completions`` (``ui.access.Gate`` has admitted each call)."""
    router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])

    @router.get("/models", summary="The one model this server answers as")
    def models() -> Any:
        return {
            "object": "list",
            "data": [
                {
                    "id": served_model(rag_app),
                    "object": "model",
                    "created": 0,
                    "owned_by": "rag-cite",
                }
            ],
        }

    @router.post(
        "/chat/completions",
        summary="Answer the last user message, with citations (OpenAI's protocol)",
        description="The reply's text keeps `[n]` markers and ends with a source list; the "
        "answer object is in the extra field `rag` (on the last chunk when streaming).",
    )
    async def chat_completions(request: Request) -> Any:
        model = served_model(rag_app)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return openai_error(400, "the request body is not valid JSON")
        try:
            question, history, stream = parse_chat(body, model, rag_app.settings.max_question_chars)
        except ChatRequestError as exc:
            return openai_error(exc.status, str(exc), exc.code)
        base_url = str(request.base_url)
        if not stream:
            try:
                answer = await run_in_threadpool(rag_app.ask, question, history)
            except Exception as exc:
                return unavailable(rag_app, exc, "/v1/")
            return completion(answer, model, base_url)
        try:
            chunks = rag_app.stream(question, history)
            # Retrieval runs before the first chunk: a store outage is still a 503, not an event.
            first = await run_in_threadpool(next, chunks, None)
        except Exception as exc:
            return unavailable(rag_app, exc, "/v1/")

        def final() -> Iterator[Answer]:
            for chunk in itertools.chain([first] if first else [], chunks):
                if chunk.answer is not None:
                    yield chunk.answer
                    return
            raise RuntimeError("the answer stream ended without an answer")

        events = stream_events(final(), model, base_url, rag_app)
        return StreamingResponse(
            iterate_in_threadpool(events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.api_route("/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
    def unknown(request: Request, rest: str) -> JSONResponse:
        return openai_error(
            404,
            f"no {request.method} route /v1/{rest[:100]}: this server offers "
            "GET /v1/models and POST /v1/chat/completions",
        )

    return router
