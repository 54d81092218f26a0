"""What a question asks for: its content words and the kind of fact it wants."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

Kind = Literal["number", "date", "person", "reason", "other"]

_STOPWORDS = frozenset(
    (  # noqa: SIM905 - a word list reads better as text
        "a an the and or but if of to in on at by for with from about as into than then so "
        "is are was were be been being am do does did done have has had having will would "
        "shall should can could may might must it its it's this that these those there here "
        "what which who whom whose when where why how i you he she we they me him her us them "
        "my your his our their not no yes any some all each every much many more most very "
        "also just only own same too s t don doesn didn isn aren wasn weren tell say said "
        "please know"
    ).split()
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|hundred|hundreds|thousand|thousands|million|millions|billion|billions|dozen|half"
)
_HAS_NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I)
_MONTHS = r"january|february|march|april|may|june|july|august|september|october|november|december"
_HAS_DATE = re.compile(rf"\b(?:{_MONTHS})\b|\b(?:1[89]|20)\d\d\b|\b\d{{4}}-\d\d-\d\d\b", re.I)
_HAS_NAME = re.compile(r"\b[A-Z][a-z]+\s+[A-Z][a-z]+\b")
_KIND_PATTERNS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    (
        "date",
        re.compile(
            r"\bwhen\b|\bwhat (?:year|date|month|day)\b|\bwhich year\b|\bsince when\b|\bкогда\b",
            re.I,
        ),
    ),
    (
        "number",
        re.compile(
            r"\bhow (?:long|many|much|far|high|big|large|old|tall|wide|deep|often)\b|"
            r"\bwhat (?:is |was )?the "
            r"(?:length|number|size|height|population|amount|share|total)\b|"
            r"\bwhat percentage\b|\bсколько\b|\bкакова (?:длина|протяж)",
            re.I,
        ),
    ),
    ("person", re.compile(r"^\s*(?:who|whom|кто)\b|\bwho (?:is|was|are|were)\b", re.I)),
    ("reason", re.compile(r"^\s*(?:why|for what reason|почему|зачем)\b", re.I)),
)
_HAS_REASON = re.compile(
    r"\b(?:because|due to|since|as a result|reasons?|caus\w*|therefore|thanks to|owing to|"
    r"in order to|so that|driven by|explained by)\b",
    re.I,
)


@lru_cache(maxsize=1)
def _stemmer() -> object:
    import Stemmer

    return Stemmer.Stemmer("english")


def content_terms(text: str) -> list[str]:
    """Lower-cased, stemmed words that carry meaning (stop words dropped)."""
    words = [w.lower().replace("’", "'") for w in _WORD.findall(text)]
    words = [w.removesuffix("'s") for w in words if w not in _STOPWORDS]
    stems: list[str] = _stemmer().stemWords([w for w in words if w])  # type: ignore[attr-defined]
    return stems


def expected_kind(question: str) -> Kind:
    """The kind of fact a question asks for."""
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(question):
            return kind
    return "other"


def has_kind(sentence: str, kind: Kind) -> bool:
    """Whether a sentence contains a fact of the given kind."""
    if kind == "number":
        return bool(_HAS_NUMBER.search(sentence))
    if kind == "date":
        return bool(_HAS_DATE.search(sentence))
    if kind == "person":
        return bool(_HAS_NAME.search(sentence))
    if kind == "reason":
        return bool(_HAS_REASON.search(sentence))
    return True


def topic_terms(question: str) -> list[str]:
    """Content terms without the words that only say what kind of fact is wanted.

    In "How long is the border?" the topic is the border; "long" asks for a number, and
    matching it against "longest" elsewhere would reward the wrong sentence.
    """
    for _, pattern in _KIND_PATTERNS:
        question = pattern.sub(" ", question)
    return content_terms(question)
