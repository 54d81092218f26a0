"""An answer's sentences and the passage numbers each one cites, however the markers look.

Models write [1], [1, 2], [Passage 2], 【3】 or [^1]; citation repair and citation scoring
both need each sentence with the numbers it cited, markers removed.
"""

from __future__ import annotations

import re

from rag.sentences import split_sentences

MARKER = re.compile(
    r"\s*[\[【]\s*(?:(?:passage|source|doc(?:ument)?)\s*)?\^?"
    r"(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*[\]】]",
    re.I,
)


def split_claims(text: str) -> list[tuple[str, list[int]]]:
    """Sentences without their markers, each with the passage numbers it cited."""
    clean_parts: list[str] = []
    cited_at: list[tuple[int, list[int]]] = []
    position = 0
    length = 0
    for m in MARKER.finditer(text):
        piece = text[position : m.start()]
        clean_parts.append(piece)
        length += len(piece)
        numbers = [int(n) for n in re.split(r"\s*[,;]\s*", m.group(1))]
        cited_at.append((length, numbers))
        position = m.end()
    clean_parts.append(text[position:])
    clean = "".join(clean_parts)
    spans = split_sentences(clean)
    claims: list[tuple[str, list[int]]] = [(clean[s:e], []) for s, e in spans]
    for offset, numbers in cited_at:
        owner = max((i for i, (s, _) in enumerate(spans) if s < offset), default=0)
        if claims:
            claims[owner][1].extend(numbers)
    return claims
