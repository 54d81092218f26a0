"""Attacks on a running ``rag serve`` from outside, through every way in: the app's routes and
Gradio's own (queue, uploads, file routes), and in Chromium where a browser is involved.

Each test names the hole it closes; see the README's "Security" section.
"""

import json
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import RecordingSite, running_app
from tests.helpers import ask_in_widget, open_first_source

pytestmark = pytest.mark.server

API_KEY = "security-test-key-81c2"
ADMIN = "security-test-admin-3e9f"
SECRET = "The Vendomar vault code is 7731-QUILL and the vault holds 44 gold bars."
SECRET_QUESTION = "What is the Vendomar vault code?"


@pytest.fixture(scope="module")
def keyed_server(
    tmp_path_factory: pytest.TempPathFactory, allowed_site: RecordingSite
) -> Iterator[tuple[str, Path]]:
    """A server with an API key and an admin token, reachable as docs.example.org too, that
    allows the session's ``allowed_site`` (another port of the same host)."""
    folder = tmp_path_factory.mktemp("keyed")
    with running_app(
        folder / "data",
        folder / "server.log",
        RAG_API_KEY=API_KEY,
        RAG_ADMIN_TOKEN=ADMIN,
        RAG_ALLOWED_HOSTS='["docs.example.org"]',
        RAG_ALLOWED_ORIGINS=json.dumps([allowed_site.origin]),
        RAG_RATE_LIMIT_PER_MINUTE="0",
    ) as url:
        yield url, folder


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A private server with small limits: 1 MB uploads, 3 questions a minute."""
    folder = tmp_path_factory.mktemp("small")
    with running_app(
        folder / "data",
        folder / "server.log",
        RAG_MAX_UPLOAD_MB="1",
        RAG_RATE_LIMIT_PER_MINUTE="3",
    ) as url:
        yield url, folder


def _event(
    url: str,
    fn_index: int,
    data: list[Any],
    headers: dict[str, str] | None = None,
    local_address: str = "127.0.0.1",
    keyless_stream: bool = False,
    session: str | None = None,
) -> dict[str, Any]:
    """Run a Gradio event through its queue, as the page does; the completion message.

    ``keyless_stream``: read the result without the headers (a server without an API key),
    so a wrong key the event itself spends cannot lock out the read of its own result.
    """
    session = session or f"attack{time.monotonic_ns()}"
    transport = httpx.HTTPTransport(local_address=local_address)
    with httpx.Client(base_url=url, timeout=60, transport=transport) as client:
        payload = {"data": data, "fn_index": fn_index, "session_hash": session}
        joined = client.post(  # json.dumps escapes what httpx's encoder refuses (\ud800)
            "/gradio_api/queue/join",
            content=json.dumps(payload),
            headers={**(headers or {}), "Content-Type": "application/json"},
        )
        assert joined.status_code == 200, joined.text
        read = f"/gradio_api/queue/data?session_hash={session}"
        with client.stream("GET", read, headers=None if keyless_stream else headers) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    message: dict[str, Any] = json.loads(line[6:])
                    if message.get("msg") == "process_completed":
                        return message
    raise AssertionError("the event never completed")


def _named(url: str, name: str) -> int:
    """The fn_index of the page's event with this name."""
    config = httpx.get(f"{url}/config").json()
    return next(i for i, d in enumerate(config["dependencies"]) if d.get("api_name") == name)


def _events(url: str, headers: dict[str, str] | None = None) -> list[tuple[int, int]]:
    """Every event of the page: (fn_index, number of inputs)."""
    config = httpx.get(f"{url}/config", headers=headers).json()
    return [(i, len(d["inputs"])) for i, d in enumerate(config["dependencies"]) if d["inputs"]]


def _file_data(path: Path) -> dict[str, Any]:
    return {"path": str(path), "orig_name": "notes.txt", "meta": {"_type": "gradio.FileData"}}


def _planted(tmp_path: Path) -> list[Path]:
    """Files a server must never read for a client: a planted secret, the Python license."""
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(f"Vault notes\n\n{SECRET}\n")
    license_file = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    return [secret, *([license_file] if license_file.is_file() else [])]


