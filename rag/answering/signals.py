"""What the offline answerer knows about one candidate sentence: the decision model's inputs.

Each signal is cheap (the sentence vectors come from the store, built at ingest) and each
says something the others cannot: meaning (dense similarity, also relative to the best and
the mean candidate of the same script, which transfers across embedders and languages whose
scales differ), wording (rarity-weighted coverage of the question's terms, the section's
heading counting half; of the terms that say what is asked rather than name the thing; of
the rarest term), how much of the question the store's vocabulary knows, the kind of fact
asked for (a quantity is not an ordinal or a year) and its unit (a length in km, aid in
dollars), the names the question insists on, where retrieval ranked the passage, and whether
the question is about the document itself and the candidate is a line of its header.
"""

from __future__ import annotations

import math
import re

import numpy as np

from rag.answering.support import coverage
from rag.text import Kind, content_terms, has_kind, has_unit, script_of

FEATURES = (
    "dense",
    "dense_gap",
    "dense_z",
    "coverage",
    "attribute",
    "rarest",
    "known",
    "attribute_known",
    "kind_asked",
    "kind_match",
    "unit_match",
    "names",
    "rank",
    "document_question",
    "header_for_document",
)
_DOCUMENT_QUESTION = re.compile(
    r"\b(?:article|interview\w*|story|report|page|document|piece|faq|manual|publish\w*|"
    r"written|wrote|writer|author\w*|translat\w*|outlet|newspaper|magazine|byline|edit\w*|"
    r"prepared|issued|revision|updated|reporter|journalist|title[ds]?|"
    r"стать\w*|интервью|опублик\w*|автор\w*|перев\w*|беседова\w*|журналист\w*|издани\w*|"
    r"газет\w*|документ\w*|отч[её]т\w*|обновл\w*|заголов\w*)\b",
    re.I,
)
_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-ZА-ЯЁ][\w-]{2,}|\b[A-ZА-ЯЁ]{2,}\b")


def about_document(question: str) -> bool:
    """Whether the question asks about the document itself (its date, author, outlet...)."""
    return bool(_DOCUMENT_QUESTION.search(question))


def question_names(question: str) -> set[str]:
    """Stems of the names (capitalised words past the first) a question insists on."""
    return {t for name in _NAME.findall(question.strip()) for t in content_terms(name)}


def signals(
    *,
    dense: np.ndarray,
    texts: list[str],
    contexts: list[str],
    ranks: list[int],
    headers: list[bool],
    weights: dict[str, float],
    known: set[str],
    kind: Kind,
    unit: str | None,
    names: set[str],
    document_question: bool,
) -> np.ndarray:
    """One row of ``FEATURES`` per candidate (all candidates of one question at once)."""
    rows = []
    # Similarity is compared within each script: a multilingual embedder scores text in the
    # question's own language higher, so a Russian answer to an English question would lose
    # to every English sentence if compared across.
    scripts = [script_of(t) for t in texts]
    groups: dict[str, tuple[float, float, float]] = {}
    for script in set(scripts):
        values = np.array([d for d, s in zip(dense, scripts, strict=True) if s == script])
        spread = float(values.std()) if len(values) > 1 else 1.0
        groups[script] = (float(values.max()), float(values.mean()), max(spread, 1e-6))
    rarest = max(weights, key=lambda t: weights[t]) if weights else None
    # What is asked about a thing, apart from the thing: in "the height of the bridge" the
    # bridge is everywhere in a document about it; only "height" tells the answer from a
    # near miss (its length).
    attributes = {t: w for t, w in weights.items() if not any(t.startswith(n[:5]) for n in names)}
    # Words the store has never seen ("capital", "population" over a border interview) mean
    # the documents do not speak of it, unless the question paraphrases.
    topic = list(weights)
    known_share = sum(t in known for t in topic) / len(topic) if topic else 1.0
    attribute_total = sum(attributes.values())
    attribute_known = (
        sum(w for t, w in attributes.items() if t in known) / attribute_total
        if attribute_total
        else 1.0
    )
    for i, text in enumerate(texts):
        terms = set(content_terms(text))
        context = set(content_terms(contexts[i]))
        present = terms | context
        named = sum(1 for n in names if any(t.startswith(n[:5]) for t in present))
        kind_present = kind != "other" and has_kind(text, kind)
        best, mean, spread = groups[scripts[i]]
        rows.append(
            (
                float(dense[i]),
                float(dense[i]) - best,
                (float(dense[i]) - mean) / spread,
                coverage(weights, terms, context),
                coverage(attributes, terms, context) if attributes else 1.0,
                1.0 if rarest is not None and coverage({rarest: 1.0}, present) > 0 else 0.0,
                known_share,
                attribute_known,
                0.0 if kind == "other" else 1.0,
                1.0 if kind_present else 0.0 if kind == "other" else -1.0,
                0.0 if unit is None else 1.0 if has_unit(text, unit) else -1.0,
                named / len(names) if names else 1.0,
                1.0 / math.sqrt(ranks[i]),
                1.0 if document_question else 0.0,
                1.0 if headers[i] and document_question else 0.0,
            )
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(texts), len(FEATURES))
