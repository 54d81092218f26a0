"""The offline answerer: the sentence that answers, quoted and cited, or an honest decline.

It quotes, so it cannot invent, and every sentence it returns is cited to the passage it was
cut from: correct citations by construction. Which sentence, and whether any, is decided by
a small calibrated model (``decision``) over each candidate's ``signals``; the candidates are
the quotable sentences of the retrieved passages (their vectors stored at ingest, so only the
question is embedded here) and, for a question about the document itself, the lines of its
header (title, date, byline). A declined answer cites nothing but offers the closest passages
as ``related``, and every answer carries the model's ``confidence``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from rag.answer import Answer, Citation, defuse_markers
from rag.answering.base import AnswerRequest, Event, declined
from rag.answering.decision import Decision, decision_for
from rag.answering.signals import about_document, question_names, signals
from rag.answering.support import coverage
from rag.conversation import Turn
from rag.embeddings.base import Embedder
from rag.retrieval.passages import Passage, embedded_text
from rag.text import (
    Idf,
    content_terms,
    expected_kind,
    expected_unit,
    flat_idf,
    has_kind,
    has_unit,
    in_english_words,
    is_small_talk,
    split_sentences,
    topic_terms,
)

if TYPE_CHECKING:
    from rag.store import Store

MAX_UNITS = 2
SECOND_SHARE = 0.5  # a second quote must be at least half as likely as the first
RELATED = 3  # closest passages a decline offers
HEADER_LINES = 8  # a document's first lines that may be its title, date and byline
MAX_HEADER_LINE = 160
WARM_LIMIT = 500  # passages whose sentences a store without a sentence index embeds at start
WARM_BATCH = 32  # at most the cache's per-call limit, so warmed vectors are kept
_POPULATION = re.compile(r"populat|населени|Einwohner|Bevölkerung", re.I)
MAX_LABELLED_QUOTE = 400  # a quote grows back to its paragraph's label up to this length
# A paragraph's label: text before its first colon that names code (an option "--root",
# a setting "work_mem", "init.defaultBranch", a call "json.dumps(obj, ...)"), not prose.
_LABEL = re.compile(r"[^\n]{1,120}?(?=: )")
_CODE_NAME = re.compile(r"(?:^|\s)-{1,2}\w|\w[_.]\w|\w\(")


@dataclass(frozen=True)
class Candidate:
    """One quotable span of a passage, with the chooser's share of belief in it.

    The shares of a question's candidates sum to 1: which one answers, if any does.
    """

    passage: Passage
    start: int
    end: int
    share: float = 0.0

    @property
    def text(self) -> str:
        """The quoted text."""
        return self.passage.text[self.start : self.end]


def header_spans(passage: Passage) -> list[tuple[int, int]]:
    """The short opening lines of a document's first passage: its title, date and byline.

    A line of several sentences is prose, not a header line: the header ends there.
    """
    if int(passage.metadata.get("chunk_index", -1)) != 0:
        return []
    spans = []
    offset = 0
    for line in passage.text.split("\n"):
        start = offset + len(line) - len(line.lstrip())
        offset += len(line) + 1
        text = line.strip()
        if not text:
            continue
        if len(text) > MAX_HEADER_LINE or len(split_sentences(text)) > 1:
            break
        spans.append((start, start + len(text)))
        if len(spans) == HEADER_LINES:
            break
    return spans


class ExtractiveAnswerer:
    """Answers by quoting; see the module docstring."""

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        idf: Idf | None = None,
        store: Store | None = None,
        decision: Decision | None = None,
    ) -> None:
        self.embedder = embedder
        self.idf = idf or flat_idf
        self.store = store
        self._decision = decision

    @property
    def decision(self) -> Decision:
        """The decision model trained with this embedder (loaded on first use)."""
        if self._decision is None:
            self._decision = decision_for(self.embedder.model_id)
        return self._decision

    def condense(self, question: str, history: Sequence[Turn]) -> str | None:
        """No rewrite offline: the pipeline searches with the recent user turns."""
        return None

    def warm(self, passages: Iterable[Passage], limit: int = WARM_LIMIT) -> int:
        """Embed sentences of up to ``limit`` passages that have no stored sentence vectors.

        Only stores ingested before the sentence index have such passages. Returns how many
        sentences it embedded.
        """
        chosen = [p for _, p in zip(range(limit), passages, strict=False)]
        stored = self._stored([p.chunk_id for p in chosen])
        texts = [
            embedded_text(p.text, p.metadata, s, e)
            for p in chosen
            for s, e in p.sentences
            if (p.chunk_id, s, e) not in stored
        ]
        for lo in range(0, len(texts), WARM_BATCH):
            self.embedder.embed(texts[lo : lo + WARM_BATCH])
        return len(texts)

    def _stored(self, ids: Sequence[str]) -> dict[tuple[str, int, int], np.ndarray]:
        return self.store.sentence_vectors(ids) if self.store is not None else {}

    def _passages(self, request: AnswerRequest, document_question: bool) -> list[Passage]:
        """The retrieved passages, and for a question about the document its first passage."""
        passages = list(request.passages)
        if self.store is None or not passages or not document_question:
            return passages
        source = passages[0].metadata.get("source")
        if not source:
            return passages
        for id_, text, meta in self.store.records(
            where={"$and": [{"source": source}, {"chunk_index": 0}]}
        ):
            if all(p.chunk_id != id_ for p in passages):
                passages.append(Passage(len(passages) + 1, id_, text, dict(meta), 0.0))
        return passages

    def weights(self, request: AnswerRequest) -> dict[str, float]:
        """Question terms weighted by rarity; words from earlier turns count half."""
        weights = {t: 0.5 * self.idf(t) for t in topic_terms(request.query)}
        weights.update({t: self.idf(t) for t in topic_terms(request.question)})
        return weights

    def rank(self, request: AnswerRequest) -> tuple[list[Candidate], float]:
        """The candidates best first, and the probability that quoting the first answers."""
        found, features = self.features(request)
        if not found:
            return [], 0.0
        decision = self.decision
        scores = decision.scores(features)
        probability = decision.probability(decision.inputs(features, scores))
        shares = np.exp(scores - scores.max())
        shares /= shares.sum()
        order = np.argsort(-scores, kind="stable")
        return [replace(found[i], share=float(shares[i])) for i in order], probability

    def features(self, request: AnswerRequest) -> tuple[list[Candidate], np.ndarray]:
        """Every quotable span of the passages with its signals (what training learns from)."""
        document_question = about_document(request.question)
        passages = self._passages(request, document_question)
        units = [
            (p, s, e, header)
            for p in passages
            for header, spans in (
                (False, p.sentences),
                (True, header_spans(p) if document_question else []),
            )
            for s, e in spans
        ]
        units = list({(u[0].chunk_id, u[1], u[2]): u for u in units}.values())
        if not units:
            return [], np.zeros((0, 0))
        stored = self._stored([p.chunk_id for p in passages])
        missing = [(p.chunk_id, s, e) for p, s, e, _ in units if (p.chunk_id, s, e) not in stored]
        if missing:
            by_id = {p.chunk_id: p for p in passages}
            computed = self.embedder.embed(
                [embedded_text(by_id[i].text, by_id[i].metadata, s, e) for i, s, e in missing]
            )
            stored = {**stored, **dict(zip(missing, computed, strict=True))}
        vectors = np.vstack([stored[p.chunk_id, s, e] for p, s, e, _ in units])
        query = self.embedder.embed_queries([request.query])[0]
        kind = expected_kind(request.question)
        if kind == "other":
            kind = expected_kind(request.query)
        unit = expected_unit(request.question) or expected_unit(request.query)
        weights = self.weights(request)
        unseen = self.idf("\uffff")
        known = {t for t in weights if self.idf(t) < unseen}
        features = signals(
            dense=vectors @ query,
            texts=[p.text[s:e] for p, s, e, _ in units],
            contexts=[str(p.metadata.get("context") or "") for p, *_ in units],
            ranks=[p.rank for p, *_ in units],
            headers=[h for *_, h in units],
            weights=weights,
            known=known,
            kind=kind,
            unit=unit,
            names=question_names(request.question),
            document_question=document_question,
        )
        return [Candidate(p, s, e) for p, s, e, _ in units], features

    def stream(self, request: AnswerRequest) -> Iterator[Event]:
        """Quote the best candidate (a second for another part), or decline with related passages.

        The answer's ``retrieved`` lists the passages reranked by their best candidate: a
        second, finer ranking than retrieval's, which evaluation scores.
        """
        ranked, probability = self.rank(request)
        best_of = _best_of(ranked)
        reranked = tuple(dict.fromkeys([*best_of, *(p.chunk_id for p in request.passages)]))
        if self.asks_nothing_here(request.question) or (
            ranked and _wrong_unit(request.question, ranked[0].text)
        ):
            probability = 0.0
        if not ranked or probability < self.decision.threshold:
            confidence = 1.0 - probability
            answer = replace(
                declined(request.question, self.name),
                retrieved=reranked,
                related=_related(best_of.values()),
                confidence=round(confidence, 4),
            )
            yield answer.answer
            yield answer
            return
        labelled = [_with_label(c) for c in (ranked[0], *self._second(request, ranked))]
        # Grown back to its label, a quote may now hold the other one.
        chosen = [
            c for i, c in enumerate(labelled) if not any(_overlap(c, d) for d in labelled[:i])
        ]
        chosen.sort(key=lambda c: (c.passage.rank, c.start))
        for event in self._cite(request, chosen):
            if isinstance(event, Answer):
                event = replace(event, retrieved=reranked, confidence=round(probability, 4))
            yield event

    def asks_nothing_here(self, question: str) -> bool:
        """Whether the question is small talk, or asks what the documents never mention.

        The second: an English question that names something the documents know
        ("Uzbekistan") but asks for a thing no passage has a word for ("population"). The
        model would quote the best sentence about the name, a near miss (a border length).
        Other languages are left to the model: their words are unknown to English documents
        whatever they ask.
        """
        if is_small_talk(question):
            return True
        if self.idf is flat_idf or not in_english_words(question):
            return False
        names = question_names(question)
        unseen = self.idf("\uffff")
        terms = content_terms(question)  # with the words of the kind asked ("population")
        named = [t for t in terms if any(t.startswith(n[:5]) for n in names)]
        asked = [t for t in terms if t not in named]
        return (
            bool(asked)
            and any(self.idf(t) < unseen for t in named)
            and all(self.idf(t) >= unseen for t in asked)
        )

    def closest(self, request: AnswerRequest) -> tuple[Citation, ...]:
        """The passages a decline offers to read instead, each with its best sentence marked."""
        return _related(_best_of(self.rank(request)[0]).values())

    def _second(self, request: AnswerRequest, ranked: list[Candidate]) -> list[Candidate]:
        """A second quote only for a part of the question the first leaves out.

        The chooser must rate it at least half as likely as the first, and it must cover
        question terms the first does not.
        """
        first = ranked[0]
        weights = {t: self.idf(t) for t in topic_terms(request.question)}
        first_terms = set(content_terms(first.text))
        missing = {t: w for t, w in weights.items() if coverage({t: w}, first_terms) == 0}
        if not missing:
            return []
        for candidate in ranked[1 : MAX_UNITS + 4]:
            if candidate.share < SECOND_SHARE * first.share:
                break
            if _overlap(candidate, first):
                continue
            if coverage(missing, set(content_terms(candidate.text))) > 0:
                return [candidate]
        return []

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
        citations: tuple[Citation, ...] = tuple(
            by_id[i].citation(n, supports[i]) for i, n in numbers.items()
        )
        yield Answer(
            answer=" ".join(parts),
            citations=citations,
            answerable=True,
            answerer=self.name,
            question=request.question,
        )


def _wrong_unit(question: str, text: str) -> bool:
    """A population asked for that the quote does not state.

    The chooser prefers sentences in the unit asked but, with none, still picks one ("137
    km" for a population): no answer is better than a number of something else. Only this
    unit decides alone: on the development set's train split, money, length and duration,
    read off a question's words ("paid", "length of time"), declined 14 answerable
    questions for 8 unanswerable ones.
    """
    if expected_unit(question) != "people":
        return False
    return not has_unit(text, "people") and not (
        _POPULATION.search(text) and has_kind(text, "number")
    )


def _with_label(candidate: Candidate) -> Candidate:
    """The quote from its paragraph's label on, when it lies in a labelled paragraph.

    A documented option's paragraph opens with its name ("--mainline <parent-number>: ...",
    see ``ingest.html``); an answer quoting its second sentence ("This option specifies the
    parent number") would not say which option it is about.
    """
    text = candidate.passage.text
    start = text.rfind("\n", 0, candidate.start) + 1  # its paragraph's start
    label = _LABEL.match(text, start)
    if (
        label is None
        or candidate.start <= label.end()
        or candidate.end - start > MAX_LABELLED_QUOTE
        or ". " in label.group()
        or not _CODE_NAME.search(label.group())
    ):
        return candidate
    return replace(candidate, start=start)


def _best_of(ranked: list[Candidate]) -> dict[str, Candidate]:
    """Each passage's best candidate, passages in the order of their best."""
    best: dict[str, Candidate] = {}
    for candidate in ranked:
        best.setdefault(candidate.passage.chunk_id, candidate)
    return best


def _related(best: Iterable[Candidate]) -> tuple[Citation, ...]:
    """The first ``RELATED`` passages as numbered citations, their best sentence marked."""
    top = list(best)[:RELATED]
    return tuple(c.passage.citation(n, (c.start, c.end)) for n, c in enumerate(top, 1))


def _overlap(a: Candidate, b: Candidate) -> bool:
    """The same text twice: overlapping spans of one passage, or a chunk overlap repeated."""
    if a.passage.chunk_id == b.passage.chunk_id and a.start < b.end and b.start < a.end:
        return True
    return a.text in b.text or b.text in a.text