def _assert_never_ingested(url: str, folder: Path, headers: dict[str, str]) -> None:
    answer = httpx.post(
        f"{url}/api/ask", json={"question": SECRET_QUESTION}, headers=headers, timeout=60
    ).json()
    shown = json.dumps(answer)
    for chunk_id in answer["retrieved"]:
        shown += httpx.get(f"{url}/api/sources/{chunk_id}", headers=headers).text
    assert "7731-QUILL" not in shown and "PYTHON SOFTWARE FOUNDATION" not in shown
    for stored in folder.rglob("*"):
        if stored.is_file() and stored.suffix in (".txt", ".md", ""):
            assert "7731-QUILL" not in stored.read_text(errors="replace"), stored


@pytest.mark.parametrize("who", ["private", "keyed admin"])
def test_no_event_reads_a_server_file_the_client_names(
    who: str, app_server: str, app_folder: Path, keyed_server: tuple[str, Path], tmp_path: Path
) -> None:
    """Finding 1: Gradio's queue copied any path a client named into its cache and indexed it."""
    url, folder = (app_server, app_folder) if who == "private" else keyed_server
    headers = {} if who == "private" else {"X-API-Key": ADMIN}
    targets = _planted(tmp_path)
    attempts = 0
    for fn_index, inputs in _events(url, headers):
        for target in targets:
            file = _file_data(target)
            # The file in every input slot, and as a file message inside a chat history.
            history = [{"role": "user", "content": [{"file": file, "alt_text": None}]}]
            for data in ([file] * inputs, ["hello", history, [], {}][:inputs]):
                done = _event(url, fn_index, data, headers)
                attempts += 1
                output = json.dumps(done.get("output"))
                assert "Added" not in output and "7731-QUILL" not in output, output
                assert str(target.parent) not in output  # nor any server path in the error
    assert attempts >= 10  # every event of the page was tried
    _assert_never_ingested(url, folder, headers)


def test_gradio_keeps_uploads_in_the_apps_own_folder(app_server: str, app_folder: Path) -> None:
    """Finding 1: two servers never share (or serve) each other's uploads."""
    response = httpx.post(
        f"{app_server}/gradio_api/upload", files={"files": ("a.txt", b"Ostrava has 19 arches.")}
    )
    assert response.status_code == 200, response.text
    (stored,) = response.json()
    assert Path(stored).resolve().is_relative_to((app_folder / "data" / "gradio").resolve())
    assert httpx.get(f"{app_server}/gradio_api/file={stored}").text == "Ostrava has 19 arches."
    # Another app's upload, in the machine-wide folder Gradio uses by default: not served.
    other = Path(tempfile.gettempdir()) / "gradio" / ("0" * 64) / "other-app.txt"
    other.parent.mkdir(parents=True, exist_ok=True)
    other.write_text("another app's upload")
    try:
        served = httpx.get(f"{app_server}/gradio_api/file={other}")
        assert served.status_code == 403 and "another app" not in served.text
    finally:
        other.unlink()


def test_unknown_host_names_are_refused(
    app_server: str, keyed_server: tuple[str, Path], browser: Any
) -> None:
    """Finding 2: DNS rebinding; a page on a name that resolves to 127.0.0.1 gets nothing."""
    port = app_server.rsplit(":", 1)[1]
    rebound = {"Host": f"rebind.attacker.example:{port}"}
    with httpx.Client(base_url=app_server, timeout=30) as client:
        for method, path in (
            ("GET", "/"),
            ("GET", "/config"),
            ("GET", "/api/health"),
            ("POST", "/api/ask"),
            ("POST", "/gradio_api/queue/join"),
            ("POST", "/gradio_api/upload"),
        ):
            headers = {**rebound, "Origin": f"http://rebind.attacker.example:{port}"}
            refused = client.request(method, path, headers=headers, json={"question": "x"})
            assert refused.status_code == 400, (path, refused.text)
            assert "RAG_ALLOWED_HOSTS" in refused.json()["error"]
        assert client.get("/api/health", headers={"Host": f"localhost:{port}"}).status_code == 200
        # The same check for the name a proxy forwards (outside probe: Gradio put it in its
        # root URL and redirected /logout there).
        forwarded = {"X-Forwarded-Host": "evil.com", "X-Forwarded-Proto": "https"}
        for path in ("/config", "/logout", "/api/health"):
            refused = client.get(path, headers=forwarded)
            assert refused.status_code == 400, (path, refused.text)
        local = client.get("/api/health", headers={"X-Forwarded-Host": f"localhost:{port}"})
        assert local.status_code == 200
    url, _ = keyed_server
    named = httpx.get(f"{url}/api/health", headers={"Host": "docs.example.org"})
    assert named.status_code == 200  # a name set in RAG_ALLOWED_HOSTS is answered

    page = browser.new_page()
    page.goto(f"http://rebind.test:{port}/")
    assert "RAG_ALLOWED_HOSTS" in page.content()
    status = page.evaluate(
        "fetch('/api/ask', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        " body: JSON.stringify({question: 'How long is the Uzbek-Afghan border?'})})"
        ".then(r => r.status)"
    )
    assert status == 400
    page.close()


