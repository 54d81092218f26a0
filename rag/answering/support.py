"""How well a passage supports a claim: the judge behind citation repair and evaluation.

Offline and cheap. The passage sentence that best matches the claim (embedding similarity
mixed with rarity-weighted word coverage) is found, then a small learned model reads signals
that each speak for support: how close that sentence and the closest one are in meaning,
whether the claim's numbers and names are all stated, whether claim and sentence agree in
negation, how much of the claim's (rarity-weighted) wording the passage states. Its output
is a probability. It cannot do logic, but it tells a claim drawn from a passage from one
with a swapped number, name or polarity far better than similarity alone.

The model lives in ``support.json`` (one entry per embedding model), fitted by
``scripts/train_judge.py`` on the train split of ``eval/support/pairs.jsonl``, with two
thresholds: ``repair`` (low, so a right citation of a good answer is rarely moved) for the
generative answerer, ``judge`` (most labels agreed with) for evaluation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.answering.decision import Logistic, Matrix, trained_for
from rag.embeddings import rescaled
from rag.embeddings.base import Embedder
from rag.retrieval.passages import Passage
from rag.text import NUMBER_WORDS, Idf, content_terms, script_of, split_sentences

WEIGHTS = Path(__file__).with_name("support.json")
SIGNALS = (
    "similarity",
    "closest",
    "numbers_stated",
    "names_stated",
    "same_polarity",
    "words_stated",
)
_NUMBER = re.compile(rf"\d+(?:[.,]\d+)*|\b(?:{'|'.join(NUMBER_WORDS)})\b", re.I)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-ZА-ЯЁ][\w-]{2,}")
_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nor|cannot|without|нет|не|ни|никогда|без)\b|n['’]t\b", re.I
)
# A number written in thousands groups ("31,400", "31 400", "31 400"): one number.
_GROUPED = re.compile(r"\b\d{1,3}(?:[,\u00a0\u202f\u2009 ]\d{3})+\b")
_DIMENSION = re.compile(
    r"(?<=\d)\s*[^\W\d]{1,12}\.?\s+(long|high|tall|wide|deep|thick|old|heavy|away|across)\b",
    re.I,
)
MIN_PREFIX = 4  # "Turkmen" matches "Turkmenistan", "jealous" matches "jealousy"
CONTEXT_SHARE = 0.5
MAX_MISSING_NAMES = 2


def _matches(term: str, terms: frozenset[str] | set[str]) -> bool:
    if term in terms:
        return True
    if len(term) < MIN_PREFIX:
        return False
    return any(
        len(other) >= MIN_PREFIX and (other.startswith(term) or term.startswith(other))
        for other in terms
    )


def coverage(
    weights: dict[str, float], terms: set[str], context: frozenset[str] | set[str] = frozenset()
) -> float:
    """The share of the question's term weight that a text's terms cover.

    Terms found only in the ``context`` (the interviewer's question the text answers) count
    half: an answer means what it answers, but says it less directly.
    """
    total = sum(weights.values())
    if not total:
        return 0.0
    covered = sum(
        w if _matches(t, terms) else CONTEXT_SHARE * w if _matches(t, context) else 0.0
        for t, w in weights.items()
    )
    return covered / total


@dataclass(frozen=True)
class SupportModel:
    """The fitted model and its two thresholds (module docstring)."""

    model: Logistic
    repair: float
    judge: float

    def probability(self, signals: Matrix) -> float:
        """P(the passage supports the claim)."""
        return self.model.probability(signals)


@lru_cache(maxsize=8)
def support_model(model_id: str) -> SupportModel:
    """The model fitted with this embedder, else the default embedder's (then uncalibrated)."""
    entry = trained_for(WEIGHTS, model_id)
    return SupportModel(Logistic.from_dict(entry), float(entry["repair"]), float(entry["judge"]))


def support_signals(
    embedder: Embedder, claim: str, passage: str, idf: Idf
) -> tuple[tuple[int, int], Matrix]:
    """The passage sentence that best matches the claim, and the ``SIGNALS`` about it."""
    spans = split_sentences(passage) or [(0, len(passage))]
    vectors = embedder.embed([claim, *(passage[s:e] for s, e in spans)])
    similarities = rescaled(vectors[1:] @ vectors[0], embedder.model_id)
    # "137 km long", "8 m tall": after a measurement, a dimension word restates the unit.
    restated = set(content_terms(" ".join(_DIMENSION.findall(claim))))
    weights = {t: idf(t) for t in content_terms(claim) if t not in restated}
    scores = [
        0.5 * float(similarity) + 0.5 * coverage(weights, set(content_terms(passage[s:e])))
        for (s, e), similarity in zip(spans, similarities, strict=True)
    ]
    best = int(np.argmax(scores))
    sentence = passage[slice(*spans[best])]
    names, words = 1.0, 1.0
    # Across writing systems a claim's words and names cannot be found as spelled (an English
    # claim about a Russian passage): only meaning, numbers and negation speak then.
    if script_of(claim) == script_of(passage):
        names = 1.0 - min(_missing_names(claim, passage), MAX_MISSING_NAMES) / MAX_MISSING_NAMES
        words = coverage(weights, set(content_terms(passage)))
    signals = [
        float(similarities[best]),
        float(similarities.max()),
        _numbers_stated(claim, passage),
        names,
        float(bool(_NEGATION.search(claim)) == bool(_NEGATION.search(sentence))),
        words,
    ]
    return spans[best], np.array(signals, dtype=np.float64)


def best_support(
    embedder: Embedder, claim: str, passage: Passage, idf: Idf
) -> tuple[tuple[int, int], float]:
    """The passage sentence that best supports the claim, and P(the passage supports it)."""
    span, signals = support_signals(embedder, claim, passage.text, idf)
    return span, support_model(embedder.model_id).probability(signals)


def _numbers_stated(claim: str, passage: str) -> float:
    """The share of the claim's numbers the passage states (1 when it has none).

    Embeddings blur "137 km" and "745 km": the fact a wrong citation most often gets wrong.
    """
    wanted = [n.replace(",", "").lower() for n in _NUMBER.findall(_ungrouped(claim))]
    if not wanted:
        return 1.0
    stated = {n.replace(",", "").lower() for n in _NUMBER.findall(_ungrouped(passage))}
    return sum(n in stated for n in wanted) / len(wanted)


def _ungrouped(text: str) -> str:
    return _GROUPED.sub(lambda m: re.sub(r"\D", "", m.group(0)), text)


def _missing_names(claim: str, passage: str) -> int:
    """How many proper names of the claim the passage never mentions ("Uzbek" vs "Turkmen")."""
    words = {w.lower() for w in re.findall(r"\w+", passage)}
    return sum(
        1
        for name in _NAME.findall(claim)
        for part in [name.lower().split("-")[0]]
        if not any(w.startswith(part[: MIN_PREFIX + 1]) for w in words)
    )
