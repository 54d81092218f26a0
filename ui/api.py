"""The REST API: ask (JSON or server-sent events), rate, health, sources, upload, documents.

Every refusal is a 4xx with ``{"error": "one line"}``; nothing a client sends produces a 500.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, StrictInt
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.answer import Answer
from rag.conversation import parse_history, validate_question
from rag.errors import FeedbackError, QuestionError, RagError
from rag.feedback import check_rating
from rag.settings import Settings
from ui.access import CHANGE_ADMITTED, refusal_body
from ui.app import App, FileGone

log = logging.getLogger(__name__)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one shape of every refusal."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class AskRequest(BaseModel):
    """A question and, for a follow-up, the conversation so far."""

    question: str = Field(
        description="The question, at most RAG_MAX_QUESTION_CHARS (2000) characters.",
        examples=["How long is the Uzbek-Afghan border?"],
    )
    history: list[tuple[str, str]] | None = Field(
        None, description="Earlier turns, oldest first, as [question, answer] pairs (at most 50)."
    )


class FeedbackRequest(BaseModel):
    """A user's rating of an answer this server gave, or of one of its citations."""

    answer_id: str = Field(description="The rated answer's answer_id.")
    rating: str = Field(
        description="An answer: helpful or not_helpful; a citation: supports or unsupported; "
        "cleared takes a rating back.",
        examples=["supports"],
    )
    citation: StrictInt | None = Field(
        None, description="The rated citation's number n; leave out to rate the answer."
    )
    comment: str | None = Field(None, description="Why, in at most 2000 characters.")


class Rated(BaseModel):
    """A stored rating."""

    ok: bool
    rating_id: int


class Health(BaseModel):
    """The store answers; what it holds and how questions are answered."""

    status: str
    passages: int
    answerer: str
    feedback: bool = Field(description="Whether this server keeps ratings.")


class PassageInContext(BaseModel):
    """A passage with up to 600 characters of its document on each side."""

    chunk_id: str
    source: str | None = Field(description="The document's path as ingested.")
    filename: str | None
    title: str | None
    date: str | None
    page: int | None
    start: int = Field(description="Where the passage starts in its cleaned document.")
    end: int
    text: str
    before: str
    after: str
    starts_document: bool


class Added(BaseModel):
    """What an upload added to the store."""

    file: str
    added: int
    unchanged: int


class StoredDocument(BaseModel):
    """One stored document."""

    id: str = Field(description="Stable id: the first part of each of its passages' ids.")
    title: str
    date: str | None
    type: str = Field(description="txt, md, html or pdf.")
    passages: int
    added_at: str | None = Field(
        description="When its current version was stored (ISO 8601, UTC); null for "
        "documents stored before this was recorded."
    )
    source: str = Field(description="The document's path as ingested.")
    filename: str


class Deleted(BaseModel):
    """What a deletion removed."""

    deleted: str = Field(description="The document's id.")
    passages: int


class Reingested(BaseModel):
    """What reading a document's file again changed."""

    id: str
    source: str
    added: int
    updated: int = Field(description="Passages whose text only moved (no new embedding).")
    removed: int
    unchanged: int


class Refusal(BaseModel):
    """Every refusal: one line saying what was wrong."""

    error: str


REFUSALS: dict[int | str, dict[str, Any]] = {
    code: {"model": Refusal} for code in (400, 403, 413, 422, 429, 503)
}
CHANGE_REFUSALS: dict[int | str, dict[str, Any]] = {
    code: {"model": Refusal} for code in (401, 403, 404, 409, 422, 429, 503)
}


def _validation_message(
    exc: RequestValidationError, path: str, settings: Settings
) -> tuple[int, str]:
    """FastAPI's parse of a body, as the status and one line this API has always given.

    A field that is missing or of the wrong type is put to the library's own checks, so the
    API refuses it in the same words as every other interface.
    """
    first = exc.errors()[0] if exc.errors() else {}
    kind, loc = first.get("type", ""), tuple(first.get("loc", ()))
    if kind == "json_invalid":
        return 400, "the request body is not valid JSON"
    if loc[:1] == ("body",) and len(loc) == 1:
        return 400, 'the request body must be a JSON object like {"question": "..."}'
    if path == "/api/upload":
        return 422, "send the document as a multipart file field named 'file'"
    body = exc.body if isinstance(exc.body, dict) else {}
    try:
        if path == "/api/feedback":
            fields = ("answer_id", "rating", "citation", "comment")
            check_rating(*(body.get(name) for name in fields))
        else:
            validate_question(body.get("question", ""), settings.max_question_chars)
            parse_history(body.get("history"), settings.max_question_chars)
    except RagError as refused:
        return 422, str(refused)
    where = ".".join(str(p) for p in loc if p != "body")
    return 422, f"{where or 'request'}: {first.get('msg', 'invalid')}"


