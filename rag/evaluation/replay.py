"""Citation repair replayed on model answers written in advance, each sentence labelled.

A replay line gives a question, the numbered passages a model read, the model's answer with
its markers, and per sentence the right verdict: ``keep`` (markers right), ``move`` (supported,
markers wrong; ``correct`` names the passages that support it) or ``drop`` (nothing supports
it). The generative answerer's verification step (``rag.answering.generative.verify``) runs
over each answer, no model needed, and each labelled sentence is looked up in what a user
would get:

- kept_intact: share of ``keep`` sentences delivered with exactly the markers they had;
- corrected: share of ``move`` sentences delivered citing only passages that support them;
- dropped: share of ``drop`` sentences left out;
- answers_intact: share of answers whose sentences are all ``keep`` delivered whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.answer import Answer
from rag.answering.base import AnswerRequest
from rag.answering.generative import Judge, UnverifiableAnswer, verify
from rag.evaluation.metrics import normalise
from rag.retrieval.passages import Passage
from rag.text import split_claims


@dataclass(frozen=True)
class Sentence:
    """A labelled sentence of a replayed answer; passage numbers are the model's."""

    text: str
    cited: frozenset[int]
    verdict: str
    correct: frozenset[int]


@dataclass(frozen=True)
class Replay:
    """One model answer to replay."""

    id: str
    question: str
    passages: tuple[Passage, ...]
    answer: str
    sentences: tuple[Sentence, ...]


def read_replay(path: Path) -> list[Replay]:
    """The replay set's lines (one JSON object each)."""
    items = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        data = json.loads(raw)
        passages = tuple(
            Passage(int(p["n"]), str(p["chunk_id"]), str(p["text"]), {}, 0.0)
            for p in data["passages"]
        )
        sentences = tuple(
            Sentence(
                s["text"], frozenset(s["cited"]), s["verdict"], frozenset(s.get("correct", ()))
            )
            for s in data["sentences"]
        )
        items.append(Replay(data["id"], data["question"], passages, data["answer"], sentences))
    return items


def delivered(
    item: Replay, judge: Judge, minimum: float, unmarked: float
) -> list[tuple[str, frozenset[int]]]:
    """The sentences a user gets, each with the model's numbers of the passages it cites."""
    request = AnswerRequest(item.question, item.question, item.passages)
    try:
        answer: Answer = verify(
            item.answer, request, judge, minimum=minimum, unmarked_minimum=unmarked
        )
    except UnverifiableAnswer:
        return []
    if not answer.answerable:
        return []
    original = {p.chunk_id: p.rank for p in item.passages}
    number = {c.n: original[c.chunk_id] for c in answer.citations}
    return [
        (claim, frozenset(number[n] for n in cited if n in number))
        for claim, cited in split_claims(answer.answer)
    ]


def _find(sentence: Sentence, got: list[tuple[str, frozenset[int]]]) -> frozenset[int] | None:
    """The markers a labelled sentence was delivered with, or None when it was left out."""
    wanted = normalise(sentence.text).rstrip(".")
    for text, cited in got:
        have = normalise(text).rstrip(".")
        if have == wanted or (len(wanted) > 20 and (wanted in have or have in wanted)):
            return cited
    return None


def score(items: Iterable[Replay], judge: Judge, minimum: float, unmarked: float) -> dict[str, Any]:
    """The replay figures (module docstring), with counts, and the misses to read.

    ``minimum`` and ``unmarked`` are ``verify``'s thresholds, as the generative answerer sets
    them (``rag.answering.support``'s repair and judge thresholds).
    """
    counts = {"keep": [0, 0], "move": [0, 0], "drop": [0, 0], "answers": [0, 0]}
    misses: list[dict[str, Any]] = []
    for item in items:
        got = delivered(item, judge, minimum, unmarked)
        intact = True
        for sentence in item.sentences:
            cited = _find(sentence, got)
            if sentence.verdict == "keep":
                ok = cited == sentence.cited
                intact = intact and ok
            elif sentence.verdict == "move":
                ok = cited is not None and bool(cited) and cited <= sentence.correct
            else:
                ok = cited is None
            counts[sentence.verdict][0] += ok
            counts[sentence.verdict][1] += 1
            if not ok:
                misses.append(
                    {
                        "id": item.id,
                        "verdict": sentence.verdict,
                        "sentence": sentence.text,
                        "cited": sorted(sentence.cited),
                        "correct": sorted(sentence.correct),
                        "delivered": None if cited is None else sorted(cited),
                    }
                )
        if all(s.verdict == "keep" for s in item.sentences):
            counts["answers"][0] += intact
            counts["answers"][1] += 1

    def share(key: str) -> float | None:
        good, total = counts[key]
        return round(good / total, 4) if total else None

    return {
        "kept_intact": share("keep"),
        "corrected": share("move"),
        "dropped": share("drop"),
        "answers_intact": share("answers"),
        "counts": {k: {"right": v[0], "of": v[1]} for k, v in counts.items()},
        "misses": misses,
    }
