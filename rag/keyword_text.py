"""The text a passage is keyword-indexed with."""

from __future__ import annotations


def keyword_text(text: str, context: str | None) -> str:
    """The passage's section question or heading, then the passage.

    A later chunk of an interview answer never repeats the question it answers; indexing its
    words with the passage lets BM25 match what users ask. Embeddings get the passage alone:
    measured on the article's 30 test questions, adding the question to the embedded text
    lowered dense recall@1 (0.77 to 0.73), while adding it to BM25 raised hybrid recall@3
    (0.97 to 1.00) at the same recall@1 (0.90).
    """
    if context and not text.startswith(context):
        return f"{context}\n{text}"
    return text
