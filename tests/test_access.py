"""Access: the API key, the admin token, allowed origins, public mode, and secrets kept out of
every output (logs, errors, answers, pages, the evaluation report).
"""

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, running_app
from tests.helpers import RAG

pytestmark = pytest.mark.server

API_KEY = "planted-api-key-7f3a9c"
ADMIN = "planted-admin-token-51d2e8"
OPENAI = "sk-planted-openai-key-0b6e4d"
SECRETS = (API_KEY, ADMIN, OPENAI)
QUESTION = {"question": "How long is the Uzbek-Afghan border?"}


@pytest.fixture(scope="module")
def host_page() -> Iterator[tuple[str, dict[str, bytes]]]:
    """Another origin: a page that embeds the widget with the key, served from its own port."""
    port = free_port()
    page: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page["html"])

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}", page
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def private_server(
    tmp_path_factory: pytest.TempPathFactory, host_page
) -> Iterator[tuple[str, Path]]:  # type: ignore[no-untyped-def]
    origin, _ = host_page
    folder = tmp_path_factory.mktemp("private")
    with running_app(
        folder / "data",
        folder / "server.log",
        RAG_API_KEY=API_KEY,
        RAG_ADMIN_TOKEN=ADMIN,
        OPENAI_API_KEY=OPENAI,
        RAG_ANSWERER="extractive",  # the planted OpenAI key must reach nothing
        RAG_ALLOWED_ORIGINS=json.dumps([origin]),
    ) as url:
        yield url, folder / "server.log"


def test_the_api_needs_the_key(private_server: tuple[str, Path]) -> None:
    url, _ = private_server
    missing = httpx.post(f"{url}/api/ask", json=QUESTION)
    assert missing.status_code == 401 and "RAG_API_KEY" in missing.json()["error"]
    wrong = httpx.post(f"{url}/api/ask", json=QUESTION, headers={"X-API-Key": "guess"})
    assert wrong.status_code == 401
    for headers in (
        {"Authorization": f"Bearer {API_KEY}"},
        {"X-API-Key": API_KEY},
        {"X-API-Key": ADMIN},
    ):
        ok = httpx.post(f"{url}/api/ask", json=QUESTION, headers=headers, timeout=30)
        assert ok.status_code == 200 and "137 km" in ok.json()["answer"]
    assert httpx.get(f"{url}/api/health").status_code == 200  # for load balancers
    # Gradio's own API answers questions too: it is behind the same key.
    gradio = httpx.post(f"{url}/gradio_api/call/ask", json={"data": ["Who?"]})
    assert gradio.status_code == 401


def test_uploads_need_the_admin_token(private_server: tuple[str, Path]) -> None:
    url, _ = private_server
    files = {"file": ("note.txt", b"The Ostrava bridge has 19 arches.")}
    user = httpx.post(f"{url}/api/upload", files=files, headers={"X-API-Key": API_KEY})
    assert user.status_code == 403 and "admin token" in user.json()["error"]
    admin = httpx.post(f"{url}/api/upload", files=files, headers={"X-API-Key": ADMIN}, timeout=60)
    assert admin.status_code == 200 and admin.json()["added"] == 1


def test_a_users_own_key_refused_an_admin_change_spends_no_guess(
    private_server: tuple[str, Path],
) -> None:
    """Outside probe: ten refused deletes with a user's key locked the admin out too."""
    url, _ = private_server
    doc_id = httpx.get(f"{url}/api/documents", headers={"X-API-Key": API_KEY}).json()[0]["id"]
    transport = httpx.HTTPTransport(local_address="127.0.0.7")  # its own address's attempts
    with httpx.Client(base_url=url, transport=transport, timeout=30) as client:
        codes = [
            client.delete(f"/api/documents/{doc_id}", headers={"X-API-Key": API_KEY}).status_code
            for _ in range(12)
        ]
        assert codes == [403] * 12, codes
        listed = client.get("/api/documents", headers={"X-API-Key": ADMIN})
        assert listed.status_code == 200 and listed.json()[0]["id"] == doc_id