def build_router(rag_app: App) -> APIRouter:
    """The ``/api`` routes over one open app (``ui.access.Gate`` has admitted each call)."""
    router = APIRouter(prefix="/api")

    @router.post(
        "/ask",
        summary="Answer a question; returns the answer object",
        responses={200: {"model": Answer}, **REFUSALS},
    )
    async def ask(body: AskRequest) -> Any:
        try:
            answer = await run_in_threadpool(rag_app.ask, body.question, body.history)
        except QuestionError as exc:
            return error(422, str(exc))
        except Exception as exc:
            return unavailable(rag_app, exc)
        return answer.to_dict()

    @router.post(
        "/ask/stream",
        summary="Answer a question as server-sent events",
        description="Events: `token` ({text}) as the answer is written, possibly `restart` "
        "(discard the text so far), then one `answer` with the answer object; `error` "
        "({error}) if it cannot be finished.",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
            **REFUSALS,
        },
    )
    async def ask_stream(body: AskRequest) -> Any:
        try:
            chunks = rag_app.stream(body.question, body.history)
            # Retrieval runs before the first chunk: a store outage is still a 503, not an event.
            first = await run_in_threadpool(next, chunks, None)
        except QuestionError as exc:
            return error(422, str(exc))
        except Exception as exc:
            return unavailable(rag_app, exc)
        return StreamingResponse(
            _events(itertools.chain([first] if first else [], chunks), rag_app),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.post(
        "/feedback",
        summary="Rate an answer, or say a citation does not support it",
        response_model=Rated,
        responses=REFUSALS,
    )
    async def feedback(body: FeedbackRequest) -> Any:
        try:
            rating_id = await run_in_threadpool(
                rag_app.rate, body.answer_id, body.rating, body.citation, body.comment
            )
        except FeedbackError as exc:
            status = 403 if rag_app.feedback is None else 422
            return error(status, str(exc))
        return {"ok": True, "rating_id": rating_id}

    @router.get("/health", summary="Whether the store answers", response_model=Health)
    def health() -> Any:
        try:
            passages = rag_app.store.count()
        except Exception as exc:  # any store failure means not ready
            return error(503, rag_app.outage(exc) or f"the store failed ({type(exc).__name__})")
        return {
            "status": "ok",
            "passages": passages,
            "answerer": rag_app.pipeline.answerer.name,
            "feedback": rag_app.feedback is not None,
        }

    @router.get(
        "/sources/{chunk_id:path}",
        summary="A passage with its context, for highlighting",
        response_model=PassageInContext,
        responses={404: {"model": Refusal}},
    )
    def source(chunk_id: str) -> Any:
        from rag.retrieval.sources import passage_in_context

        found = passage_in_context(rag_app.store, chunk_id)
        if found is None:
            return error(404, f"no passage with id {chunk_id[:80]!r}")
        return found

    @router.post(
        "/upload",
        summary="Add a document (.txt .md .html .pdf)",
        response_model=Added,
        responses=REFUSALS,
    )
    async def upload(file: UploadFile) -> Any:
        limit = rag_app.settings.max_upload_mb * 1024 * 1024
        data = await file.read(limit + 1)
        if len(data) > limit:
            return error(413, f"the file is over {rag_app.settings.max_upload_mb} MB")
        result = await run_in_threadpool(rag_app.add_document, file.filename or "", data)
        if result.error:
            return error(422, f"{Path(result.path).name}: {result.error}")
        return {
            "file": Path(result.path).name,
            "added": result.added,
            "unchanged": result.unchanged,
        }

    @router.get(
        "/documents",
        summary="The stored documents, by title",
        response_model=list[StoredDocument],
    )
    async def documents() -> Any:
        listed = await run_in_threadpool(rag_app.document_list)
        return [d.to_dict() for d in listed]

    @router.delete(
        "/documents/{doc_id}",
        summary="Remove a document (admin): its passages, and its file if it was uploaded",
        response_model=Deleted,
        responses=CHANGE_REFUSALS,
    )
    async def delete_document(request: Request, doc_id: str) -> Any:
        if not _change_admitted(request):
            return error(403, "deleting or re-reading documents needs the admin token")
        removed = await run_in_threadpool(rag_app.remove_document, doc_id)
        if removed is None:
            return _no_document(doc_id)
        return {"deleted": removed.id, "passages": removed.passages}

    @router.post(
        "/documents/{doc_id}/reingest",
        summary="Read a document's file again (admin); unchanged passages are kept",
        response_model=Reingested,
        responses=CHANGE_REFUSALS,
    )
    async def reingest_document(request: Request, doc_id: str) -> Any:
        if not _change_admitted(request):
            return error(403, "deleting or re-reading documents needs the admin token")
        try:
            found = await run_in_threadpool(rag_app.reingest_document, doc_id)
        except FileGone as exc:
            return error(409, str(exc))
        if found is None:
            return _no_document(doc_id)
        info, result = found
        if result.error:
            return error(422, f"{info.source}: {result.error}")
        return {
            "id": info.id,
            "source": info.source,
            "added": result.added,
            "updated": result.updated,
            "removed": result.removed,
            "unchanged": result.unchanged,
        }

    @router.api_route(
        "/{rest:path}",
        methods=["GET", "POST", "DELETE", "PUT", "PATCH"],
        include_in_schema=False,
    )
    def unknown(request: Request, rest: str) -> JSONResponse:
        return error(404, f"no {request.method} route /api/{rest[:100]} (see /docs)")

    return router


def _change_admitted(request: Request) -> bool:
    """Whether ``ui.access.Gate`` applied the upload rule to this request and let it pass."""
    return getattr(request.state, CHANGE_ADMITTED, False) is True


def _no_document(doc_id: str) -> JSONResponse:
    shown = "".join(c for c in doc_id[:100] if c.isprintable())
    return error(404, f"no document with id {shown!r} (see GET /api/documents)")


def unavailable(rag_app: App, exc: Exception, path: str = "/api/") -> JSONResponse:
    """503 naming the server that is down (handled here: no traceback), else re-raise.

    ``path`` picks the refusal's shape: the REST API's, or OpenAI's on ``/v1/``.
    """
    outage = rag_app.outage(exc)
    if outage is None:
        raise exc
    log.warning("%s", outage)
    return JSONResponse(
        refusal_body(path, 503, outage), status_code=503, headers={"Retry-After": "5"}
    )


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _events(chunks: Iterator[Any], rag_app: App) -> Iterator[str]:
    """Tokens, perhaps a restart, then the final answer object; an error as its own event."""
    try:
        for chunk in chunks:
            if chunk.restart:
                yield _event("restart", {})
            if chunk.delta:
                yield _event("token", {"text": chunk.delta})
            if chunk.answer is not None:
                yield _event("answer", chunk.answer.to_dict())
    except Exception as exc:  # the status line is sent: report in the stream, never hang up
        outage = rag_app.outage(exc)
        if outage:
            log.warning("answer stream failed: %s", outage)
        else:
            log.exception("answer stream failed")
        reason = outage or f"the answer could not be finished ({type(exc).__name__})"
        yield _event("error", {"error": reason})


def install_error_handlers(app: FastAPI, rag_app: App) -> None:
    """FastAPI's own validation errors, and any failure, in the API's one-line shape."""

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> JSONResponse:
        path = request.url.path
        outage = rag_app.outage(exc)
        if not outage:
            log.exception("request failed: %s", path)
        message = outage or f"the server could not answer ({type(exc).__name__}); try again"
        return JSONResponse(
            refusal_body(path, 503, message), status_code=503, headers={"Retry-After": "5"}
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        return error(exc.status_code, str(exc.detail).lower(), headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(*_validation_message(exc, request.url.path, rag_app.settings))
