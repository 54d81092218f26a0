"""Passages with exact offsets, cut along a document's own structure.

Interviews and FAQs put a question in one paragraph and its answer in the next. A chunk that
holds only the question restates the user's words and wins retrieval while answering nothing,
so a question (or a markdown heading) always opens the chunk of what follows it, and every
later chunk of that section carries it as ``context`` for keyword search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.loaders import LoadedDocument

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_TURN_MARK = re.compile(r"^[\s\-\u2010-\u2015\u2212•*>]+")
_HEADING = re.compile(r"^#{1,6}\s+\S")
_MAX_HEADING = 600
# A split piece that adds fewer new characters than this is folded into the one before.
_MIN_NEW_CHARS = 60


@dataclass(frozen=True)
class Chunk:
    """One passage: ``text == source_text[start:end]``."""

    text: str
    start: int
    end: int
    page: int | None = None
    page_end: int | None = None
    context: str | None = None


def is_section_head(paragraph: str) -> bool:
    """A markdown heading, or an interviewer's / FAQ question ending in '?'."""
    p = paragraph.strip()
    if _HEADING.match(p):
        return True
    body = _TURN_MARK.sub("", p).rstrip("\"')\u00bb\u2019\u201d ")
    return 0 < len(body) <= _MAX_HEADING and body.endswith("?")


def _paragraphs(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for m in _PARAGRAPH_BREAK.finditer(text):
        if text[pos : m.start()].strip():
            spans.append((pos, m.start()))
        pos = m.end()
    if text[pos:].strip():
        spans.append((pos, len(text)))
    return spans


class Chunker:
    """Cuts documents into passages of about ``size`` characters."""

    def __init__(self, size: int = 600, overlap: int = 100) -> None:
        self.size = size
        self.overlap = overlap
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=size,
            chunk_overlap=overlap,
            separators=["\n", r"(?<=[.!?…])\s+", r"(?<=[;:,])\s+", " ", ""],
            is_separator_regex=True,
            keep_separator="end",
        )

    def _pieces(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Split one long paragraph at sentence boundaries, with overlap, offsets exact."""
        paragraph = text[start:end]
        pieces: list[tuple[int, int]] = []
        cursor = 0
        for piece in self.splitter.split_text(paragraph):
            at = paragraph.find(piece, cursor)
            if at < 0:  # the splitter normalised something: locate from the beginning
                at = paragraph.find(piece)
            if at < 0:
                continue
            span = (start + at, start + at + len(piece))
            # The next piece starts at most ``overlap`` before this one ends: searching from
            # there keeps a short repeated phrase from matching an earlier occurrence.
            cursor = max(at + 1, at + len(piece) - self.overlap)
            if pieces and span[1] <= pieces[-1][1]:
                continue  # nothing new: only repeats its neighbour's overlap
            if pieces and span[1] - pieces[-1][1] < _MIN_NEW_CHARS:
                pieces[-1] = (pieces[-1][0], span[1])
                continue
            pieces.append(span)
        return pieces or [(start, end)]

    def _units(self, text: str, paragraphs: list[tuple[int, int]]) -> list[tuple[int, int]]:
        units: list[tuple[int, int]] = []
        for start, end in paragraphs:
            if end - start > self.size:
                units.extend(self._pieces(text, start, end))
            else:
                units.append((start, end))
        return units

    def chunk(self, document: LoadedDocument) -> list[Chunk]:
        """All passages of a document, in order."""
        text = document.text
        sections: list[tuple[str | None, list[tuple[int, int]]]] = []
        for start, end in _paragraphs(text):
            if is_section_head(text[start:end]) or not sections:
                head = text[start:end] if is_section_head(text[start:end]) else None
                sections.append((head, [(start, end)]))
            else:
                sections[-1][1].append((start, end))

        chunks: list[Chunk] = []
        for head, paragraphs in sections:
            units = self._units(text, paragraphs)
            spans: list[tuple[int, int]] = []
            for unit in units:
                opens_with_head = head is not None and len(spans) == 1 and spans[0] == units[0]
                if spans and (unit[1] - spans[-1][0] <= self.size or opens_with_head):
                    spans[-1] = (spans[-1][0], unit[1])
                else:
                    spans.append(unit)
            for start, end in spans:
                chunks.append(
                    Chunk(
                        text=text[start:end],
                        start=start,
                        end=end,
                        page=document.page_at(start),
                        page_end=document.page_at(end - 1),
                        context=head,
                    )
                )
        return _drop_covered(chunks)


def _drop_covered(chunks: list[Chunk]) -> list[Chunk]:
    """Remove chunks whose every character their two neighbours already hold.

    Overlapping split pieces packed with whole paragraphs can leave a chunk that only repeats
    its neighbours; it would add a duplicate search hit and nothing else.
    """
    kept = list(chunks)
    i = 1
    while i < len(kept) - 1:
        before, chunk, after = kept[i - 1], kept[i], kept[i + 1]
        if before.end >= after.start and before.start <= chunk.start and chunk.end <= after.end:
            del kept[i]
            i = max(1, i - 1)
        else:
            i += 1
    return kept