def test_the_documents_list_needs_the_key_and_changes_need_the_admin_token(
    private_server: tuple[str, Path],
) -> None:
    url, _ = private_server
    missing = httpx.get(f"{url}/api/documents")
    assert missing.status_code == 401 and "RAG_API_KEY" in missing.json()["error"]
    user, admin = {"X-API-Key": API_KEY}, {"Authorization": f"Bearer {ADMIN}"}
    files = {"file": ("vault.txt", b"Vault notes\n\nThe Brno vault holds 12 bells.")}
    assert httpx.post(f"{url}/api/upload", files=files, headers=admin, timeout=60).is_success
    before = httpx.get(f"{url}/api/documents", headers=user).json()
    vault = next(d for d in before if d["filename"] == "vault.txt")
    attempts = [
        ("DELETE", f"/api/documents/{vault['id']}", {}),
        ("DELETE", f"/api/documents/{vault['id']}", user),
        ("POST", f"/api/documents/{vault['id']}/reingest", {}),
        ("POST", f"/api/documents/{vault['id']}/reingest", user),
        ("DELETE", f"/api/documents/{vault['id']}", {"X-API-Key": "wrong-admin-token"}),
    ]
    for method, path, headers in attempts:
        refused = httpx.request(method, url + path, headers=headers, timeout=30)
        assert refused.status_code in (401, 403), (method, path, refused.text)
        assert set(refused.json()) == {"error"}
        if headers.get("X-API-Key") == API_KEY:
            assert refused.json()["error"] == (
                "deleting or re-reading documents needs the admin token"
            )
    assert httpx.get(f"{url}/api/documents", headers=user).json() == before
    reread = httpx.post(f"{url}/api/documents/{vault['id']}/reingest", headers=admin, timeout=60)
    assert reread.status_code == 200 and reread.json()["unchanged"] == 1
    deleted = httpx.delete(f"{url}/api/documents/{vault['id']}", headers=admin, timeout=30)
    assert deleted.status_code == 200 and deleted.json()["deleted"] == vault["id"]
    after = httpx.get(f"{url}/api/documents", headers=user).json()
    assert after == [d for d in before if d["id"] != vault["id"]]


def test_the_chat_page_signs_in_with_the_key(private_server: tuple[str, Path]) -> None:
    url, _ = private_server
    with httpx.Client(base_url=url) as browser:
        page = browser.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login"
        refused = browser.post("/login", data={"key": "guess"})
        assert refused.status_code == 401 and "guess" not in refused.text
        signed = browser.post("/login", data={"key": API_KEY})
        assert signed.status_code == 303 and "httponly" in signed.headers["set-cookie"].lower()
        assert browser.get("/", headers={"Accept": "text/html"}).status_code == 200
        assert browser.post("/api/ask", json=QUESTION, timeout=30).status_code == 200


def test_other_origins_are_refused(private_server: tuple[str, Path], host_page) -> None:  # type: ignore[no-untyped-def]
    url, _ = private_server
    origin, _ = host_page
    key = {"X-API-Key": API_KEY}
    evil = httpx.post(
        f"{url}/api/ask", json=QUESTION, headers={**key, "Origin": "https://evil.example"}
    )
    assert evil.status_code == 403 and "RAG_ALLOWED_ORIGINS" in evil.json()["error"]
    good = httpx.post(
        f"{url}/api/ask", json=QUESTION, headers={**key, "Origin": origin}, timeout=30
    )
    assert good.status_code == 200 and good.headers["access-control-allow-origin"] == origin


def test_the_widget_on_an_allowed_site_sends_the_key(private_server, host_page, browser) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import ask_in_widget

    url, _ = private_server
    origin, page_store = host_page
    page_store["html"] = (
        "<!doctype html><html><body><h1>A site</h1>"
        f'<script src="{url}/embed.js" data-key="{API_KEY}"></script></body></html>'
    ).encode()
    page = browser.new_page()
    page.goto(origin + "/")
    widget = ask_in_widget(page, QUESTION["question"])
    widget.locator("button.cite").first.wait_for(timeout=30_000)
    assert "137 km" in widget.locator(".msg.bot").last.inner_text()


def test_public_mode_turns_uploads_off_without_an_admin_token(tmp_path: Path) -> None:
    files = {"file": ("a.txt", b"The Ostrava bridge has 19 arches.")}
    with running_app(tmp_path / "data", tmp_path / "server.log", RAG_PUBLIC="true") as url:
        refused = httpx.post(f"{url}/api/upload", files=files)
        assert refused.status_code == 403 and "RAG_ADMIN_TOKEN" in refused.json()["error"]
        (article,) = httpx.get(f"{url}/api/documents").json()
        doc = article["id"]
        # Ways around the rule an outside probe tried: all refused or no route, none removes.
        for method, path, headers in (
            ("DELETE", f"/api/documents/{doc}", {}),
            ("POST", f"/api/documents/{doc}/reingest", {}),
            ("DELETE", f"/api/documents/{doc}/", {}),
            ("DELETE", f"/api/%64ocuments/{doc}", {}),
            ("DELETE", f"/api/documents/..%2F{doc}", {}),
            ("DELETE", f"/api/documents%2F{doc}", {}),
            ("PUT", f"/api/documents/{doc}", {}),
            ("POST", f"/api/documents/{doc}", {"X-HTTP-Method-Override": "DELETE"}),
            ("GET", f"/api/documents/{doc}?_method=DELETE", {}),
            ("DELETE", f"/gradio_api/documents/{doc}", {}),
        ):
            change = httpx.request(method, url + path, headers=headers)
            assert change.status_code in (403, 404), (method, path, change.text)
            if change.status_code == 403:
                assert "RAG_ADMIN_TOKEN" in change.json()["error"]
        assert httpx.get(f"{url}/api/documents").json() == [article]
        assert httpx.post(f"{url}/api/ask", json=QUESTION, timeout=30).status_code == 200


