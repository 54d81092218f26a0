"""One ASGI app: the REST API, the embeddable widget, and the Gradio chat at ``/``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
import gradio as gr
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi_offline import FastAPIOffline

from rag.settings import Settings
from ui.access import COOKIE, Access, Gate, SecurityHeaders, login_page, session_token
from ui.api import build_router, install_error_handlers
from ui.app import App
from ui.chat import STATIC, build_chat, page_assets


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

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Answers are CPU-bound (offline) or wait on the LLM (generative); this bounds how
        # many run at once, and so the memory they hold. Gradio's events have their own limit.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
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
    app.include_router(build_router(rag_app))

    @app.get("/login", include_in_schema=False)
    def login_form() -> HTMLResponse:
        return HTMLResponse(login_page())

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        key = str((await request.form()).get("key", ""))
        secret = access.admin_token if access.is_admin(key) else access.api_key
        if secret is None or not access.is_user(key):
            access.logins.check(request.client.host if request.client else "unknown")
            return HTMLResponse(login_page("That key is not right."), 401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            session_token(secret),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

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
    return mounted
