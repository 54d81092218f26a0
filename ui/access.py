"""Who may do what, checked once for every way into the server: the app's routes and Gradio's.

Keys arrive as ``Authorization: Bearer KEY``, an ``X-API-Key`` header (the widget) or the
``rag_key`` cookie that ``/login`` sets for people using the chat page. The admin token works
wherever the API key does. Without an admin token, adding documents is allowed only on a
private server: one listening on loopback, not marked ``RAG_PUBLIC``, with no trusted proxy in
front, and only for requests that carry no proxy's forwarding header.

The rules live in ``Access``; ``Gate`` applies them to each request before any route, Gradio's
queue, upload and file routes included, so no framework route can skip a check.
"""

from __future__ import annotations

import fnmatch
import hmac
import ipaddress
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from html import escape
from typing import Any
from urllib.parse import quote, urlsplit

from pydantic import SecretStr
from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from rag.settings import Settings
from ui.limits import RateLimiter, json_depth

COOKIE = "rag_key"
SESSION_SECONDS = 12 * 3600  # a sign-in lasts a working day
MAX_SESSIONS = 10_000
# What ``presented_key`` puts before a cookie's value: no header can hold a NUL, so a key
# sent in a header is never taken for a session, nor a cookie for a key.
_SESSION = "\x00session:"
# Paths that work without a key: health checks, the widget's script, signing in and out.
OPEN_PATHS = {"/api/health", "/embed.js", "/login", "/logout", "/favicon.ico"}
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
# Headers a reverse proxy adds: a request carrying one did not come from this machine's user.
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip", "x-forwarded-host", "via")
# Routes that answer or store something: the REST API's, the OpenAI-compatible and MCP
# ones, uploads, and every way Gradio runs an event.
LIMITED = (
    "/api/ask",
    "/v1/chat/completions",
    "/mcp",
    "/api/feedback",
    "/api/upload",
    "/gradio_api/upload",
    "/gradio_api/queue/join",
    "/gradio_api/run/",
    "/gradio_api/api/",
    "/gradio_api/call/",
)
UPLOAD_PATHS = ("/api/upload", "/gradio_api/upload")
# Gradio's routes that run an event by name: POST /gradio_api/call/NAME and the like.
EVENT_ROUTES = ("/gradio_api/call/", "/gradio_api/run/", "/gradio_api/api/")
# Everything but reading under this prefix deletes or re-reads documents: the upload rule.
DOCUMENTS_PATH = "/api/documents"
READ_METHODS = ("GET", "HEAD", "OPTIONS")
# Set in a request's ASGI state once the gate has let it change documents; the routes that
# do so refuse any request without it, so a path the gate did not recognise fails closed.
CHANGE_ADMITTED = "rag_change_admitted"
MAX_API_JSON = 256 * 1024  # a question with its history
SMALL_BODIES = ("/api/", "/v1/", "/mcp", "/login")  # bodies up to MAX_API_JSON
MAX_PAGE_JSON = 4 * 1024 * 1024  # a Gradio event: the chat sends the conversation so far
MAX_JSON_DEPTH = 64
MULTIPART_OVERHEAD = 64 * 1024  # form boundaries and headers around an uploaded file
LOGIN_ATTEMPTS_PER_MINUTE = 10
# A source page (``/source/ID?start=..&end=..``), the one place a sign-in returns to.
_RETURNABLE = re.compile(
    r"/source/[0-9a-f]{16}-[0-9a-f]{16}(?:-\d{1,6})?(?:\?start=\d{1,7}&end=\d{1,7})?"
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
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
    """The key a request carries, from a header or the login cookie (a session token).

    The cookie counts only for this server's own pages. A browser sends it with requests
    from any page of the same site, and SameSite ignores ports: an allowed site on another
    port of the same host could otherwise act with a signed-in admin's cookie. Other sites
    present a key themselves (the widget's ``data-key``).
    """
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    if headers.get("x-api-key"):
        return headers["x-api-key"]
    origin = headers.get("origin")
    if origin is not None and urlsplit(origin).netloc.lower() != headers.get("host", "").lower():
        return None
    cookie = cookies.get(COOKIE)
    return _SESSION + cookie if cookie else None


class Sessions:
    """Sign-ins: a random token per login, known to this process, ended by logout or age.

    The cookie holds only the token, never a key, and a token is worth nothing once its
    session ends: a copied cookie stops working at logout, after ``SESSION_SECONDS`` or when
    the server restarts (users sign in again).
    """

    def __init__(self, seconds: float = SESSION_SECONDS, limit: int = MAX_SESSIONS) -> None:
        self.seconds, self.limit = seconds, limit
        self._lock = threading.Lock()
        self._roles: dict[str, tuple[str, float]] = {}  # token's digest -> (role, expiry)

    @staticmethod
    def _digest(token: str) -> str:
        return hmac.new(b"rag-cite session", token.encode(), "sha256").hexdigest()

    def start(self, role: str) -> str:
        """A new session's token for ``role`` ("admin" or "user")."""
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            if len(self._roles) >= self.limit:
                live = {k: v for k, v in self._roles.items() if v[1] > now}
                oldest = sorted(live, key=lambda k: live[k][1])[: len(live) - self.limit + 1]
                self._roles = {k: v for k, v in live.items() if k not in oldest}
            self._roles[self._digest(token)] = (role, now + self.seconds)
        return token

    def role(self, token: str) -> str | None:
        """The role of a live session, or None."""
        digest = self._digest(token)
        with self._lock:
            found = self._roles.get(digest)
            if found is None:
                return None
            if found[1] <= time.monotonic():
                del self._roles[digest]
                return None
            return found[0]

    def end(self, token: str) -> None:
        """End a session (logout); an unknown token is no error."""
        with self._lock:
            self._roles.pop(self._digest(token), None)


def session_of(presented: str | None) -> str | None:
    """The session token a presented key carries, when it came in the cookie."""
    if presented and presented.startswith(_SESSION):
        return presented[len(_SESSION) :]
    return None


def host_name(host_header: str) -> str:
    """The name in a ``Host`` header, without its port or IPv6 brackets, lower-cased."""
    host = host_header.strip().lower()
    if host.startswith("[") and "]" in host:
        name, _, port = host[1:].partition("]")
        return name if port in ("",) or (port[:1] == ":" and port[1:].isdigit()) else host
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() and ":" not in name else host


class Access:
    """The server's access rules, from the settings and the address it listens on."""

    def __init__(self, settings: Settings, listen_host: str = "127.0.0.1") -> None:
        self.api_key = settings.api_key
        self.admin_token = settings.admin_token
        # The chat page's events, once it is built: how many, and the names of the public
        # ones (``know_events``). Gradio answers an event it does not have with a 500.
        self.gradio_events = 0
        self.gradio_names: frozenset[str] = frozenset()
        self.public = (
            settings.public or not is_loopback(listen_host) or bool(settings.trusted_proxies)
        )
        self.allowed_origins = set(settings.allowed_origins)
        self.allow_upload = settings.allow_upload
        self.max_upload_bytes = settings.max_upload_mb * 1024 * 1024
        wildcard = listen_host in ("", "0.0.0.0", "::")
        self.allowed_hosts = [
            *LOOPBACK_NAMES,
            *([] if wildcard else [host_name(listen_host)]),
            *(h.strip().lower() for h in settings.allowed_hosts),
        ]
        self.questions = RateLimiter(settings.rate_limit_per_minute)
        self.logins = RateLimiter(LOGIN_ATTEMPTS_PER_MINUTE)  # spent by wrong keys only
        self.sessions = Sessions()

    def is_user(self, key: str | None) -> bool:
        """Whether a request with this key (or session token) may ask and rate."""
        return self.api_key is None or self._matches(key, self.api_key) or self.is_admin(key)

    def know_events(self, count: int, public_names: set[str]) -> None:
        """The chat page's events, so a call naming another one is refused in one line."""
        self.gradio_events, self.gradio_names = count, frozenset(public_names)

    def _is_user_key(self, key: str | None) -> bool:
        return self.api_key is not None and self._matches(key, self.api_key)

    def is_admin(self, key: str | None) -> bool:
        """Whether a request with this key (or session token) may add documents."""
        return self._matches(key, self.admin_token)

    def _matches(self, key: str | None, secret: SecretStr | None) -> bool:
        """Whether a key, or a session signed in with it, is ``secret``'s."""
        if secret is None or not key:
            return False
        token = session_of(key)
        if token is None:
            return _same(key, secret)
        role = self.sessions.role(token)
        return role is not None and role == ("admin" if secret is self.admin_token else "user")

    def sign_in(self, key: str) -> str | None:
        """A new session's token for a right key (the admin token's is an admin's), or None."""
        if self.admin_token is not None and _same(key, self.admin_token):
            return self.sessions.start("admin")
        if self.api_key is not None and _same(key, self.api_key):
            return self.sessions.start("user")
        return None

    @property
    def uploads_possible(self) -> bool:
        """Whether anyone at all may add documents on this server."""
        return self.allow_upload and (self.admin_token is not None or not self.public)

    def upload_refusal(
        self, key: str | None, headers: Mapping[str, str], client: str
    ) -> str | None:
        """Why a request from ``client`` may not add a document, or None when it may.

        A wrong admin token spends one of the client's sign-in attempts, whichever way the
        upload came (the REST route, Gradio's upload route, the chat's event).
        """
        return self._admin_refusal(key, headers, client, "uploads", "adding documents")

    def change_refusal(
        self, key: str | None, headers: Mapping[str, str], client: str
    ) -> str | None:
        """Why a request may not delete or re-read a stored document, or None when it may.

        The upload rule exactly: whoever may add documents may remove and refresh them.
        """
        return self._admin_refusal(
            key, headers, client, "document changes", "deleting or re-reading documents"
        )

    def _admin_refusal(
        self, key: str | None, headers: Mapping[str, str], client: str, what: str, doing: str
    ) -> str | None:
        if not self.allow_upload:
            return f"{what} are turned off on this server (RAG_ALLOW_UPLOAD)"
        if self.admin_token is not None:
            if self.is_admin(key):
                return None
            if key and not self._is_user_key(key):
                self.logins.check(client)  # a guess at the token; a user's own key is none
            return f"{doing} needs the admin token"
        if self.public or any(h in headers for h in PROXY_HEADERS):
            return f"{what} are off on a public server until RAG_ADMIN_TOKEN is set"
        return None

    def host_refusal(self, host_header: str | None) -> str | None:
        """Why a request naming this ``Host`` is refused (DNS rebinding), or None."""
        name = host_name(host_header or "")
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in self.allowed_hosts):
            return None
        shown = "".join(c for c in name[:100] if c.isprintable()) or "(none)"
        return f"this server does not answer to the host name {shown!r} (RAG_ALLOWED_HOSTS)"

    def origin_refusal(self, origin: str | None, host: str | None) -> str | None:
        """Why a page on ``origin`` may not call this server, or None when it may."""
        if origin is None or origin in self.allowed_origins:
            return None
        # The page came from a name this server answers to (the Host check passed). The
        # scheme is not compared: behind a TLS proxy the app sees http, the page https.
        if host and urlsplit(origin).netloc.lower() == host.lower():
            return None
        if origin.strip() in ("", "null"):
            return (
                "pages without an origin (sandboxed frames, local files) may not call this "
                "server (RAG_ALLOWED_ORIGINS)"
            )
        shown = urlsplit(origin)._replace(path="", query="", fragment="").geturl()[:100]
        return f"pages on {shown} may not call this server (RAG_ALLOWED_ORIGINS)"

    def security_headers(self) -> list[tuple[bytes, bytes]]:
        """Headers for every response: no sniffing, no referrer leaks, a strict CSP.

        Scripts and styles come from this server only (Gradio needs inline ones); images,
        fonts and connections too, so a document can never make a viewer's browser fetch a
        URL; only this server and ``RAG_ALLOWED_ORIGINS`` may frame the chat.
        """
        ancestors = " ".join(["'self'", *sorted(self.allowed_origins)])
        policy = (
            "default-src 'self'; script-src 'self' 'unsafe-inline'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
            "font-src 'self' data:; connect-src 'self'; media-src 'self' blob:; "
            "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
            f"form-action 'self'; frame-ancestors {ancestors}"
        )
        return [
            (b"content-security-policy", policy.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]


def _client(connection: HTTPConnection) -> str:
    """The address that connected (a proxy's forwarded address only from a trusted proxy)."""
    return connection.client.host if connection.client else "unknown"


def refusal_body(path: str, status: int, message: str, code: str | None = None) -> dict[str, Any]:
    """The one-line refusal; on the OpenAI-compatible routes in the shape OpenAI clients read."""
    if not path.startswith("/v1/"):
        return {"error": message}
    kind = {401: "authentication_error", 429: "rate_limit_error"}.get(
        status, "invalid_request_error" if status < 500 else "server_error"
    )
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _refuse(
    path: str, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse(refusal_body(path, status, message), status_code=status, headers=headers)


class Gate:
    """Refuses what ``Access`` does not allow before any route runs (pure ASGI, streams pass).

    In order: the Host (DNS rebinding), the page's origin, the key, the right to upload, the
    rate limits, then the body's size and JSON nesting (read here, then replayed to the app).
    """

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer the refusal."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if isinstance(scope.get("state"), dict):  # a fresh request: nothing admitted yet
            scope["state"].pop(CHANGE_ADMITTED, None)
        connection = HTTPConnection(scope)
        refusal = self._refusal(connection)
        if refusal is None and scope["type"] == "http" and scope.get("method") == "POST":
            body, refusal = await self._body(connection, receive)
            receive = _replay(body, receive)
        if refusal is not None and scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await (refusal or self.app)(scope, receive, send)

    def _refusal(self, connection: HTTPConnection) -> Response | None:
        access, headers = self.access, connection.headers
        path, method = connection.url.path, connection.scope.get("method", "GET")
        # A proxy's X-Forwarded-Host names the server too (Gradio builds its root URL and its
        # logout redirect from it): both pass the same check.
        forwarded = headers.get("x-forwarded-host")
        host = access.host_refusal(headers.get("host")) or (
            access.host_refusal(forwarded.split(",")[0]) if forwarded is not None else None
        )
        if host:
            return _refuse(path, 400, host)
        origin_header = headers.get("origin")
        origin = access.origin_refusal(origin_header, headers.get("host"))
        if origin and path != "/embed.js":
            # The page may read why (the widget says so); it learns nothing else.
            return _refuse(
                path, 403, origin, {"Access-Control-Allow-Origin": origin_header or "null"}
            )
        key = presented_key(headers, connection.cookies)
        client = _client(connection)
        signing_in = path == "/login" and method == "POST"
        if (key or signing_in) and access.logins.wait(client):
            # Too many wrong keys from this address: no key is even compared until the wait
            # is over, so guessing costs the same through a header, a cookie or /login.
            if signing_in:
                return HTMLResponse(login_page("Too many attempts; wait a minute."), 429)
            return _refuse(path, 429, "too many wrong keys; wait a minute", {"Retry-After": "60"})
        if access.api_key is not None and path not in OPEN_PATHS and not access.is_user(key):
            if key:
                access.logins.check(client)  # a wrong key spends a sign-in attempt
            if method == "GET" and "text/html" in headers.get("accept", ""):
                wanted = path + (f"?{connection.url.query}" if connection.url.query else "")
                back = return_path(wanted)
                login = "/login" if back == "/" else f"/login?next={quote(wanted, safe='')}"
                return RedirectResponse(login, status_code=303)
            return _refuse(
                path,
                401,
                "this server needs an API key: send 'Authorization: Bearer KEY' or "
                "'X-API-Key: KEY' (RAG_API_KEY)",
            )
        if path.startswith(DOCUMENTS_PATH) and method not in READ_METHODS:
            change = access.change_refusal(key, headers, client)
            if change:
                return _refuse(path, 403, change)
            connection.scope.setdefault("state", {})[CHANGE_ADMITTED] = True
            return _limited(access.questions, connection)
        if method != "POST":
            return None
        if path in UPLOAD_PATHS or _is_multipart(headers):
            upload = access.upload_refusal(key, headers, client)
            if upload:
                return _refuse(path, 403, upload)
        if path.startswith(LIMITED):
            return _limited(access.questions, connection)
        return None

    async def _body(
        self, connection: HTTPConnection, receive: Receive
    ) -> tuple[bytes, Response | None]:
        """The whole body, or a refusal once it passes its limit (nothing more is read)."""
        multipart, path = _is_multipart(connection.headers), connection.url.path
        if multipart:
            limit = self.access.max_upload_bytes + MULTIPART_OVERHEAD
            too_big = f"the file is over {self.access.max_upload_bytes // (1024 * 1024)} MB"
        else:
            limit = MAX_API_JSON if path.startswith(SMALL_BODIES) else MAX_PAGE_JSON
            too_big = f"the request body is over {limit // 1024} KB"
        declared = connection.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return b"", _refuse(path, 413, too_big)
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            parts.append(message.get("body", b""))
            size += len(parts[-1])
            if size > limit:
                return b"", _refuse(path, 413, too_big)
            if not message.get("more_body", False):
                break
        body = b"".join(parts)
        if not multipart and json_depth(body) > MAX_JSON_DEPTH:
            return body, _refuse(
                path, 400, f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"
            )
        return body, None if multipart else self._unknown_event(path, body)

    def _unknown_event(self, path: str, body: bytes) -> Response | None:
        """A one-line 404 for a Gradio event the page does not have (Gradio: a 500)."""
        access = self.access
        if path == "/gradio_api/queue/join":
            try:
                fn_index = json.loads(body).get("fn_index")
            except (ValueError, AttributeError):
                return None  # Gradio's own validation answers (a 422)
            if isinstance(fn_index, int) and not 0 <= fn_index < access.gradio_events:
                return _refuse(path, 404, f"this page has no event {fn_index}")
            return None
        for prefix in EVENT_ROUTES:
            if path.startswith(prefix):
                name = path[len(prefix) :].split("/", 1)[0]
                if name not in access.gradio_names:
                    return _refuse(path, 404, f"this page has no API named {name[:64]!r}")
        return None


class SecurityHeaders:
    """Adds ``Access.security_headers`` to every response.

    The outermost layer, so CORS preflights and the gate's refusals carry them too.
    """

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.headers = access.security_headers()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass everything on; add the headers a response does not set itself."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in self.headers if n not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, sending)


def _is_multipart(headers: Mapping[str, str]) -> bool:
    return headers.get("content-type", "").lower().startswith("multipart/")


def _limited(limiter: RateLimiter, connection: HTTPConnection) -> Response | None:
    wait = limiter.check(_client(connection))
    if not wait:
        return None
    seconds = math.ceil(wait)
    return _refuse(
        connection.url.path,
        429,
        f"too many requests; try again in {seconds} s (RAG_RATE_LIMIT_PER_MINUTE)",
        {"Retry-After": str(seconds)},
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, as the app expects to read it; then whatever the client sends next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def return_path(value: str | None) -> str:
    """Where a sign-in leads: a source page it was asked for, else the chat.

    Only a source page's own shape is followed, so a crafted link cannot send a user who
    signs in anywhere else.
    """
    if value and _RETURNABLE.fullmatch(value):
        return value + ("#support" if "?" in value else "")
    return "/"


def login_page(message: str = "", next_path: str | None = None) -> str:
    """The sign-in form for the chat page; echoes nothing a visitor typed but a source path."""
    note = f"<p class='note'>{escape(message)}</p>" if message else ""
    back = return_path(next_path)
    hidden = (
        ""
        if back == "/"
        else f"<input type='hidden' name='next' value='{escape(next_path or '')}'>"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Sign in</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:380px;margin:80px auto}"
        "input,button{font-size:16px;padding:8px;width:100%;margin-top:8px}"
        ".note{color:#b91c1c}</style></head><body><h1>Ask the documents</h1>"
        f"<p>This server needs a key.</p>{note}"
        f"<form method='post' action='/login'>{hidden}<input type='password' name='key' "
        "autocomplete='current-password' aria-label='Key' required>"
        "<button type='submit'>Sign in</button></form></body></html>"
    )