def test_a_request_through_a_proxy_cannot_upload_without_the_admin_token(app_server: str) -> None:
    files = {"file": ("a.txt", b"The Ostrava bridge has 19 arches.")}
    proxied = httpx.post(
        f"{app_server}/api/upload", files=files, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert proxied.status_code == 403 and "RAG_ADMIN_TOKEN" in proxied.json()["error"]
    before = httpx.get(f"{app_server}/api/documents").json()
    for header in ("X-Forwarded-For", "X-Real-IP", "Via"):
        deleted = httpx.delete(
            f"{app_server}/api/documents/{before[0]['id']}", headers={header: "203.0.113.9"}
        )
        assert deleted.status_code == 403 and "RAG_ADMIN_TOKEN" in deleted.json()["error"]
    assert httpx.get(f"{app_server}/api/documents").json() == before


def test_secrets_appear_nowhere(private_server: tuple[str, Path], tmp_path: Path) -> None:
    url, log = private_server
    key = {"X-API-Key": API_KEY}
    seen = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for path in (
            "/",
            "/login",
            "/embed-demo",
            "/embed.js",
            "/docs",
            "/openapi.json",
            "/config",
        ):
            seen.append(client.get(path, headers=key).text)
        seen.append(client.post("/api/ask", json=QUESTION, headers=key).text)
        seen.append(client.post("/api/ask/stream", json=QUESTION, headers=key).text)
        seen.append(client.post("/api/ask", json={"question": ""}, headers=key).text)
        seen.append(client.post("/api/ask", json=QUESTION, headers={"X-API-Key": OPENAI}).text)
        seen.append(client.get("/api/health").text)
    env = {**os.environ, "RAG_API_KEY": API_KEY, "RAG_ADMIN_TOKEN": ADMIN, "OPENAI_API_KEY": OPENAI}
    env["RAG_ANSWERER"] = "extractive"
    dataset = tmp_path / "d.jsonl"
    dataset.write_text(json.dumps(QUESTION) + "\n" + json.dumps({"question": ""}) + "\n")
    out = tmp_path / "r.jsonl"
    for args in (
        ["ingest"],
        ["ask", QUESTION["question"], "--json"],
        ["eval", str(dataset), "--out", str(out)],
    ):
        done = subprocess.run([RAG, *args], capture_output=True, text=True, env=env, timeout=300)
        seen += [done.stdout, done.stderr]
    seen += [out.read_text(), out.with_suffix(".html").read_text(), log.read_text()]
    everything = "\n".join(seen)
    assert "137 km" in everything  # the outputs were really collected
    for secret in SECRETS:
        assert secret not in everything


def test_the_chat_page_changes_documents_only_for_the_admin(  # type: ignore[no-untyped-def]
    private_server, browser, tmp_path: Path
) -> None:
    from tests.helpers import add_on_documents_tab

    url, _ = private_server
    note = tmp_path / "ledger.txt"
    note.write_text("Ledger\n\nThe Brenna mill ground 712 sacks of rye.\n")
    for key, expected in ((API_KEY, "needs the admin token"), (ADMIN, "Added ledger.txt")):
        page = browser.new_context().new_page()
        page.goto(url + "/")  # redirected to the sign-in form
        page.locator("input[name=key]").fill(key)
        page.locator("button[type=submit]").click()
        add_on_documents_tab(page, note)  # one step: chosen is added
        # The refusal may come from Gradio's upload route (a pop-up) or the event.
        page.get_by_text(expected).first.wait_for(timeout=60_000)
        # Deleting takes the same right, and a second press to confirm.
        target = "Ledger (ledger.txt)" if key == ADMIN else "America"
        page.locator("#rag-document-choice input").click()
        page.get_by_role("option", name=target).first.click()
        page.locator("#rag-delete").click()
        if key == API_KEY:
            refused = "Deleting or re-reading documents needs the admin token"
            page.get_by_text(refused).first.wait_for(timeout=60_000)
            assert page.locator("#rag-documents .body-cell", has_text="America").count() == 1
            continue
        page.get_by_text("Press Delete again").wait_for(timeout=60_000)
        page.locator("#rag-delete").click()
        page.get_by_text("Removed “Ledger” (1 passage(s))").wait_for(timeout=60_000)
        assert page.locator("#rag-documents .body-cell", has_text="Ledger").count() == 0
