"""The REST API: ask (JSON or server-sent events), rate, health, sources, upload.

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
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.errors import FeedbackError, QuestionError
from ui.service import Service

log = logging.getLogger(__name__)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one shape of every refusal."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _json_body(request: Request) -> dict[str, Any] | JSONResponse:
    """The body as a JSON object (the gate has already bounded its size and nesting)."""
    try:
        data = json.loads(await request.body() or b"null")
    except ValueError:  # not JSON, not UTF-8, or a number too long to convert
        return error(400, "the request body is not valid JSON")
    if not isinstance(data, dict):
        return error(400, 'the request body must be a JSON object like {"question": "..."}')
    return data


def build_router(service: Service) -> APIRouter:
    """The ``/api`` routes over one open service (``ui.access.Gate`` has admitted each call)."""
    router = APIRouter(prefix="/api")

    def unavailable(exc: Exception) -> JSONResponse:
        """503 naming the server that is down (handled here: no traceback), else re-raise."""
        outage = service.outage(exc)
        if outage is None:
            raise exc
        log.warning("%s", outage)
        return error(503, outage, {"Retry-After": "5"})

    @router.post("/ask", summary="Answer a question; returns the answer object")
    async def ask(request: Request) -> Any:
        data = await _json_body(request)
        if isinstance(data, JSONResponse):
            return data
        try:
            answer = await run_in_threadpool(
                service.ask, data.get("question", ""), data.get("history")
            )
        except QuestionError as exc:
            return error(422, str(exc))
        except Exception as exc:
            return unavailable(exc)
        return answer.to_dict()

    @router.post("/ask/stream", summary="Answer a question as server-sent events")
    async def ask_stream(request: Request) -> Any:
        data = await _json_body(request)
        if isinstance(data, JSONResponse):
            return data
        try:
            chunks = service.stream(data.get("question", ""), data.get("history"))
            # Retrieval runs before the first chunk: a store outage is still a 503, not an event.
            first = await run_in_threadpool(next, chunks, None)
        except QuestionError as exc:
            return error(422, str(exc))
        except Exception as exc:
            return unavailable(exc)
        return StreamingResponse(
            _events(itertools.chain([first] if first else [], chunks), service),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.post("/feedback", summary="Rate an answer, or say a citation does not support it")
    async def feedback(request: Request) -> Any:
        data = await _json_body(request)
        if isinstance(data, JSONResponse):
            return data
        try:
            rating_id = await run_in_threadpool(
                service.rate,
                data.get("answer_id"),
                data.get("rating"),
                data.get("citation"),
                data.get("comment"),
            )
        except FeedbackError as exc:
            status = 403 if service.feedback is None else 422
            return error(status, str(exc))
        return {"ok": True, "rating_id": rating_id}

    @router.get("/health", summary="Whether the store answers")
    def health() -> Any:
        try:
            passages = service.store.count()
        except Exception as exc:  # any store failure means not ready
            return error(503, service.outage(exc) or f"the store failed ({type(exc).__name__})")
        return {
            "status": "ok",
            "passages": passages,
            "answerer": service.pipeline.answerer.name,
            "feedback": service.feedback is not None,
        }

    @router.get("/sources/{chunk_id:path}", summary="A passage with its context, for highlighting")
    def source(chunk_id: str) -> Any:
        from rag.sources import passage_in_context

        found = passage_in_context(service.store, chunk_id)
        if found is None:
            return error(404, f"no passage with id {chunk_id!r}")
        return found

    @router.post("/upload", summary="Add a document (.txt .md .html .pdf)")
    async def upload(file: UploadFile) -> Any:
        limit = service.settings.max_upload_mb * 1024 * 1024
        data = await file.read(limit + 1)
        if len(data) > limit:
            return error(413, f"the file is over {service.settings.max_upload_mb} MB")
        result = await run_in_threadpool(service.add_document, file.filename or "", data)
        if result.error:
            return error(422, f"{Path(result.path).name}: {result.error}")
        return {
            "file": Path(result.path).name,
            "added": result.added,
            "unchanged": result.unchanged,
        }

    @router.api_route("/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
    def unknown(request: Request, rest: str) -> JSONResponse:
        return error(404, f"no {request.method} route /api/{rest[:100]} (see /docs)")

    return router


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _events(chunks: Iterator[Any], service: Service) -> Iterator[str]:
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
        outage = service.outage(exc)
        if outage:
            log.warning("answer stream failed: %s", outage)
        else:
            log.exception("answer stream failed")
        reason = outage or f"the answer could not be finished ({type(exc).__name__})"
        yield _event("error", {"error": reason})


def install_error_handlers(app: FastAPI, service: Service) -> None:
    """FastAPI's own validation errors, and any failure, in the API's one-line shape."""

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> JSONResponse:
        outage = service.outage(exc)
        if outage:
            return error(503, outage, {"Retry-After": "5"})
        log.exception("request failed: %s", request.url.path)
        return error(503, f"the service could not answer ({type(exc).__name__}); try again")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        return error(exc.status_code, str(exc.detail).lower(), headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error(422, f"{where or 'request'}: {first.get('msg', 'invalid')}")
