"""One ASGI app: the REST API, the embeddable widget, and the Gradio chat at ``/``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import gradio as gr
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse

from rag.settings import Settings
from ui.api import build_router, install_error_handlers
from ui.chat import build_chat, page_assets
from ui.service import Service

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings, service: Service | None = None) -> FastAPI:
    """The app; opens the store (as its only writer) unless a service is given."""
    service = service or Service.open(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(
        title="rag-cite",
        summary="Answers with cited passages you can check in one click.",
        docs_url="/docs",
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.allowed_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
    )
    install_error_handlers(app)
    app.include_router(build_router(service))

    @app.get("/embed.js", include_in_schema=False)
    def embed_js() -> FileResponse:
        return FileResponse(STATIC / "embed.js", media_type="text/javascript")

    @app.get("/embed-demo", include_in_schema=False)
    def embed_demo() -> HTMLResponse:
        return HTMLResponse((STATIC / "embed-demo.html").read_text())

    mounted: FastAPI = gr.mount_gradio_app(app, build_chat(service), path="/", **page_assets())
    return mounted
