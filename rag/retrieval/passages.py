"""Retrieved passages as answerers see them, and the citations made from them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.documents import Document

from rag.answer import Citation, Support
from rag.text import is_question, split_sentences

MIN_SENTENCE_CHARS = 20
# Marks of code, shell lines, config and table rows: text to show, not statements to quote.
_CODE_CHARS = set("{}=<>$|`;_#*[]\\")
_CODE_START = re.compile(r"^\s*(?:\$ |# |// |--\w|\./|import |from \w+ import |def |class )")
_CALL = re.compile(r"\w[\w.]*\([^)]*\)")


# A sentence whose subject is a pronoun (or "the latter", "this figure"...) leans on the one
# before it; the first few words are enough to tell.
_REFERS_BACK = re.compile(
    r"^(?:\W*\w+(?:\s+\w+){0,5}?\s+)?(?:it|they|this|these|those|he|she|the latter|such)\b"
    r"|^(?:он[аио]?|это|этот|эта|эти)\b",
    re.I,
)


def is_statement(sentence: str) -> bool:
    """Whether a sentence states something an answer may quote.

    Not a question, a lead-in to code or a list ("Using this flag looks like this:"), code,
    a table row or a heading.
    """
    if len(sentence) < MIN_SENTENCE_CHARS or is_question(sentence):
        return False
    if sentence.rstrip().endswith(":") or _CODE_START.match(sentence) or _CALL.search(sentence):
        return False
    if sum(c in _CODE_CHARS for c in sentence) > max(1, len(sentence) // 40):
        return False
    words = sentence.split()
    if not sentence.rstrip("\"'”’»)").endswith((".", "!", "…")) and any(
        (w.startswith("-") and len(w) > 1) or "/" in w or _CALL.search(w) for w in words
    ):
        return False  # an unpunctuated line with flags or paths: a command
    # A heading or a label is short and capitalised throughout; a statement is neither.
    return len(words) >= 4 and not all(w[:1].isupper() or not w[:1].isalpha() for w in words)


def embedded_text(text: str, metadata: Mapping[str, Any], start: int, end: int) -> str:
    """What a sentence is embedded as: itself under its section's heading.

    "It processed 41 million litres a day" means nothing without "Northfield treatment plant"
    above it; the heading gives the vector its subject.
    """
    context = str(metadata.get("context") or "")
    sentence = text[start:end]
    if not context or is_question(context) or sentence.startswith(context):
        return sentence  # an interviewer's question would make its whole answer look alike
    return f"{context}\n{sentence}"


def quotable_spans(text: str, metadata: Mapping[str, Any]) -> list[tuple[int, int]]:
    """The (start, end) of each sentence of a passage that an answer may quote.

    A sentence that opens with a pronoun ("Over the past six years it has exceeded five
    billion dollars") is quoted with the statement before it, which says what "it" is: alone
    it answers nothing a reader could check. Shared by ingest, which embeds these spans once,
    and the answerer, which reads them.
    """
    title = metadata.get("title")
    context = metadata.get("context")
    asked_until = len(context) if context and text.startswith(context) else 0
    spans = []
    previous: tuple[int, int] | None = None
    for start, end in split_sentences(text):
        sentence = text[start:end]
        if start < asked_until or sentence == title or not is_statement(sentence):
            previous = None
            continue
        if previous and _REFERS_BACK.match(sentence):
            spans.append((previous[0], end))
        else:
            spans.append((start, end))
        previous = (start, end)
    return spans


@dataclass(frozen=True)
class Passage:
    """One retrieved passage; ``rank`` is its 1-based place in the retrieval order."""

    rank: int
    chunk_id: str
    text: str
    metadata: dict[str, Any]
    score: float

    @classmethod
    def from_document(cls, rank: int, document: Document) -> Passage:
        """From a retriever's LangChain document."""
        metadata = dict(document.metadata)
        return cls(
            rank=rank,
            chunk_id=str(document.id or metadata.get("id", "")),
            text=document.page_content,
            metadata=metadata,
            score=float(metadata.get("score", 0.0)),
        )

    @property
    def sentences(self) -> list[tuple[int, int]]:
        """The spans an answer may quote (see ``quotable_spans``)."""
        return quotable_spans(self.text, self.metadata)

    def page_at(self, offset: int) -> int | None:
        """The page (of a paged document) holding this offset of the passage's text."""
        page = self.metadata.get("page")
        if page is None:
            return None
        starts = str(self.metadata.get("page_starts") or "")
        later = [int(s) for s in starts.split(",") if s.isdigit()]
        return int(page) + sum(1 for start in later if start <= offset)

    def citation(self, n: int, support: tuple[int, int] | None = None) -> Citation:
        """The passage as citation number ``n``, with its supporting span if known."""
        m = self.metadata
        return Citation(
            n=n,
            # The path as ingested (older stores: the file's name), never the server's folders.
            source=str(m.get("path") or m.get("filename") or ""),
            title=m.get("title"),
            chunk_id=self.chunk_id,
            text=self.text,
            start=int(m.get("start", 0)),
            end=int(m.get("end", len(self.text))),
            support=Support(support[0], support[1], self.text[support[0] : support[1]])
            if support
            else None,
            page=self.page_at(support[0]) if support else m.get("page"),
            score=round(self.score, 6),
            date=m.get("date"),
            filename=m.get("filename"),
        )
