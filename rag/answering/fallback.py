"""An answerer that never leaves a user without an answer: the primary, else the fallback.

A model that says the documents are silent, or whose every claim the passages fail to
support, has answered: the documents do not say. That ends as a decline offering the closest
passages, never as a quote of a near miss. Only a fault (no usable reply) falls back to quoting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from rag.answer import Answer
from rag.answering.base import AnswerRequest, Event, Restart, declined
from rag.answering.extractive import ExtractiveAnswerer
from rag.answering.generative import GenerativeAnswerer, UnverifiableAnswer, describe
from rag.conversation import Turn
from rag.retrieval.passages import Passage

log = logging.getLogger(__name__)
UNSUPPORTED = "The language model answered, but nothing in the documents supports what it said."


class FallbackAnswerer:
    """The generative answerer; after a fault, the extractive one with a short notice."""

    def __init__(self, primary: GenerativeAnswerer, fallback: ExtractiveAnswerer) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """The primary's standalone-question rewrite."""
        return self.primary.condense(question, history)

    def warm(self, passages: Iterable[Passage]) -> int:
        """The fallback's preparation: it is the one that quotes."""
        return self.fallback.warm(passages)

    def stream(self, request: AnswerRequest) -> Iterator[Event]:
        """The primary's stream; a decline if it found nothing; after a fault, the fallback's."""
        started = False
        # The model may also have rewritten the question badly: quote against the plain one.
        plain = replace(request, query=request.offline_query or request.query)
        try:
            for event in self.primary.stream(request):
                if isinstance(event, Answer):
                    if not event.answerable:
                        event = replace(event, related=self.fallback.closest(plain))
                    yield event
                    return
                started = True
                yield event
        except UnverifiableAnswer:
            if started:
                yield Restart()
            answer = replace(
                declined(request.question, self.name, UNSUPPORTED),
                related=self.fallback.closest(plain),
            )
            yield answer.answer
            yield answer
            return
        except Exception as exc:  # any model fault: timeouts, HTTP errors, broken streams
            reason = describe(exc, self.primary.settings.llm_timeout)
            log.warning("generative answerer failed (%s); falling back", reason)
            log.debug("generative answerer failure", exc_info=True)
        notice = f"The language model failed ({reason}); this answer quotes the documents instead."
        if started:
            yield Restart()
        for event in self.fallback.stream(plain):
            yield replace(event, notice=notice) if isinstance(event, Answer) else event