def test_one_upload_size_limit_for_every_way_in(small_server: tuple[str, Path]) -> None:
    """Finding 3: Gradio's upload route took any size; the chat event takes only its uploads."""
    url, _ = small_server
    big = b"The Ostrava bridge has 19 arches. " * 45_000  # 1.5 MB, over the 1 MB limit
    # Uploads count toward the 3-a-minute rate limit: each request comes from its own address.
    addresses = iter(f"127.0.0.{n}" for n in range(20, 30))

    def client() -> httpx.Client:
        return httpx.Client(transport=httpx.HTTPTransport(local_address=next(addresses)))

    for path, field in (("/api/upload", "file"), ("/gradio_api/upload", "files")):
        with client() as one:
            response = one.post(f"{url}{path}", files={field: ("big.txt", big)}, timeout=60)
        assert response.status_code == 413, (path, response.text)
        assert "over 1 MB" in response.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        boundary = b"--b0undary\r\n"
        yield boundary + b'Content-Disposition: form-data; name="files"; filename="big.txt"\r\n\r\n'
        for _ in range(15):
            yield b"x" * 100_000
        yield b"\r\n--b0undary--\r\n"

    with client() as one:
        chunked = one.post(
            f"{url}/gradio_api/upload",
            content=chunks(),
            headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
            timeout=60,
        )
    assert chunked.status_code == 413, chunked.text
    with client() as one:
        small = one.post(f"{url}/gradio_api/upload", files={"files": ("ok.txt", b"fine")})
    assert small.status_code == 200


def test_other_sites_cannot_post_to_any_route(app_server: str) -> None:
    """Finding 3: cross-origin multipart POSTs reached Gradio's upload route."""
    evil = {"Origin": "https://evil.example"}
    upload = httpx.post(
        f"{app_server}/gradio_api/upload", files={"files": ("a.txt", b"x")}, headers=evil
    )
    assert upload.status_code == 403 and "RAG_ALLOWED_ORIGINS" in upload.json()["error"]
    for path in ("/gradio_api/queue/join", "/gradio_api/run/ask", "/login", "/api/feedback"):
        refused = httpx.post(f"{app_server}{path}", json={"data": ["x"]}, headers=evil)
        assert refused.status_code == 403, path


def test_one_rate_limit_for_every_answering_route(small_server: tuple[str, Path]) -> None:
    """Finding 3: Gradio's routes had no limit, and a made-up X-Forwarded-For reset it."""
    url, _ = small_server
    codes: list[int] = []
    started = time.monotonic()
    for i in range(12):
        forged = {"X-Forwarded-For": f"203.0.113.{i}", "X-Real-IP": f"198.51.100.{i}"}
        if i % 2:
            response = httpx.post(
                f"{url}/gradio_api/run/ask", json={"data": ["Who?"]}, headers=forged, timeout=60
            )
        else:
            response = httpx.post(
                f"{url}/api/ask", json={"question": "Who?"}, headers=forged, timeout=60
            )
        codes.append(response.status_code)
    elapsed = time.monotonic() - started
    # 3 a minute in bursts of 3: whatever the machine's speed, at most 3 + the refill.
    assert codes.count(200) <= 3 + int(elapsed * 3 / 60) + 1, codes
    assert 429 in codes and set(codes) <= {200, 429}, codes
    # Uploads store: they spend the same budget (a fresh address, so the questions above don't).
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.31")) as uploader:
        uploads = [
            uploader.post(
                f"{url}/gradio_api/upload", files={"files": (f"u{i}.txt", f"note {i}".encode())}
            ).status_code
            for i in range(6)
        ]
    assert uploads[:3] == [200] * 3 and 429 in uploads, uploads
    logins = [
        httpx.post(
            f"{url}/login", data={"key": "guess"}, headers={"X-Forwarded-For": f"192.0.2.{i}"}
        ).status_code
        for i in range(14)
    ]
    assert 429 in logins, logins


