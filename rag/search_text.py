"""The text a passage is embedded and keyword-indexed with."""

from __future__ import annotations


def search_text(text: str, context: str | None) -> str:
    """The passage's section question or heading, then the passage.

    A later chunk of an interview answer never repeats the question it answers; searching
    it together with that question lets it match what users actually ask.
    """
    if context and not text.startswith(context):
        return f"{context}\n{text}"
    return text
