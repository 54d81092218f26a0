"""Files to clean text by format: .txt, .md, .html, .pdf.

Each loader returns the cleaned text that chunk offsets point into, so a passage can later
be shown, and highlighted, inside its document.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest import html
from ingest.clean import clean_text
from ingest.metadata import find_date, find_title
from rag.errors import RagError

MAX_FILE_BYTES = 200 * 1024 * 1024


class LoadError(RagError):
    """A file that cannot be ingested; the message is the reason, for one line of output."""


@dataclass(frozen=True)
class LoadedDocument:
    """A document's cleaned text and what is known about it."""

    source: str
    text: str
    title: str | None = None
    date: str | None = None
    # (start, end) of each page in ``text``; page n is pages[n - 1]. Empty when unpaged.
    pages: tuple[tuple[int, int], ...] = ()

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding ``offset``, or None for unpaged documents."""
        for number, (start, end) in enumerate(self.pages, 1):
            if start <= offset < end or (offset == end and number == len(self.pages)):
                return number
        return None


def _looks_like_text(text: str) -> bool:
    """False when many characters are controls, unassigned, surrogates or private-use.

    Random bytes after a UTF-16 byte-order mark decode without error into such characters.
    """
    sample = text[:20_000]
    odd = sum(1 for ch in sample if unicodedata.category(ch) in _ODD and ch not in "\n\r\t\f")
    return odd <= 0.05 * len(sample)


_ODD = {"Cc", "Cn", "Co", "Cs"}


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoadError("binary file, not text")
    text = None
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                raise LoadError(f"not valid {codec.upper()} text") from None
            break
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LoadError(
                f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                "convert it to UTF-8"
            ) from None
    if not _looks_like_text(text):
        raise LoadError("binary file, not text")
    return text


def load_text(path: Path) -> LoadedDocument:
    """Plain text: title from the first line, date from the opening lines."""
    text = clean_text(_read_text(path))
    return LoadedDocument(str(path), text, find_title(text), find_date(text))


def load_markdown(path: Path) -> LoadedDocument:
    """Markdown kept as written (headings mark sections); front matter dropped."""
    raw = re.sub(r"\A---\n.*?\n---\n", "", _read_text(path), flags=re.S)
    text = clean_text(raw)
    heading = re.search(r"^#{1,6}\s+(.+)$", text, re.M)
    title = heading.group(1).strip() if heading else find_title(text)
    return LoadedDocument(str(path), text, title, find_date(text))


def load_html(path: Path) -> LoadedDocument:
    """The page's main text, laid out as a browser shows it (``ingest.html``)."""
    try:
        page = html.page_text(_read_text(path))
    except html.HtmlError as exc:
        raise LoadError(str(exc)) from None
    text = clean_text(page.text)
    return LoadedDocument(
        str(path), text, page.title or find_title(text), page.date or find_date(text)
    )


_ENDS_BLOCK = re.compile(r"[.!?:;…\"”»)]\s*$")
WRAPPED = 0.75  # a line this close to the page's longest was cut by the layout, not ended


def unwrap(text: str) -> str:
    """A PDF page's lines joined back into paragraphs.

    PDF text comes one printed line per line; a sentence broken by the layout would become
    fragments ("order the coated" / "evaporator version AW-9C"). A line that runs nearly the
    full width and does not end a sentence continues on the next line.
    """
    lines = text.split("\n")
    widest = max((len(line) for line in lines), default=0)
    out: list[str] = []
    for line in lines:
        previous = out[-1] if out else ""
        if (
            previous
            and line.strip()
            and len(previous) >= WRAPPED * widest
            and not _ENDS_BLOCK.search(previous)
        ):
            out[-1] = previous.rstrip() + " " + line.lstrip()
        else:
            out.append(line)
    return "\n".join(out)


def load_pdf(path: Path) -> LoadedDocument:
    """The text layer page by page; page boundaries kept for citations."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise LoadError("encrypted PDF; decrypt it first")
        page_texts = [unwrap(clean_text(page.extract_text() or "")) for page in reader.pages]
        info = reader.metadata
        meta_title = (info.title or "").strip() if info else ""
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise LoadError(f"corrupt or unreadable PDF ({type(exc).__name__})") from None
    parts: list[str] = []
    pages: list[tuple[int, int]] = []
    offset = 0
    for page_text in page_texts:
        if parts:
            offset += 2  # the "\n\n" joining pages
        pages.append((offset, offset + len(page_text)))
        parts.append(page_text)
        offset += len(page_text)
    text = "\n\n".join(parts)
    if not text.strip():
        raise LoadError("PDF has no text layer (scanned?); run OCR on it first")
    title = meta_title if _names_the_document(meta_title) else find_title(text)
    return LoadedDocument(str(path), text, title, find_date(text), tuple(pages))


# What PDF writers put in the title field when the author set none: the file's name or a
# placeholder ("Untitled", "Microsoft Word - report.docx"). The first heading says more.
_PLACEHOLDER_TITLE = re.compile(
    r"^(?:untitled(?:\s*\d+)?|unknown|document\s*\d*|title|"
    r"microsoft (?:word|powerpoint|excel) - .*|.*\.(?:docx?|odt|rtf|pptx?|xlsx?|pdf|tex|dvi|ps))$",
    re.I,
)


def _names_the_document(title: str) -> bool:
    return bool(title) and not _PLACEHOLDER_TITLE.match(title)


LOADERS: dict[str, Callable[[Path], LoadedDocument]] = {
    ".txt": load_text,
    ".text": load_text,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
}


def load(path: Path) -> LoadedDocument:
    """Load a supported file, or raise ``LoadError`` saying why not."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        supported = ", ".join(sorted(LOADERS))
        raise LoadError(f"unsupported file type {path.suffix or '(none)'}; use one of {supported}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoadError(exc.strerror or "cannot read file") from None
    if size == 0:
        raise LoadError("empty file")
    if size > MAX_FILE_BYTES:
        raise LoadError(f"file too large ({size // 2**20} MB; limit {MAX_FILE_BYTES // 2**20} MB)")
    try:
        document = loader(path)
    except OSError as exc:
        raise LoadError(exc.strerror or "cannot read file") from None
    except RecursionError:
        raise LoadError("document nests too deeply to parse") from None
    if not document.text.strip():
        raise LoadError("no text found")
    return document
