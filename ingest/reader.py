"""HTML and PDF files read in a child process, with a deadline.

Their parsers are C libraries and pure Python with super-linear corners (libxml2 on one
element's attributes, trafilatura on wide tables, pypdf on odd streams). In the server's
process such a file held the GIL: questions stalled, and SIGTERM waited for the parse. In a
child, the server keeps answering, and a parse past its deadline, or one still running when
the server stops, is ended by killing the child. The child is started once and reused.
"""

from __future__ import annotations

import atexit
import multiprocessing
import threading
from multiprocessing.connection import Connection
from pathlib import Path

from ingest.loaders import LoadedDocument, LoadError, load

# Plain text and Markdown are read with linear-time code: no child needed.
SLOW_SUFFIXES = frozenset({".html", ".htm", ".pdf"})


def _serve(connection: Connection) -> None:
    """The child: read each path sent, reply with the document or the one-line reason."""
    while True:
        try:
            path = connection.recv()
        except EOFError:
            return
        try:
            reply: tuple[str, object] = ("ok", load(Path(path)))
        except LoadError as exc:
            reply = ("error", str(exc))
        except Exception as exc:  # a parser's bug: one file fails, the child goes on
            reply = ("error", f"the file could not be read ({type(exc).__name__})")
        connection.send(reply)


class Reader:
    """Loads files, the slow kinds in a child process that is killed past its deadline."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._connection: Connection | None = None

    def load(self, path: Path, seconds: float) -> LoadedDocument:
        """The file's document, or ``LoadError`` (also when reading takes over ``seconds``)."""
        if path.suffix.lower() not in SLOW_SUFFIXES:
            return load(path)
        with self._lock:
            connection = self._start()
            connection.send(str(path))
            if not connection.poll(seconds):
                self._stop()
                raise LoadError(
                    f"reading the file took over {seconds:g} s (RAG_READ_TIMEOUT); "
                    "split it or convert it to text"
                )
            try:
                status, value = connection.recv()
            except (EOFError, OSError):  # killed by close(), or died (out of memory)
                self._stop()
                raise LoadError("reading the file stopped before it finished") from None
        if status == "error":
            raise LoadError(str(value))
        assert isinstance(value, LoadedDocument)
        return value

    def _start(self) -> Connection:
        if self._process is None or not self._process.is_alive():
            self._stop()
            spawn = multiprocessing.get_context("spawn")
            parent, child = spawn.Pipe()
            process = spawn.Process(target=_serve, args=(child,), name="rag-reader", daemon=True)
            process.start()
            child.close()
            self._process, self._connection = process, parent
        assert self._connection is not None
        return self._connection

    def _stop(self) -> None:
        process, connection = self._process, self._connection
        self._process = self._connection = None
        if process is not None and process.is_alive():
            process.kill()
            process.join()
        if connection is not None:
            connection.close()

    def close(self) -> None:
        """Kill the child, even mid-parse: the file being read fails with ``LoadError``.

        Not under the lock, which a parse in progress holds: shutdown must not wait for it.
        A later file starts a new child.
        """
        process = self._process
        if process is not None and process.is_alive():
            process.kill()


READER = Reader()
atexit.register(READER.close)
