"""An answer as terminal text: the answer, then its numbered sources."""

from __future__ import annotations

import textwrap

from rag.answer import Answer


def as_text(answer: Answer, width: int = 100) -> str:
    """The answer, a notice if any, and each source with the sentence that supports it."""
    lines = [textwrap.fill(answer.answer, width)]
    if answer.notice:
        lines += ["", textwrap.fill(f"Note: {answer.notice}", width)]
    if answer.citations:
        lines += ["", "Sources:"]
    for c in answer.citations:
        where = f"characters {c.start}-{c.end}" + (f", page {c.page}" if c.page else "")
        title = c.title or c.filename or c.source
        lines.append(f"[{c.n}] {title}{f' ({c.date})' if c.date else ''}, {where}")
        quote = c.support.text if c.support else c.text
        lines.append(
            textwrap.fill(
                f"“{' '.join(quote.split())}”",
                width,
                initial_indent="    ",
                subsequent_indent="    ",
            )
        )
        lines.append(f"    {c.source}")
    return "\n".join(lines)
