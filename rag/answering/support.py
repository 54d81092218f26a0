"""How well a passage supports a claim: the judge behind citation repair.

Offline and cheap: the best passage sentence by embedding similarity mixed with how much of
the claim's (rarity-weighted) wording it covers. It cannot do logic, but it reliably tells a
claim drawn from a passage from one drawn from elsewhere, which is what citation repair needs.
"""

from __future__ import annotations

import re

import numpy as np

from rag.embeddings import rescaled
from rag.embeddings.base import Embedder
from rag.retrieval.passages import Passage
from rag.text import NUMBER_WORDS, Idf, content_terms, split_sentences

# A claim scoring at least this against a passage counts as drawn from it. In
# tests/test_citations.py paraphrases of a passage's sentences score 0.6-1.0 against it and
# claims about other passages' facts score below 0.35 once their numbers and names count.
SUPPORT_MIN = 0.45
MISSING_NUMBER_PENALTY = 0.3
MISSING_NAME_PENALTY = 0.3
_NUMBER = re.compile(rf"\d+(?:[.,]\d+)*|\b(?:{'|'.join(NUMBER_WORDS)})\b", re.I)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-ZА-ЯЁ][\w-]{2,}")
MIN_PREFIX = 4  # "Turkmen" matches "Turkmenistan", "jealous" matches "jealousy"
CONTEXT_SHARE = 0.5


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


def best_support(
    embedder: Embedder, claim: str, passage: Passage, idf: Idf
) -> tuple[tuple[int, int], float]:
    """The passage sentence that best supports the claim, and the support score (0..1)."""
    spans = split_sentences(passage.text) or [(0, len(passage.text))]
    vectors = embedder.embed([claim, *(passage.text[s:e] for s, e in spans)])
    similarities = rescaled(vectors[1:] @ vectors[0], embedder.model_id)
    weights = {t: idf(t) for t in content_terms(claim)}
    scores = [
        0.5 * float(similarity) + 0.5 * coverage(weights, set(content_terms(passage.text[s:e])))
        for (s, e), similarity in zip(spans, similarities, strict=True)
    ]
    best = int(np.argmax(scores))
    return spans[best], scores[best] - _mismatch(claim, passage.text)


def _mismatch(claim: str, passage: str) -> float:
    """Penalty for numbers and names the claim states but the passage never mentions.

    Embeddings blur "137 km" and "745 km", "Uzbek" and "Turkmen": the facts a wrong citation
    gets wrong. A claim's numbers and proper names must all be in the passage it cites.
    """
    numbers = {n.replace(",", "").lower() for n in _NUMBER.findall(passage)}
    penalty = 0.0
    if any(n.replace(",", "").lower() not in numbers for n in _NUMBER.findall(claim)):
        penalty += MISSING_NUMBER_PENALTY
    words = {w.lower() for w in re.findall(r"\w+", passage)}
    missing = [
        name
        for name in _NAME.findall(claim)
        for part in [name.lower().split("-")[0]]
        if not any(w.startswith(part[: MIN_PREFIX + 1]) for w in words)
    ]
    return penalty + MISSING_NAME_PENALTY * min(len(missing), 2)