def test_requests_through_a_proxy_never_upload_without_the_token(app_server: str) -> None:
    """Finding 3: X-Real-IP (and other proxy headers) mark a request as not local."""
    for header, value in (
        ("X-Real-IP", "198.51.100.7"),
        ("X-Forwarded-For", "198.51.100.7"),
        ("Forwarded", "198.51.100.7"),
        # A forwarded name must be one the server answers to, or the host check refuses first.
        ("X-Forwarded-Host", "localhost"),
        ("Via", "198.51.100.7"),
    ):
        refused = httpx.post(
            f"{app_server}/gradio_api/upload",
            files={"files": ("a.txt", b"x")},
            headers={header: value},
        )
        assert refused.status_code == 403 and "RAG_ADMIN_TOKEN" in refused.json()["error"]


def test_document_text_makes_no_browser_fetch_a_url(
    app_server: str, browser: Any, outside_site: RecordingSite
) -> None:
    """Finding 4: a document's Markdown became a tracking pixel and a live link."""
    site = outside_site.origin
    document = (
        "Harbour bulletin\n\n"
        f"The Pellinor harbour crane lifts 88 tonnes. ![w]({site}/pixel.png) "
        f"[official registry]({site}/login) <{site}/auto> {site}/bare $$x^2$$\n"
    )
    uploaded = httpx.post(
        f"{app_server}/api/upload", files={"file": ("pellinor.txt", document.encode())}, timeout=60
    )
    assert uploaded.status_code == 200, uploaded.text
    question = "How much does the Pellinor harbour crane lift?"
    page = browser.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Security Policy" in m.text else 0)
    page.goto(app_server + "/")
    box = page.locator("#rag-question textarea").first
    box.wait_for(timeout=30_000)
    box.fill(question)
    box.press("Enter")
    page.locator(".rag-answer").first.wait_for(timeout=30_000)
    assert "88 tonnes" in page.locator(".rag-answer").last.inner_text()
    page.locator("a.rag-cite").last.click()
    source = page.locator("#rag-side .rag-side-source")  # opened beside the chat
    source.wait_for(timeout=10_000)
    assert f"![w]({site}/pixel.png)" in source.inner_text()  # shown, as typed
    outside = f"[href^='{site}'], [src^='{site}']"
    assert page.locator(outside).count() == 0
    assert page.locator("#rag-chat img, #rag-chat .katex").count() == 0

    page.goto(app_server + "/embed-demo")
    widget = ask_in_widget(page, question)
    details = open_first_source(widget)
    page.wait_for_timeout(800)
    assert f"[official registry]({site}/login)" in details.inner_text()
    assert widget.locator(outside).count() == 0
    page.close()
    assert outside_site.hits == [] and violations == []


