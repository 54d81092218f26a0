"""A fault-injecting HTTP proxy on loopback, in front of a real OpenAI-protocol server.

Each request takes the next fault from ``faults`` (then passes through when none are left):
``hang`` (never answers), ``429`` (with ``Retry-After: 1``), ``500``, ``reset`` (forwards the
stream up to the end of the first event that carries a token, then resets the connection),
``malformed`` (forwards the first event, then a chunk that is not JSON), ``say:TEXT`` (the
real server's stream with its words replaced by TEXT: a model saying exactly that), ``pass``.
What each request got is appended to ``seen``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from typing import Any

import httpx


def carries_token(line: str) -> bool:
    """Whether an SSE ``data:`` line is a chat.completion chunk with text in its delta.

    The first chunks can be role-only or empty, so counting raw events does not say whether
    the client has seen a token; a reset meant to land mid-answer must wait for one.
    """
    try:
        event = json.loads(line.removeprefix("data:"))
        return any(choice["delta"].get("content") for choice in event["choices"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return False


def said_instead(line: str, text: str) -> str:
    """A token chunk's ``data:`` line with its text replaced."""
    event = json.loads(line.removeprefix("data:"))
    for choice in event["choices"]:
        choice["delta"]["content"] = text
    return "data: " + json.dumps(event)


class FaultProxy:
    """Start with ``start()`` (returns the base URL), stop with ``stop()``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults: list[str] = []
        self.seen: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> str:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop
        )
        self._server = future.result(10)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), 0))
            body = await reader.readexactly(length) if length else b""
            fault = self.faults.pop(0) if self.faults else "pass"
            self.seen.append(fault)
            if fault == "hang":
                await reader.read()  # until the client gives up and closes
                return
            if fault in ("429", "500"):
                await self._status(writer, int(fault))
                return
            await self._forward(writer, method, path, headers, body, fault)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if not writer.is_closing():
                writer.close()

    async def _status(self, writer: asyncio.StreamWriter, status: int) -> None:
        reason = {429: "Too Many Requests", 500: "Internal Server Error"}[status]
        body = json.dumps({"error": {"message": f"injected {status}", "type": "fault"}}).encode()
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Retry-After: 1\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()

    async def _forward(
        self,
        writer: asyncio.StreamWriter,
        method: str,
        path: str,
        headers: dict[str, Any],
        body: bytes,
        fault: str,
    ) -> None:
        keep = {k: v for k, v in headers.items() if k.lower() in ("content-type", "accept")}
        async with (
            httpx.AsyncClient(timeout=60) as client,
            client.stream(method, self.upstream + path, headers=keep, content=body) as response,
        ):
            kind = response.headers.get("content-type", "application/json")
            writer.write(
                f"HTTP/1.1 {response.status_code} OK\r\nContent-Type: {kind}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            token_forwarded = False
            async for line in response.aiter_lines():
                if fault.startswith("say:") and carries_token(line):
                    line = said_instead(line, "" if token_forwarded else fault[4:])
                    token_forwarded = True
                writer.write(line.encode() + b"\n")
                await writer.drain()
                # Reset at the blank line that ends the token's event: before it, the client
                # holds the event's data line but not the event, and would drop it unread.
                if fault == "reset" and token_forwarded and not line:
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()  # an RST, not a clean close
                    return
                if not line.startswith("data:"):
                    continue
                if fault == "malformed":
                    writer.write(b"\ndata: {this is not json\n\n")
                    await writer.drain()
                    return
                token_forwarded = token_forwarded or carries_token(line)
