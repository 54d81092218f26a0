"""Evaluation metrics, each defined exactly as documented here.

- A passage *contains* gold evidence when the evidence, whitespace-normalised and
  case-folded, is a substring of the passage, normalised the same way.
- recall@k: 1 if a passage containing any gold evidence is among the first k, else 0.
  MRR: 1 / rank of the first such passage (0 when none is retrieved).
- token F1: SQuAD's: lower-cased, punctuation and English articles removed, F1 of the
  multisets of tokens. Containment: the normalised reference is a substring of the answer.
- Citation recall and precision follow ALCE (Gao et al. 2023). The answer is split into
  sentences, each with the passage numbers it cites. A sentence's recall is 1 when it cites at
  least one passage, every cited number exists, and the cited passages together support it.
  A citation is relevant when its sentence is supported and either the citation alone
  supports the sentence or the sentence's other citations together do not; citations of a
  number that does not exist, and all citations of an unsupported sentence, are irrelevant.
  An answer's citation recall is the mean over its sentences; its precision is relevant
  citations / all citations (0 when it cites nothing). Declined answers are not scored.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from rag.text import split_claims

Judge = Callable[[str, Sequence[str]], bool]
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation + "“”‘’–—…")


def normalise(text: str) -> str:
    """Whitespace collapsed and case folded, for containment checks."""
    return " ".join(text.split()).casefold()


def contains(passage: str, evidence: str) -> bool:
    """Whether the passage holds the evidence text."""
    return normalise(evidence) in normalise(passage)


def first_hit(passages: Sequence[str], evidence: Sequence[str]) -> int | None:
    """1-based rank of the first passage holding any of the evidence, else None."""
    for rank, passage in enumerate(passages, 1):
        if any(contains(passage, e) for e in evidence):
            return rank
    return None


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of non-empty values (p50 is the median's rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def recall_at_k(rank: int | None, k: int) -> float:
    """1.0 when the first hit is within the first k."""
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None) -> float:
    """1 / rank, or 0 when nothing was hit."""
    return 1.0 / rank if rank else 0.0


def _tokens(text: str) -> list[str]:
    return _ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split()


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 between an answer and a reference answer."""
    predicted, wanted = _tokens(prediction), _tokens(reference)
    if not predicted or not wanted:
        return float(predicted == wanted)
    common = sum((Counter(predicted) & Counter(wanted)).values())
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def answer_contains(prediction: str, reference: str) -> bool:
    """Whether the normalised reference answer appears in the answer."""
    return normalise(reference) in normalise(prediction)


@dataclass(frozen=True)
class SentenceVerdict:
    """How one answer sentence and its citations were judged."""

    sentence: str
    cited: tuple[int, ...]
    supported: bool
    relevant: tuple[int, ...] = ()


@dataclass(frozen=True)
class CitationScore:
    """An answer's ALCE citation recall and precision, with the verdicts behind them."""

    recall: float
    precision: float
    sentences: tuple[SentenceVerdict, ...] = field(default_factory=tuple)


def citation_score(answer: str, passages: Mapping[int, str], judge: Judge) -> CitationScore:
    """ALCE citation recall and precision of one answer (see the module docstring)."""
    verdicts = []
    relevant_total = cited_total = 0
    for sentence, numbers in split_claims(answer):
        cited = tuple(dict.fromkeys(numbers))
        known = [n for n in cited if n in passages]
        supported = bool(cited) and len(known) == len(cited)
        supported = supported and judge(sentence, [passages[n] for n in known])
        relevant: list[int] = []
        if supported:
            for n in known:
                others = [passages[m] for m in known if m != n]
                alone = judge(sentence, [passages[n]])
                if alone or not (others and judge(sentence, others)):
                    relevant.append(n)
        verdicts.append(SentenceVerdict(sentence, cited, supported, tuple(relevant)))
        relevant_total += len(relevant)
        cited_total += len(cited)
    if not verdicts:
        return CitationScore(0.0, 0.0)
    recall = sum(v.supported for v in verdicts) / len(verdicts)
    precision = relevant_total / cited_total if cited_total else 0.0
    return CitationScore(recall, precision, tuple(verdicts))
