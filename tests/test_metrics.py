"""Evaluation metrics on hand-computed cases, ALCE's precision edge cases among them."""

from collections.abc import Sequence

import pytest

from rag.evaluation.metrics import (
    answer_contains,
    citation_score,
    first_hit,
    recall_at_k,
    reciprocal_rank,
    token_f1,
)


def judge_from(rules: dict[str, list[set[str]]]):  # type: ignore[no-untyped-def]
    """A hand-labelled judge: a claim is supported when the given passages include one of its sets."""

    def judge(claim: str, passages: Sequence[str]) -> bool:
        return any(needed <= set(passages) for needed in rules.get(claim, []))

    return judge


JUDGE = judge_from({"A.": [{"pA"}], "B.": [{"pB1", "pB2"}], "C.": []})


@pytest.mark.parametrize(
    ("answer", "passages", "recall", "precision"),
    [
        ("A. [1]", {1: "pA"}, 1.0, 1.0),  # one citation that supports
        ("A. [1][2]", {1: "pA", 2: "pX"}, 1.0, 0.5),  # one of two suffices: the other is irrelevant
        ("A. [2][1]", {1: "pA", 2: "pX"}, 1.0, 0.5),  # order does not matter
        ("B. [1][2]", {1: "pB1", 2: "pB2"}, 1.0, 1.0),  # both needed together: both relevant
        ("C. [1]", {1: "pA"}, 0.0, 0.0),  # unsupported sentence: its citation counts against
        ("A. [3]", {1: "pA"}, 0.0, 0.0),  # a number that points at nothing
        ("A.", {1: "pA"}, 0.0, 0.0),  # no citation at all
        ("A. [1] C. [2]", {1: "pA", 2: "pA"}, 0.5, 0.5),  # sentence-wise mean; 1 of 2 relevant
        ("A. [1][1]", {1: "pA"}, 1.0, 1.0),  # a repeated marker is one citation
    ],
)
def test_alce_citation_recall_and_precision(
    answer: str, passages: dict[int, str], recall: float, precision: float
) -> None:
    score = citation_score(answer, passages, JUDGE)
    assert (score.recall, score.precision) == (recall, precision)


def test_verdicts_say_which_citations_were_relevant() -> None:
    score = citation_score("A. [1][2] C. [1]", {1: "pA", 2: "pX"}, JUDGE)
    first, second = score.sentences
    assert first.cited == (1, 2) and first.supported and first.relevant == (1,)
    assert second.cited == (1,) and not second.supported and second.relevant == ()
    assert score.precision == pytest.approx(1 / 3)


def test_retrieval_ranks_recall_and_mrr() -> None:
    passages = ["Nothing here.", "The Uzbek-Afghan   border of\n137 km, it says.", "137 km again"]
    rank = first_hit(passages, ["uzbek-afghan border of 137 km"])
    assert rank == 2
    assert (recall_at_k(rank, 1), recall_at_k(rank, 3), reciprocal_rank(rank)) == (0.0, 1.0, 0.5)
    assert first_hit(passages, ["absent"]) is None and reciprocal_rank(None) == 0.0


def test_token_f1_and_containment() -> None:
    assert token_f1("The border is 137 km long.", "137 km") == pytest.approx(2 * 0.4 * 1.0 / 1.4)
    assert token_f1("137 km", "137 km") == 1.0
    assert token_f1("nothing alike", "137 km") == 0.0
    assert answer_contains("It is 137  KM long.", "137 km")
    assert not answer_contains("It is 745 km long.", "137 km")
