"""Sentence spans with exact offsets, for picking and highlighting supporting sentences."""

from __future__ import annotations

import re

# A sentence ends at . ! ? or … (plus closing quotes or brackets) when the next one starts
# like a sentence: capital, digit, opening quote or dash. "the U.S. but also" does not end.
_BOUNDARY = re.compile(
    r"(?<=[.!?…])(?P<close>[\"'”’»)\]]*)\s+(?=[\"'“‘«(\[–—-]?\s?[A-ZА-ЯЁ0-9])|\n+"
)
_LEAD = re.compile(r"^[\s\-–—•*>]+")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, leading dashes and spaces trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        _add(text, start, m.start() + len(m.group("close") or ""), spans)
        start = m.end()
    _add(text, start, len(text), spans)
    return spans


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    piece = text[start:end]
    lead = _LEAD.match(piece)
    if lead:
        start += lead.end()
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def is_question(sentence: str) -> bool:
    """A sentence that asks rather than tells."""
    return sentence.rstrip("\"'”’») ").endswith("?")
