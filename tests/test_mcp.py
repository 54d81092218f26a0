"""The MCP server through the SDK's own client: streamable HTTP at /mcp on a running
`rag serve`, and stdio (`rag mcp`) as an assistant launches it."""

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from rag.answer import Answer, check_citations
from tests.conftest import VENV_BIN, running_app

pytestmark = pytest.mark.server

QUESTION = "How long is the Uzbek-Afghan border?"
KEY = "planted-mcp-key-8e21"


async def ask_and_read_the_source(client: Client) -> Answer:
    """List the tools, ask, and read the first cited passage as a resource."""
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {"ask", "search"}
    assert "citations" in (tools["ask"].description or "")
    result = await client.call_tool("ask", {"question": QUESTION})
    assert not result.is_error
    answer = Answer.from_dict(dict(result.structured_content or {}))
    check_citations(answer)
    assert "137 km" in answer.answer and answer.citations
    cited = answer.citations[0]
    read = await client.read_resource(f"rag://passages/{cited.chunk_id}")
    passage: dict[str, Any] = json.loads(read.contents[0].text)  # type: ignore[union-attr]
    assert passage["text"] == cited.text and cited.support
    assert cited.support.text in passage["text"]
    return answer


async def test_http_transport_tools_and_resources(app_server: str) -> None:
    async with Client(f"{app_server}/mcp") as client:
        await ask_and_read_the_source(client)
        found = await client.call_tool("search", {"question": QUESTION, "k": 3})
        passages = (found.structured_content or {})["passages"]
        assert len(passages) == 3 and any("137 km" in p["text"] for p in passages)
        # The path as ingested, never the server's folders (review finding).
        assert all(not p["source"].startswith("/") for p in passages), passages
        listed = (await client.list_resources()).resources
        documents = [r for r in listed if str(r.uri).startswith("rag://documents/")]
        article = [r for r in documents if "Red Line" in (r.title or "")]
        assert len(article) == 1
        # Not documents[0]: other tests upload to this server, and uploads may sort first.
        document = await client.read_resource(str(article[0].uri))
        text = document.contents[0].text  # type: ignore[union-attr]
        assert "Uzbek-Afghan border of 137 km" in text
        # Bad arguments come back as a tool error saying what was wrong, not a crash.
        empty = await client.call_tool("ask", {"question": "  "})
        assert empty.is_error and "empty" in empty.content[0].text  # type: ignore[union-attr]
        too_many = await client.call_tool("search", {"question": QUESTION, "k": 500})
        assert too_many.is_error and "between 1 and 20" in too_many.content[0].text  # type: ignore[union-attr]
        # Arguments of the wrong type: one line naming the argument (outside probe: a
        # multi-line validation dump).
        wrong = await client.call_tool("ask", {"question": 5})
        message = wrong.content[0].text  # type: ignore[union-attr]
        assert wrong.is_error and "question" in message and "\n" not in message
        with pytest.raises(MCPError, match="no passage with id"):
            await client.read_resource("rag://passages/0000000000000000-0000000000000000")


def test_only_post_reaches_the_mcp_route(app_server: str) -> None:
    """Outside probe: GET /mcp held an endless event stream open, outside the rate limit."""
    for method in ("GET", "DELETE"):
        response = httpx2.request(method, f"{app_server}/mcp", timeout=10)
        assert response.status_code == 405


async def test_follow_up_with_history(app_server: str) -> None:
    async with Client(f"{app_server}/mcp") as client:
        history = [["How long is Tajikistan's border with Afghanistan?", "1300 km [1]"]]
        result = await client.call_tool(
            "ask", {"question": "And Turkmenistan's?", "history": history}
        )
        assert "745" in (result.structured_content or {})["answer"]


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("keyed-mcp")
    with running_app(folder / "data", folder / "server.log", RAG_API_KEY=KEY) as url:
        yield url


async def test_http_transport_needs_the_key(keyed_server: str) -> None:
    refused = httpx2.post(
        f"{keyed_server}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Accept": "application/json, text/event-stream"},
    )
    assert refused.status_code == 401 and "RAG_API_KEY" in refused.json()["error"]
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}) as http,
        Client(streamable_http_client(f"{keyed_server}/mcp", http_client=http)) as client,
    ):
        await ask_and_read_the_source(client)


async def test_stdio_transport(article_data_dir: Path) -> None:
    launch = StdioServerParameters(
        command=str(VENV_BIN / "rag"), args=["--data-dir", str(article_data_dir), "mcp"]
    )
    async with Client(launch) as client:
        await ask_and_read_the_source(client)


def test_stdio_says_when_a_server_holds_the_store(tmp_path: Path) -> None:
    with running_app(tmp_path / "data", tmp_path / "server.log"):
        done = subprocess.run(
            [str(VENV_BIN / "rag"), "--data-dir", str(tmp_path / "data"), "mcp"],
            input=b"",
            capture_output=True,
            timeout=120,
        )
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "in use by another process" in lines[0], lines
    assert done.stdout == b""  # nothing on the protocol channel
