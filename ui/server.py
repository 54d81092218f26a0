"""One ASGI app: the REST API, the embeddable widget, and the Gradio chat at ``/``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
import gradio as gr
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from fastapi_offline import FastAPIOffline
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route

from rag.retrieval.sources import passage_in_context
from rag.settings import Settings
from ui.access import (
    COOKIE,
    SESSION_SECONDS,
    Access,
    Gate,
    SecurityHeaders,
    login_page,
    presented_key,
    return_path,
    session_of,
)
from ui.api import build_router, install_error_handlers
from ui.app import App
from ui.chat import STATIC, build_chat, page_assets
from ui.mcp_server import build_mcp
from ui.openai_api import build_openai_router
from ui.render import not_found_page, source_page


def _offset(value: str) -> int | None:
    """A character offset from a query string, or None for anything else."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 7 else None


def create_app(settings: Settings, rag_app: App | None = None, host: str = "127.0.0.1") -> FastAPI:
    """The app; opens the store (as its only writer) unless an app is given.

    ``host``: the address it listens on; any but loopback makes it public (``ui.access``).
    One app per process: Gradio's upload folder is a process-wide setting, set here to
    ``DATA_DIR/gradio`` so two servers never see each other's uploads.
    """
    uploads = (settings.data_dir / "gradio").resolve()
    uploads.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(uploads)
    rag_app = rag_app or App.serve(settings)
    access = Access(settings, host)
    # Gate checks hosts and origins for every route, so the SDK's own check (loopback names
    # only) is off; stateless, so any worker can take any request.
    mcp_http = build_mcp(rag_app).streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    mcp_sessions = mcp_http.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Answers are CPU-bound (offline) or wait on the LLM (generative); this bounds how
        # many run at once, and so the memory they hold. Gradio's events have their own limit.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        async with mcp_sessions(mcp_http):
            yield
        rag_app.close()

    # /docs with Swagger UI served from here, not a CDN: works offline and under the CSP.
    app = FastAPIOffline(
        title="rag-cite",
        summary="Answers with cited passages you can check in one click.",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.rag_app = rag_app
    app.add_middleware(Gate, access=access)
    app.add_middleware(  # outermost: preflights, and CORS headers on refusals too
        CORSMiddleware,
        allow_origins=settings.allowed_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "Authorization", "X-API-Key"],
    )
    app.add_middleware(SecurityHeaders, access=access)  # outermost: on every response
    install_error_handlers(app, rag_app)
    # POST only: stateless JSON replies need no event stream (GET) or session end (DELETE),
    # and an open stream per caller would be a cheap way to hold connections.
    mcp_endpoint = next(r for r in mcp_http.routes if isinstance(r, Route)).endpoint
    app.router.routes.append(Route("/mcp", mcp_endpoint, methods=["POST"]))

    @app.api_route("/mcp", methods=["GET", "DELETE", "PUT", "PATCH"], include_in_schema=False)
    def mcp_other_methods() -> JSONResponse:
        return JSONResponse(
            {"error": "the MCP endpoint takes POST only (stateless streamable HTTP)"},
            status_code=405,
            headers={"Allow": "POST"},
        )

    app.include_router(build_router(rag_app))
    app.include_router(build_openai_router(rag_app))

    @app.get("/login", include_in_schema=False)
    def login_form(next: str | None = None) -> HTMLResponse:
        return HTMLResponse(login_page(next_path=next))

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        key, next_path = str(form.get("key", "")), str(form.get("next", ""))
        token = access.sign_in(key)
        if token is None:
            access.logins.check(request.client.host if request.client else "unknown")
            return HTMLResponse(login_page("That key is not right.", next_path), 401)
        response = RedirectResponse(return_path(next_path), status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @app.api_route("/logout", methods=["GET", "POST"], include_in_schema=False)
    def logout(request: Request) -> Response:
        token = session_of(presented_key(request.headers, request.cookies))
        if token is not None:
            access.sessions.end(token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, httponly=True, samesite="strict")
        return response

    @app.get("/source/{chunk_id}", include_in_schema=False)
    def source_view(chunk_id: str, start: str = "", end: str = "") -> Response:
        found = passage_in_context(rag_app.store, chunk_id)
        if found is None:
            return HTMLResponse(not_found_page(f"No passage with id {chunk_id[:100]!r}."), 404)
        # A mark that cannot be read marks nothing: the passage still shows.
        span = (_offset(start), _offset(end))
        return HTMLResponse(source_page(found, *span))

    @app.get("/embed.js", include_in_schema=False)
    def embed_js() -> FileResponse:
        return FileResponse(STATIC / "embed.js", media_type="text/javascript")

    @app.get("/embed-demo", include_in_schema=False)
    def embed_demo() -> HTMLResponse:
        return HTMLResponse((STATIC / "embed-demo.html").read_text())

    chat = build_chat(rag_app, access)
    mounted: FastAPI = gr.mount_gradio_app(
        app,
        chat,
        path="/",
        max_file_size=access.max_upload_bytes,
        run_history=False,
        show_error=False,  # clients see our messages (gr.Error), not exception text
        **page_assets(),
    )
    # Gradio checks that a file an event names was uploaded to it only in apps it launched
    # itself; a mounted app skips the check and copies any server file a client names.
    # Switch the check on: events then take only files that arrived through its upload.
    chat.has_launched = True
    access.know_events(
        len(chat.fns),
        {f.api_name for f in chat.fns.values() if f.api_visibility == "public" and f.api_name},
    )
    return mounted