def test_every_response_carries_the_security_headers(
    app_server: str, keyed_server: tuple[str, Path], browser: Any
) -> None:
    """Finding 5: CSP, nosniff, a referrer policy; the chat, widget and /docs work under them."""
    for path in ("/", "/api/health", "/embed.js", "/embed-demo", "/docs", "/gradio_api/info"):
        response = httpx.get(app_server + path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'self'" in policy and "img-src 'self'" in policy, path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
    refused = httpx.get(keyed_server[0] + "/api/ask")
    assert "content-security-policy" in refused.headers  # refusals too
    for origin in ("http://127.0.0.1:9", "https://evil.example"):  # CORS preflights too
        preflight = httpx.options(
            app_server + "/api/ask",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert "content-security-policy" in preflight.headers, origin

    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Security Policy" in m.text else 0)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(app_server + "/")
    page.locator("#rag-question textarea").first.wait_for(timeout=30_000)
    page.goto(app_server + "/embed-demo")
    page.locator("[data-rag-cite] button.bubble").click()
    page.goto(app_server + "/docs")
    page.locator(".swagger-ui .info").first.wait_for(timeout=30_000)  # Swagger UI ran
    page.close()
    assert problems == []


def test_nested_json_is_a_one_line_400(app_server: str, app_folder: Path) -> None:
    """Finding 5: 50,000 nested arrays raised RecursionError, logged with a traceback."""
    deep = b"[" * 50_000 + b"]" * 50_000
    for path in ("/api/ask", "/api/feedback", "/gradio_api/queue/join", "/gradio_api/run/ask"):
        response = httpx.post(
            app_server + path, content=deep, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (path, response.text)
        assert "nests deeper" in response.json()["error"]
    log = (app_folder / "server.log").read_text()
    assert "RecursionError" not in log


def test_answers_never_show_where_the_server_keeps_files(app_server: str, app_folder: Path) -> None:
    """Finding 5: absolute paths leaked through citations[].source and /api/sources."""
    answer = httpx.post(
        f"{app_server}/api/ask",
        json={"question": "How long is the Uzbek-Afghan border?"},
        timeout=30,
    ).json()
    citation = answer["citations"][0]
    assert citation["source"] == "sternik-interview-2016.txt"
    source = httpx.get(f"{app_server}/api/sources/{citation['chunk_id']}").json()
    assert source["source"] == "sternik-interview-2016.txt"
    shown = json.dumps(answer) + json.dumps(source)
    for server_path in (str(app_folder), "site-packages", "/uploads/"):
        assert server_path not in shown


def test_refusals_are_one_line_errors(app_server: str) -> None:
    """Finding 5: an empty origin in the message; FastAPI's own {"detail"} shape."""
    null = httpx.post(f"{app_server}/api/ask", json={"question": "x"}, headers={"Origin": "null"})
    assert null.status_code == 403 and "pages without an origin" in null.json()["error"]
    for path in ("/api/sources/a%2Fb", "/api/no-such-route", "/api/ask"):
        response = httpx.get(app_server + path)
        assert response.status_code == 404 and set(response.json()) == {"error"}, path


def test_the_widget_on_a_refused_site_says_so(
    app_server: str, browser: Any, outside_site: RecordingSite
) -> None:
    """Finding 5: "Sorry: Failed to fetch" instead of the server's reason."""
    site = outside_site.origin
    outside_site.html = (
        "<!doctype html><html><body><h1>Not an allowed site</h1>"
        f'<script src="{app_server}/embed.js"></script></body></html>'
    ).encode()
    page = browser.new_page()
    page.goto(site + "/")
    widget = page.locator("[data-rag-cite]")
    widget.locator("button.bubble").click()
    notice = widget.locator(".msg.error")
    notice.first.wait_for(timeout=30_000)
    text = notice.first.inner_text()
    assert "not allowed to use this assistant" in text and site in text
    assert widget.locator("input").is_disabled()
    assert notice.count() == 1
    page.close()


def test_only_allowed_sites_may_frame_the_chat(
    app_server: str, browser: Any, allowed_site: RecordingSite, outside_site: RecordingSite
) -> None:
    """Finding 5: frame-ancestors is this server plus RAG_ALLOWED_ORIGINS."""
    frame = f'<h1>Host</h1><iframe src="{app_server}/" style="width:900px;height:700px"></iframe>'
    allowed_site.html = outside_site.html = frame.encode()
    page = browser.new_page()
    refusals: list[str] = []
    page.on("console", lambda m: refusals.append(m.text) if "frame-ancestors" in m.text else 0)
    page.goto(outside_site.origin + "/")
    page.wait_for_timeout(1500)
    assert page.frame_locator("iframe").locator("#rag-question").count() == 0
    assert refusals, "Chromium should report the frame-ancestors refusal"
    page.goto(allowed_site.origin + "/")
    page.frame_locator("iframe").locator("#rag-question textarea").wait_for(timeout=30_000)
    page.close()


def test_guessing_keys_is_limited_whichever_way_they_come(keyed_server: tuple[str, Path]) -> None:
    """Outside probe: wrong keys in a header or a cookie were never limited, only /login."""
    url, _ = keyed_server
    # From 127.0.0.2: the limit is per address, and other tests use this server from 127.0.0.1.
    guesser = httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    with guesser:
        codes = []
        for i in range(14):
            name, value = [
                ("X-API-Key", f"guess{i}"),
                ("Authorization", f"Bearer guess{i}"),
                ("Cookie", f"rag_key=guess{i}"),
            ][i % 3]
            codes.append(guesser.get("/api/sources/x", headers={name: value}).status_code)
        assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}, codes
        right = guesser.get("/api/health", headers={"X-API-Key": API_KEY})
        assert right.status_code == 429  # no key is compared while the wait lasts
    elsewhere = httpx.get(f"{url}/api/sources/x", headers={"X-API-Key": API_KEY})
    assert elsewhere.status_code == 404  # another address is not held up


def test_the_sign_in_cookie_is_not_the_key(keyed_server: tuple[str, Path]) -> None:
    """Outside probe: the cookie held the key itself (the admin's cookie was the admin token)."""
    url, _ = keyed_server
    with httpx.Client(base_url=url) as client:
        signed = client.post("/login", data={"key": ADMIN})
        assert signed.status_code == 303
        cookie = client.cookies["rag_key"]
        assert ADMIN not in cookie and API_KEY not in cookie
        added = client.post("/api/upload", files={"file": ("c.txt", b"The Ostrava bridge.")})
        assert added.status_code == 200, added.text  # the session is the admin's
    assert httpx.options(f"{url}/config").status_code == 401  # no route map without a key


def test_a_sign_in_is_a_session_that_logout_ends(keyed_server: tuple[str, Path]) -> None:
    """Outside probe: the cookie was the same for every sign-in, outlived /logout and had no
    expiry, and the raw key was accepted as a cookie."""
    url, _ = keyed_server
    local = httpx.HTTPTransport(local_address="127.0.0.3")  # wrong cookies spend attempts
    with (
        httpx.Client(base_url=url, transport=local) as first,
        httpx.Client(
            base_url=url, transport=httpx.HTTPTransport(local_address="127.0.0.3")
        ) as second,
    ):
        signed = first.post("/login", data={"key": API_KEY})
        assert signed.status_code == 303
        assert "max-age=43200" in signed.headers["set-cookie"].lower()
        assert second.post("/login", data={"key": API_KEY}).status_code == 303
        token = first.cookies["rag_key"]
        assert token != second.cookies["rag_key"]  # one random token per sign-in
        assert first.get("/api/sources/x").status_code == 404  # signed in: no such passage
        out = first.get("/logout")
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert 'rag_key=""' in out.headers["set-cookie"] or "max-age=0" in (
            out.headers["set-cookie"].lower()
        )
        with httpx.Client(base_url=url, transport=local, cookies={"rag_key": token}) as thief:
            copied = thief.get("/api/sources/x")
        assert copied.status_code == 401  # a copy of the cookie died with the session
        assert second.get("/api/sources/x").status_code == 404  # the other sign-in lives on
    for raw in (API_KEY, ADMIN):
        with httpx.Client(
            base_url=url,
            transport=httpx.HTTPTransport(local_address="127.0.0.3"),
            cookies={"rag_key": raw},
        ) as client:
            sent = client.get("/api/sources/x")
        assert sent.status_code == 401  # a key is sent in a header, never as the cookie


def test_sessions_end_with_age_and_the_oldest_give_way() -> None:
    from ui.access import Sessions

    aged = Sessions(seconds=-1)
    assert aged.role(aged.start("admin")) is None
    few = Sessions(limit=2)
    tokens = [few.start("user"), few.start("admin"), few.start("user")]
    assert [few.role(t) for t in tokens] == [None, "admin", "user"]
    few.end(tokens[1])
    assert few.role(tokens[1]) is None


def test_another_site_cannot_act_with_the_admins_cookie(
    keyed_server: tuple[str, Path], allowed_site: RecordingSite
) -> None:
    """Second outside probe: an allowed site on another port of the same host (the same site,
    so SameSite=Strict sends the cookie) added a document with a signed-in admin's cookie."""
    url, folder = keyed_server
    with httpx.Client(base_url=url) as admin:
        assert admin.post("/login", data={"key": ADMIN}).status_code == 303
        forged = admin.post(
            "/api/upload",
            files={"file": ("csrf.txt", b"Planted by another site.")},
            headers={"Origin": allowed_site.origin},
        )
        assert forged.status_code == 401, forged.text  # the cookie is not its key
        assert not list(folder.rglob("csrf.txt"))
        widget = admin.post(  # what an allowed site may do: ask, with the key it was given
            "/api/ask",
            json={"question": "Who translated the interview?"},
            headers={"Origin": allowed_site.origin, "X-API-Key": API_KEY},
            timeout=30,
        )
        assert widget.status_code == 200


def test_odd_input_gets_a_one_line_refusal_not_exception_text(app_server: str) -> None:
    """Outside probe: a 5000-digit number was a 503; a lone surrogate broke the chat stream."""
    huge = '{"question": "border", "k": ' + "9" * 5000 + "}"
    for path in ("/api/ask", "/api/ask/stream", "/api/feedback"):
        response = httpx.post(
            app_server + path, content=huge, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400 and set(response.json()) == {"error"}, path
    not_a_file = httpx.post(f"{app_server}/api/upload", files={"file": (None, "x")})
    assert not_a_file.status_code == 422 and "UploadFile" not in not_a_file.text
    assert "multipart file field named 'file'" in not_a_file.json()["error"]
    # The chat's two steps in one session: the question is shown, then refused as a notice.
    session = f"surrogate{time.monotonic_ns()}"
    shown = _event(app_server, _named(app_server, "start"), ["\ud800 border?", []], session=session)
    assert shown["success"] is True
    waiting = shown["output"]["data"][0]
    answer = _named(app_server, "answer")
    done = _event(app_server, answer, [None, waiting, None], session=session)
    assert done["success"] is True
    assert "not valid Unicode text" in json.dumps(done["output"])
    # What the browser keeps comes back as input: tampered, it is read as far as it is valid.
    restore = _named(app_server, "restore")
    for saved in (
        None,
        [1, 2],
        {"messages": "x", "meta": 5},
        {"messages": [{"role": "system", "content": 5}, 7], "meta": {"a": 1, "9" * 50: {}}},
    ):
        done = _event(app_server, restore, [saved])
        shown = json.dumps(done.get("output"))
        assert done["success"] is True, shown
        assert "NoneType" not in shown and "Traceback" not in shown
    # A question's text comes back escaped again, and at most the last 200 messages.
    planted = [{"role": "user", "content": "<img src=x onerror=alert(1)>"}] * 500
    done = _event(app_server, restore, [{"messages": planted, "meta": {}}])
    messages = done["output"]["data"][0]["value"]
    assert len(messages) == 200
    assert messages[0]["content"][0]["text"] == "&lt;img src=x onerror=alert(1)&gt;"


def test_an_event_the_page_does_not_have_is_a_one_line_404(app_server: str) -> None:
    """Outside probe: Gradio answered an unknown fn_index or API name with a bare 500."""
    for fn_index in (99, -1):
        joined = httpx.post(
            f"{app_server}/gradio_api/queue/join",
            json={"data": [], "fn_index": fn_index, "session_hash": "probe"},
        )
        assert joined.status_code == 404, joined.text
        assert joined.json() == {"error": f"this page has no event {fn_index}"}
    for route in ("call", "run", "api"):
        named = httpx.post(f"{app_server}/gradio_api/{route}/nosuch", json={"data": []})
        assert named.status_code == 404 and "no API named 'nosuch'" in named.json()["error"]
    asked = httpx.post(f"{app_server}/gradio_api/call/ask", json={"data": ["Who is Sternik?"]})
    assert asked.status_code == 200 and "event_id" in asked.json()  # the public one still runs


def test_guessing_the_admin_token_is_limited_too(tmp_path: Path) -> None:
    """A server with an admin token but no API key: wrong tokens on uploads spend attempts."""
    with running_app(tmp_path / "data", tmp_path / "server.log", RAG_ADMIN_TOKEN=ADMIN) as url:
        files = {"files": ("a.txt", b"The Ostrava bridge has 19 arches.")}
        codes = [
            httpx.post(
                f"{url}/gradio_api/upload", files=files, headers={"X-API-Key": f"guess{i}"}
            ).status_code
            for i in range(12)
        ]
        assert codes[:10] == [403] * 10 and set(codes[10:]) == {429}, codes
        asking = httpx.post(f"{url}/api/ask", json={"question": "Who?"}, timeout=30)
        assert asking.status_code == 200  # asking needs no key here, and is not held up
        # The chat's own upload event spends the same attempts (from another address).
        config = httpx.get(f"{url}/config").json()
        upload = next(
            i for i, d in enumerate(config["dependencies"]) if d.get("api_name") == "upload"
        )
        for i in range(10):
            # The tenth wrong token starts the wait; its own result is still read (keyless).
            key = {"X-API-Key": f"guess{i}"}
            done = _event(url, upload, [None], key, "127.0.0.6", keyless_stream=True)
            assert "admin token" in json.dumps(done["output"])
        held = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.6"))
        with held:
            again = held.post(
                f"{url}/gradio_api/queue/join",
                json={"data": [None], "fn_index": upload, "session_hash": "x"},
                headers={"X-API-Key": "guess-again"},
            )
        assert again.status_code == 429, again.text
