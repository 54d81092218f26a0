"""Who may do what: an API key, an admin token for adding documents, allowed origins.

Keys arrive as ``Authorization: Bearer KEY``, an ``X-API-Key`` header (the widget) or the
``rag_key`` cookie that ``/login`` sets for people using the chat page. The admin token works
wherever the API key does. Without an admin token, adding documents is allowed only on a
private server: one listening on loopback, not marked ``RAG_PUBLIC``, and only for requests
that did not come through a proxy (no ``X-Forwarded-For`` / ``Forwarded`` header).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from html import escape
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, RedirectResponse, Response

from rag.settings import Settings

COOKIE = "rag_key"
# Paths that work without a key: health checks, the widget's script, the login page itself.
OPEN_PATHS = {"/api/health", "/embed.js", "/login", "/favicon.ico"}

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _same(given: str | None, secret: SecretStr | None) -> bool:
    if not given or secret is None:
        return False
    return hmac.compare_digest(given.encode(), secret.get_secret_value().encode())


def is_loopback(host: str) -> bool:
    """Whether a listening address is reachable from this machine only."""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def presented_key(headers: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
    """The key a request carries, from a header or the login cookie."""
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return headers.get("x-api-key") or cookies.get(COOKIE)


class Access:
    """The server's access rules, from the settings and the address it listens on."""

    def __init__(self, settings: Settings, public: bool) -> None:
        self.api_key = settings.api_key
        self.admin_token = settings.admin_token
        self.public = public or settings.public
        self.allowed_origins = set(settings.allowed_origins)
        self.allow_upload = settings.allow_upload

    def is_user(self, key: str | None) -> bool:
        """Whether a request with this key may ask and rate."""
        return self.api_key is None or _same(key, self.api_key) or _same(key, self.admin_token)

    def is_admin(self, key: str | None) -> bool:
        """Whether a request with this key may add documents."""
        return _same(key, self.admin_token)

    @property
    def uploads_possible(self) -> bool:
        """Whether anyone at all may add documents on this server."""
        return self.allow_upload and (self.admin_token is not None or not self.public)

    def upload_refusal(self, key: str | None, headers: Mapping[str, str]) -> str | None:
        """Why a request may not add a document, or None when it may."""
        if not self.allow_upload:
            return "uploads are turned off on this server (RAG_ALLOW_UPLOAD)"
        if self.admin_token is not None:
            return None if self.is_admin(key) else "adding documents needs the admin token"
        if self.public or "x-forwarded-for" in headers or "forwarded" in headers:
            return "uploads are off on a public server until RAG_ADMIN_TOKEN is set"
        return None

    def origin_refusal(self, origin: str | None, host: str | None, scheme: str) -> str | None:
        """Why a page on ``origin`` may not call the API, or None when it may."""
        if not origin or origin in self.allowed_origins:
            return None
        if host and origin == f"{scheme}://{host}":
            return None
        shown = urlsplit(origin)._replace(path="", query="", fragment="").geturl()[:100]
        return f"pages on {shown} may not call this API (RAG_ALLOWED_ORIGINS)"


class AccessMiddleware:
    """Refuses what ``Access`` does not allow, before any route runs (pure ASGI, streams pass)."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 401/403 (or send a browser to the login page)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = HTTPConnection(scope)
        path, method, headers = request.url.path, scope.get("method"), request.headers
        refusal: Response | None = None
        if path.startswith("/api/") and method != "OPTIONS":
            origin = self.access.origin_refusal(
                headers.get("origin"), headers.get("host"), request.url.scheme
            )
            if origin:
                refusal = JSONResponse({"error": origin}, status_code=403)
        if (
            refusal is None
            and self.access.api_key is not None
            and path not in OPEN_PATHS
            and method != "OPTIONS"
            and not self.access.is_user(presented_key(headers, request.cookies))
        ):
            if method == "GET" and "text/html" in headers.get("accept", ""):
                refusal = RedirectResponse("/login", status_code=303)
            else:
                message = (
                    "this server needs an API key: send 'Authorization: Bearer KEY' or "
                    "'X-API-Key: KEY' (RAG_API_KEY)"
                )
                refusal = JSONResponse({"error": message}, status_code=401)
        await (refusal or self.app)(scope, receive, send)


def login_page(message: str = "") -> str:
    """The sign-in form for the chat page; echoes nothing a visitor typed."""
    note = f"<p class='note'>{escape(message)}</p>" if message else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Sign in</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:380px;margin:80px auto}"
        "input,button{font-size:16px;padding:8px;width:100%;margin-top:8px}"
        ".note{color:#b91c1c}</style></head><body><h1>Ask the documents</h1>"
        f"<p>This server needs a key.</p>{note}"
        "<form method='post' action='/login'><input type='password' name='key' "
        "autocomplete='current-password' aria-label='Key' required>"
        "<button type='submit'>Sign in</button></form></body></html>"
    )
