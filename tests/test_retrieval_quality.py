"""Recall of the hybrid retriever on questions about the article, written for this test."""

import json
from pathlib import Path

from rag.retrieval.hybrid import HybridRetriever
from rag.store import Store

QUESTIONS = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "retrieval_questions.jsonl")
    .read_text()
    .splitlines()
    if line.strip()
]


def normalise(text: str) -> str:
    return " ".join(text.split())


def first_hit(retriever: HybridRetriever, question: str, evidence: str) -> int | None:
    documents = retriever.invoke(question)
    for rank, document in enumerate(documents, 1):
        if normalise(evidence) in normalise(document.page_content):
            return rank
    return None


def test_hybrid_recall_on_article_questions(article_store: Store) -> None:
    assert len(QUESTIONS) >= 20
    retriever = HybridRetriever(store=article_store, k=3)
    ranks = [first_hit(retriever, q["question"], q["evidence"]) for q in QUESTIONS]
    recall_1 = sum(r == 1 for r in ranks) / len(ranks)
    recall_3 = sum(r is not None for r in ranks) / len(ranks)
    misses = [q["question"] for q, r in zip(QUESTIONS, ranks, strict=True) if r != 1]
    print(
        f"\nhybrid retrieval over {len(ranks)} questions: recall@1 {recall_1:.2f}, recall@3 {recall_3:.2f}"
    )
    print("not first:", misses)
    assert recall_3 >= 0.95
    assert recall_1 >= 0.8


def test_retriever_honours_k_and_returns_scored_passages(article_store: Store) -> None:
    retriever = HybridRetriever(store=article_store, k=4)
    documents = retriever.invoke("ISIS recruitment in Central Asia")
    assert len(documents) == 4
    scores = [d.metadata["score"] for d in documents]
    assert scores == sorted(scores, reverse=True)
    assert len(retriever.invoke("ISIS", k=2)) == 2
    for d in documents:
        assert d.id == d.metadata["id"]
        assert {"start", "end", "source", "title"} <= set(d.metadata)


def test_blank_query_returns_nothing(article_store: Store) -> None:
    assert HybridRetriever(store=article_store).invoke("   ") == []
