"""The support judges: the offline one against hand labels, the LLM one against a real server."""

import json
from pathlib import Path

import pytest

from rag.evaluation.judges import LLMJudge, OfflineJudge
from rag.retrieval.hybrid import HybridRetriever
from rag.settings import Settings
from rag.store import Store

LABELS = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "support_labels.jsonl").read_text().splitlines()
    if line.strip()
]


def test_offline_judge_agrees_with_hand_labels(article_store: Store) -> None:
    judge = OfflineJudge(article_store.embedder, HybridRetriever(store=article_store).idf)
    verdicts = [judge(row["claim"], [row["passage"]]) for row in LABELS]
    agree = sum(v == row["label"] for v, row in zip(verdicts, LABELS, strict=True))
    wrong = [
        (row["claim"], judge.score(row["claim"], [row["passage"]]))
        for v, row in zip(verdicts, LABELS, strict=True)
        if v != row["label"]
    ]
    positives = sum(row["label"] for row in LABELS)
    print(
        f"\noffline judge: agreement {agree}/{len(LABELS)} = {agree / len(LABELS):.2f} ({positives} supported, {len(LABELS) - positives} not)"
    )
    print("disagreements:", wrong)
    assert len(LABELS) >= 40 and 0.4 <= positives / len(LABELS) <= 0.6
    assert agree / len(LABELS) >= 0.85


def test_passages_support_together_what_neither_does_alone(article_store: Store) -> None:
    judge = OfflineJudge(article_store.embedder, HybridRetriever(store=article_store).idf)
    claim = (
        "Tajikistan's Afghan border exceeds 1300 kilometers and the Uzbek-Afghan border is 137 km."
    )
    tajik = "In the case of Tajikistan, its length exceeds 1300 kilometers."
    uzbek = "Compared with the Uzbek-Afghan border of 137 km, more resources are required."
    assert not judge(claim, [tajik]) and not judge(claim, [uzbek])
    assert judge(claim, [tajik, uzbek])


@pytest.mark.server
def test_llm_judge_answers_through_the_openai_protocol(llm_server: str) -> None:
    judge = LLMJudge(Settings(llm_base_url=llm_server, llm_model="smollm2", llm_timeout=60))
    verdict = judge("The sky is green.", ["The sky is green."])
    assert isinstance(verdict, bool)  # the tiny model's verdict itself is not the point
