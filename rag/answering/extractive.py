"""The offline answerer: the best-supported sentences of the retrieved passages, cited.

It quotes, so it cannot invent, and every sentence it returns is cited to the passage it was
cut from: correct citations by construction. It never answers with a question (interviews
restate the user's words in their questions), prefers a sentence holding the kind of fact
asked for, and declines when no sentence is supported well enough.

A sentence's score mixes its embedding similarity to the question with how much of the
question's weight (words weighted by rarity in the store) it covers. A question about
something the documents never mention ("the GDP of Turkmenistan") leaves its rarest word
uncovered by every sentence and so scores low: that is what lets the threshold separate
answers from near misses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from rag.answer import Answer, defuse_markers
from rag.answering.base import AnswerRequest, Event, declined
from rag.answering.support import coverage
from rag.conversation import Turn
from rag.embeddings.base import Embedder
from rag.retrieval.passages import Passage
from rag.text import (
    Idf,
    Kind,
    content_terms,
    expected_kind,
    flat_idf,
    has_kind,
    is_question,
    split_sentences,
    topic_terms,
)

# Calibrated on tests/data/qa.jsonl (see the README's "Answers" section).
THRESHOLD = 0.5
MAX_UNITS = 2
SECOND_RATIO = 0.85  # a second quote joins only when nearly as well supported as the first
MIN_SENTENCE_CHARS = 20
PAIR_PENALTY = 0.03  # two sentences must beat one by this much to be quoted together
WARM_LIMIT = 500  # passages (about 2,500 sentences, 15-20 s of embedding on 2 cores)
WARM_BATCH = 32  # at most the cache's per-call limit, so warmed vectors are kept
KIND_BONUS = 0.08  # holding the kind of fact asked for (a number for "how many")
KIND_MISS_PENALTY = 0.15


@dataclass(frozen=True)
class Candidate:
    """One sentence, or two adjacent ones, of a passage, with its scores."""

    passage: Passage
    start: int
    end: int
    dense: float
    lexical: float
    score: float

    @property
    def text(self) -> str:
        """The quoted text."""
        return self.passage.text[self.start : self.end]


class ExtractiveAnswerer:
    """Answers by quoting; see the module docstring."""

    name = "extractive"

    def __init__(
        self, embedder: Embedder, idf: Idf | None = None, threshold: float = THRESHOLD
    ) -> None:
        self.embedder = embedder
        self.idf = idf or flat_idf
        self.threshold = threshold

    def _sentences(self, passage: Passage) -> list[tuple[int, int]]:
        title = passage.metadata.get("title")
        spans = []
        for start, end in split_sentences(passage.text):
            sentence = passage.text[start:end]
            if start < passage.asked_until or is_question(sentence) or sentence == title:
                continue
            if len(sentence) >= MIN_SENTENCE_CHARS:
                spans.append((start, end))
        return spans

    def condense(self, question: str, history: Sequence[Turn]) -> str | None:
        """No rewrite offline: the pipeline searches with the recent user turns."""
        return None

    def warm(self, passages: Iterable[Passage], limit: int = WARM_LIMIT) -> int:
        """Embed the quotable sentences of up to ``limit`` passages ahead of any question.

        Sentence vectors are cached by text, so a server that warms at start answers its
        first questions as fast as its later ones. Returns how many sentences were embedded.
        """
        texts: list[str] = []
        for count, passage in enumerate(passages):
            if count >= limit:
                break
            texts.extend(passage.text[s:e] for s, e in self._sentences(passage))
        for lo in range(0, len(texts), WARM_BATCH):
            self.embedder.embed(texts[lo : lo + WARM_BATCH])
        return len(texts)

    def weights(self, request: AnswerRequest) -> dict[str, float]:
        """Question terms weighted by rarity; words from earlier turns count half."""
        weights = {t: 0.5 * self.idf(t) for t in topic_terms(request.query)}
        weights.update({t: self.idf(t) for t in topic_terms(request.question)})
        return weights

    def candidates(self, request: AnswerRequest) -> list[Candidate]:
        """Every statement sentence (and adjacent pair) of the passages, best first."""
        spans = [(p, s, e) for p in request.passages for s, e in self._sentences(p)]
        if not spans:
            return []
        kind = expected_kind(request.question)
        if kind == "other":
            kind = expected_kind(request.query)
        weights = self.weights(request)
        vectors = self.embedder.embed([request.query, *(p.text[s:e] for p, s, e in spans)])
        query, sentence_vectors = vectors[0], vectors[1:]
        terms = [set(content_terms(p.text[s:e])) for p, s, e in spans]
        contexts = {
            p.chunk_id: set(content_terms(str(p.metadata.get("context") or "")))
            for p in request.passages
        }
        out = []
        for i, (passage, start, end) in enumerate(spans):
            units = [(start, end, sentence_vectors[i], terms[i], 0.0)]
            if i and spans[i - 1][0] is passage:
                pair = sentence_vectors[i - 1] + sentence_vectors[i]
                pair = pair / max(float(np.linalg.norm(pair)), 1e-9)
                units.append((spans[i - 1][1], end, pair, terms[i - 1] | terms[i], PAIR_PENALTY))
            for s, e, vector, unit_terms, penalty in units:
                dense = float(vector @ query)
                lexical = coverage(weights, unit_terms, contexts[passage.chunk_id])
                text = passage.text[s:e]
                score = self._score(dense, lexical, kind, text, passage.rank) - penalty
                out.append(Candidate(passage, s, e, dense, lexical, score))
        return sorted(out, key=lambda c: -c.score)

    @staticmethod
    def _score(dense: float, lexical: float, kind: Kind, text: str, rank: int) -> float:
        score = 0.5 * dense + 0.5 * lexical
        if kind != "other":
            # A number or a date asked for and absent means this is not the answer.
            miss = KIND_MISS_PENALTY if kind in ("number", "date") else KIND_BONUS
            score += KIND_BONUS if has_kind(text, kind) else -miss
        return score + 0.04 / math.sqrt(rank)

    def stream(self, request: AnswerRequest) -> Iterator[Event]:
        """Quote the best-supported text (and a nearly as good second), or decline.

        The answer's ``retrieved`` lists the passages reranked by their best sentence's
        score: a second, finer ranking than retrieval's, which evaluation scores.
        """
        ranked = self.candidates(request)
        reranked = tuple(
            dict.fromkeys(
                [c.passage.chunk_id for c in ranked] + [p.chunk_id for p in request.passages]
            )
        )
        if not ranked or ranked[0].score < self.threshold:
            answer = replace(declined(request.question, self.name), retrieved=reranked)
            yield answer.answer
            yield answer
            return
        chosen = [ranked[0]]
        for candidate in ranked[1:]:
            if len(chosen) == MAX_UNITS or candidate.score < SECOND_RATIO * ranked[0].score:
                break
            if not any(_overlap(candidate, c) for c in chosen):
                chosen.append(candidate)
        chosen.sort(key=lambda c: (c.passage.rank, c.start))
        for event in self._cite(request, chosen):
            yield replace(event, retrieved=reranked) if isinstance(event, Answer) else event

    def _cite(self, request: AnswerRequest, chosen: Sequence[Candidate]) -> Iterator[Event]:
        numbers: dict[str, int] = {}
        supports: dict[str, tuple[int, int]] = {}
        parts: list[str] = []
        for candidate in chosen:
            chunk_id = candidate.passage.chunk_id
            if chunk_id not in numbers:
                numbers[chunk_id] = len(numbers) + 1
                supports[chunk_id] = (candidate.start, candidate.end)
            # Every quoted sentence carries its own marker: a claim is checked sentence by
            # sentence, and an unmarked sentence would be an uncited claim.
            marker = f" [{numbers[chunk_id]}]"
            text = candidate.text
            sentences = split_sentences(text) or [(0, len(text))]
            part = " ".join(
                defuse_markers(" ".join(text[s:e].split())) + marker for s, e in sentences
            )
            yield part if not parts else " " + part
            parts.append(part)
        by_id = {c.passage.chunk_id: c.passage for c in chosen}
        yield Answer(
            answer=" ".join(parts),
            citations=tuple(by_id[i].citation(n, supports[i]) for i, n in numbers.items()),
            answerable=True,
            answerer=self.name,
            question=request.question,
        )


def _overlap(a: Candidate, b: Candidate) -> bool:
    """The same text twice: overlapping spans of one passage, or a chunk overlap repeated."""
    if a.passage.chunk_id == b.passage.chunk_id and a.start < b.end and b.start < a.end:
        return True
    return a.text in b.text or b.text in a.text
