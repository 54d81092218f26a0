"""The replay scorer's bookkeeping, and the replay and support sets' own consistency."""

import json
from pathlib import Path

from rag.evaluation.replay import Replay, Sentence, read_replay, score
from rag.retrieval.passages import Passage

ROOT = Path(__file__).resolve().parent.parent
PASSAGES = (
    Passage(1, "c1", "The bridge has 19 arches. It opened in 1911.", {}, 0.0),
    Passage(2, "c2", "The tower is 42 metres tall.", {}, 0.0),
    Passage(3, "c3", "The ferry runs every hour.", {}, 0.0),
)


def substring_judge(claim: str, passage: Passage) -> tuple[tuple[int, int], float]:
    """Support exactly when the claim (without its full stop) is in the passage."""
    found = passage.text.find(claim.rstrip("."))
    return ((max(found, 0), max(found, 0) + len(claim)), 1.0 if found >= 0 else 0.0)


def sentence(text: str, cited: set[int], verdict: str, correct: set[int]) -> Sentence:
    return Sentence(text, frozenset(cited), verdict, frozenset(correct))


def test_each_verdict_is_checked_against_what_the_user_gets() -> None:
    item = Replay(
        "r-1",
        "Tell me about the bridge and the tower.",
        PASSAGES,
        "The bridge has 19 arches [1]. The tower is 42 metres tall [3]. "
        "The castle has a moat [2]. The ferry runs every hour.",
        (
            sentence("The bridge has 19 arches.", {1}, "keep", {1}),
            sentence("The tower is 42 metres tall.", {3}, "move", {2}),
            sentence("The castle has a moat.", {2}, "drop", set()),
            # Labelled wrongly on purpose: the judge finds it, so a "drop" label is missed.
            sentence("The ferry runs every hour.", set(), "drop", set()),
        ),
    )
    result = score([item], substring_judge, 0.5, 0.5)
    assert result["kept_intact"] == 1.0 and result["corrected"] == 1.0
    assert result["dropped"] == 0.5 and result["counts"]["drop"] == {"right": 1, "of": 2}
    assert [m["sentence"] for m in result["misses"]] == ["The ferry runs every hour."]
    assert result["misses"][0]["delivered"] == [3]  # in the model's numbering, not the user's


def test_an_answer_nothing_supports_delivers_nothing() -> None:
    item = Replay(
        "r-2",
        "q",
        PASSAGES,
        "The castle has a moat [1].",
        (sentence("The castle has a moat.", {1}, "drop", set()),),
    )
    assert score([item], substring_judge, 0.5, 0.5)["dropped"] == 1.0


def test_the_shipped_sets_are_consistent() -> None:
    replay = read_replay(ROOT / "eval" / "replay" / "answers.jsonl")
    assert len(replay) >= 100 and sum(len(r.sentences) for r in replay) >= 350
    for item in replay:
        numbers = {p.rank for p in item.passages}
        for s in item.sentences:
            assert s.correct <= numbers and (s.verdict == "drop") == (not s.correct)
            assert (s.verdict == "keep") == (s.cited == s.correct and bool(s.correct))
    pairs = [
        json.loads(line)
        for line in (ROOT / "eval" / "support" / "pairs.jsonl").read_text().splitlines()
    ]
    negatives = sum(not p["label"] for p in pairs)
    assert len(pairs) >= 300 and negatives >= len(pairs) / 3
    assert {p["split"] for p in pairs} == {"train", "test"}
