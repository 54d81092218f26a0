"""The one answer object every interface shares, and the citation invariant it must keep.

Its JSON form (``Answer.to_dict``) is a contract: ``rag ask --json``, the REST API, the UI
and ``rag eval`` all read and write exactly these keys.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from rag.errors import CitationError
from rag.text import MARKER as ANY_MARKER

MARKER = re.compile(r"\[(\d{1,3})\]")


@dataclass(frozen=True)
class Support:
    """The sentence inside a cited passage that supports the claim; offsets are in the passage."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Citation:
    """A numbered source passage, with where it sits in its document."""

    n: int
    source: str
    title: str | None
    chunk_id: str
    text: str
    start: int
    end: int
    support: Support | None = None
    page: int | None = None
    score: float | None = None
    date: str | None = None
    filename: str | None = None


@dataclass(frozen=True)
class Timings:
    """Milliseconds spent per stage of one answer."""

    retrieve_ms: float = 0.0
    generate_ms: float = 0.0
    total_ms: float = 0.0


@dataclass(frozen=True)
class Answer:
    """An answer with inline ``[n]`` markers, each pointing at one of ``citations``."""

    answer: str
    citations: tuple[Citation, ...] = ()
    answerable: bool = True
    answerer: str = ""
    notice: str | None = None
    timings: Timings = field(default_factory=Timings)
    question: str = ""
    # Ids of the passages the answerer read (cited or not), best first: the offline answerer's
    # rerank by sentence score, else retrieval order. Evaluation scores recall@k on it.
    retrieved: tuple[str, ...] = ()
    # Names this answer when a user rates it (``rag.feedback``); unique per answer given.
    answer_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # How sure the answerer is (0..1) that the quote answers, or for a decline that nothing
    # read does; None when the answerer does not say (a language model).
    confidence: float | None = None
    # A decline's closest passages, to read instead: shown like citations, but they are not
    # citations (the answer claims nothing from them), so no marker refers to them.
    related: tuple[Citation, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: plain types only."""
        data = asdict(self)
        data["citations"] = list(data["citations"])
        data["related"] = list(data["related"])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        """The answer an earlier ``to_dict`` (or the API) gave, as the object again."""

        def citations(key: str) -> tuple[Citation, ...]:
            return tuple(
                Citation(**{**c, "support": Support(**c["support"]) if c.get("support") else None})
                for c in data.get(key, ())
            )

        return cls(
            **{
                **data,
                "citations": citations("citations"),
                "related": citations("related"),
                "timings": Timings(**data.get("timings", {})),
                "retrieved": tuple(data.get("retrieved", ())),
            }
        )

    def with_timings(self, **values: float) -> Answer:
        """A copy with some timings set."""
        return replace(self, timings=replace(self.timings, **values))


@dataclass(frozen=True)
class AnswerChunk:
    """A piece of a streamed answer; the last one carries the complete ``Answer``.

    ``restart`` tells a consumer to discard the text shown so far.
    """

    delta: str = ""
    answer: Answer | None = None
    restart: bool = False

    def __add__(self, other: AnswerChunk) -> AnswerChunk:
        if other.restart:
            return AnswerChunk(other.delta, other.answer or self.answer, restart=True)
        return AnswerChunk(self.delta + other.delta, other.answer or self.answer, self.restart)


_INERT = str.maketrans({"[": "［", "]": "］", "【": "［", "】": "］"})


def defuse_markers(text: str) -> str:
    """Quoted text (a document's, a user's) with its own marker look-alikes made inert.

    A passage reading "as reported [2]" would otherwise point at citation 2 of the answer
    that quotes it; full-width brackets read the same and point at nothing.
    """
    return ANY_MARKER.sub(lambda m: m.group(0).translate(_INERT), text)


def markers(text: str) -> list[int]:
    """Citation numbers in the order they appear in the text."""
    return [int(m.group(1)) for m in MARKER.finditer(text)]


def check_citations(answer: Answer) -> Answer:
    """Raise ``CitationError`` unless markers and citations match one to one.

    Citations are numbered 1..N in list order, every marker names one of them, every one of
    them is named by a marker, and a declined answer cites nothing.
    """
    numbers = [c.n for c in answer.citations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise CitationError(f"citations are numbered {numbers}, not 1..{len(numbers)}")
    used = set(markers(answer.answer))
    dangling = used - set(numbers)
    if dangling:
        raise CitationError(f"markers {sorted(dangling)} point at no citation")
    unused = set(numbers) - used
    if unused:
        raise CitationError(f"citations {sorted(unused)} are never referred to")
    if not answer.answerable and answer.citations:
        raise CitationError("a declined answer cites passages")
    for citation in answer.citations:
        support = citation.support
        if support and citation.text[support.start : support.end] != support.text:
            raise CitationError(f"support of citation {citation.n} is not a span of its passage")
    return answer
