"""Helpers several test modules share (no test module imports another)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.embeddings.base import Vectors

RAG = str(Path(sys.executable).parent / "rag")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"  # screenshots to look at
# Debian's Chromium, headless, with nothing reaching out to the network on its own.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


AXE = Path(sys.executable).parent.parent / "npm" / "axe-core-4.14.1" / "axe.min.js"


def axe_violations(page: Any, impacts: Sequence[str] = ("serious", "critical")) -> list[str]:
    """axe-core's violations of these impacts on the page as it is now, one line each.

    The script goes in through the DevTools protocol, which the page's CSP does not govern.
    """
    assert AXE.is_file(), f"{AXE} is missing: scripts/test fetches axe-core from npm"
    page.evaluate(AXE.read_text())
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {', '.join(str(n['target']) for n in v['nodes'])}"
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def rag(*args: str) -> subprocess.CompletedProcess[str]:
    """The ``rag`` command as a user runs it, in this test's environment."""
    return subprocess.run(
        [RAG, *args], capture_output=True, text=True, timeout=300, env=os.environ.copy()
    )


class CountingEmbedder:
    """The real embedder, counting how many texts it is asked to embed."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.texts = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id  # type: ignore[attr-defined, no-any-return]

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.texts += len(texts)
        return self.inner.embed(texts)  # type: ignore[attr-defined, no-any-return]

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        self.texts += len(texts)
        return self.inner.embed_queries(texts)  # type: ignore[attr-defined, no-any-return]


def make_pdf(path: Path, pages: list[str], title: str = "Border PDF") -> None:
    """A PDF with a text layer, one page per string."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))


def ask_in_chat(page: Any, url: str, question: str) -> None:
    """Ask on the chat page and wait for the new answer."""
    page.goto(url + "/")
    box = page.locator("#rag-question textarea").first
    box.wait_for(timeout=30_000)
    before = page.locator(".rag-answer").count()
    box.fill(question)
    box.press("Enter")
    # Locators, not wait_for_function: the page's CSP (no 'unsafe-eval') stops the latter.
    page.locator(".rag-answer").nth(before).wait_for(timeout=30_000)


def add_on_documents_tab(page: Any, path: Path) -> None:
    """Choose a file with the Documents tab's add button, as a person does."""
    page.get_by_role("tab", name="Documents").click()
    with page.expect_file_chooser() as chooser:
        page.locator("#rag-upload").click()
    chooser.value.set_files(str(path))


def ask_in_widget(page: Any, question: str) -> Any:
    """Open the widget on the page, send a question, and return the widget's locator."""
    widget = page.locator("[data-rag-cite]")
    widget.locator("button.bubble").click()
    widget.locator("input").fill(question)
    widget.locator("input").press("Enter")
    return widget


def open_first_source(widget: Any) -> Any:
    """Wait for the answer's first citation, click it, and return its source's locator."""
    cite = widget.locator("button.cite").first
    cite.wait_for(timeout=30_000)
    cite.click()
    return widget.locator("details").first


def answering_processes(server: int) -> list[int]:
    """The server's children started by spawn: answering workers, the file reader.

    Not multiprocessing's resource tracker.
    """
    found = []
    for task in Path(f"/proc/{server}/task").iterdir():
        for child in (task / "children").read_text().split():
            command = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in command:
                found.append(int(child))
    return sorted(found)


def wait_for(condition: object, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"
