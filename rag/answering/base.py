"""The one seam every answerer sits behind: a request in, text deltas then an ``Answer`` out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rag.answer import Answer, defuse_markers
from rag.conversation import Turn
from rag.retrieval.passages import Passage

DECLINE = "The documents don't say."


@dataclass(frozen=True)
class AnswerRequest:
    """What an answerer gets: the question as asked, the search query, passages, history."""

    question: str
    query: str
    passages: Sequence[Passage]
    history: Sequence[Turn] = field(default_factory=tuple)
    # The follow-up rewrite made without a model; the query when no model rewrote it.
    offline_query: str = ""


@dataclass(frozen=True)
class Restart:
    """Discard the text streamed so far: the answer starts again (e.g. after an LLM fault)."""


Event = str | Answer | Restart


class Answerer(Protocol):
    """Streams an answer: text deltas (perhaps a ``Restart``), then exactly one ``Answer``.

    Everything the pipeline calls is declared here, so it never probes an answerer.
    """

    name: str

    def condense(self, question: str, history: Sequence[Turn]) -> str | None:
        """A follow-up as a standalone question, or None to search with the offline rewrite."""
        ...

    def warm(self, passages: Iterable[Passage]) -> int:
        """Prepare for the store's passages ahead of questions; how many sentences it embedded."""
        ...

    def stream(self, request: AnswerRequest) -> Iterator[Event]:
        """Yield text as it is produced, then the complete answer with its citations."""
        ...


def declined(question: str, answerer: str, notice: str | None = None) -> Answer:
    """The plain refusal, citing nothing."""
    return Answer(
        answer=f'{DECLINE} Nothing in them answers "{defuse_markers(question.strip())}".',
        answerable=False,
        answerer=answerer,
        notice=notice,
        question=question,
    )
