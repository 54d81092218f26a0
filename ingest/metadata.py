"""Title and publication date found in a document's opening lines."""

from __future__ import annotations

import re
from datetime import date

from rag.text import MONTH_NAMES

_MONTHS = {m: i + 1 for i, m in enumerate(MONTH_NAMES)}
_MONTH = "(" + "|".join(MONTH_NAMES) + ")"
_DATE_PATTERNS = (
    re.compile(rf"\b{_MONTH}\s+(\d{{1,2}}),?\s+(\d{{4}})\b", re.I),  # January 6, 2016
    re.compile(rf"\b(\d{{1,2}})\s+{_MONTH},?\s+(\d{{4}})\b", re.I),  # 6 January 2016
    re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"),  # 2016-01-06
)
_HEAD_CHARS = 1500


def find_date(text: str) -> str | None:
    """The first date in the document's head, as ISO ``YYYY-MM-DD``."""
    head = text[:_HEAD_CHARS]
    found: list[tuple[int, date]] = []
    for number, pattern in enumerate(_DATE_PATTERNS):
        for m in pattern.finditer(head):
            g = m.groups()
            try:
                if number == 0:
                    d = date(int(g[2]), _MONTHS[g[0].lower()], int(g[1]))
                elif number == 1:
                    d = date(int(g[2]), _MONTHS[g[1].lower()], int(g[0]))
                else:
                    d = date(int(g[0]), int(g[1]), int(g[2]))
            except ValueError:
                continue
            found.append((m.start(), d))
    return min(found)[1].isoformat() if found else None


def find_title(text: str) -> str | None:
    """The first non-empty line when it is short enough to be a title (markdown ``#`` stripped)."""
    for line in text.split("\n"):
        line = line.strip()
        if line:
            title = line.lstrip("#").strip()
            return title if 0 < len(title) <= 200 else None
    return None
