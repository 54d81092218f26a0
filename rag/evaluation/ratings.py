"""Users' judgement of an answer beside the judge's, for rows made from ratings.

A row from ``rag eval --from-feedback`` carries the answer users rated. The judge scores that
same answer (not a new one), so the two verdicts are about the same text:

- A citation's user verdict is its latest explicit rating (``supports`` / ``unsupported``);
  citations users did not rate have none and are not compared.
- The judge's verdict on a citation is ``supports`` when the passage alone supports every
  sentence that cites it, ``unsupported`` otherwise.
- Agreement: share of user-rated citations where the two verdicts match.
"""

from __future__ import annotations

from typing import Any

from rag.evaluation.metrics import Judge, citation_score
from rag.text import split_claims


def judge_rated(feedback: dict[str, Any], judge: Judge) -> dict[str, Any]:
    """The judge's verdicts on the rated answer, beside the users' (see the module)."""
    answer = feedback.get("answer") or {}
    text = str(answer.get("answer", ""))
    passages = {int(c["n"]): str(c["text"]) for c in answer.get("citations", [])}
    users = {int(n): r for n, r in (feedback.get("citations") or {}).items()}
    claims = split_claims(text)
    citations = []
    for n, passage in passages.items():
        sentences = [sentence for sentence, numbers in claims if n in numbers]
        alone = bool(sentences) and all(judge(s, [passage]) for s in sentences)
        citations.append(
            {"n": n, "user": users.get(n), "judge": "supports" if alone else "unsupported"}
        )
    rated = [c for c in citations if c["user"] in ("supports", "unsupported")]
    result: dict[str, Any] = {
        "rating": feedback.get("rating"),
        "citations": citations,
        "citations_rated": len(rated),
        "citations_agreed": sum(c["user"] == c["judge"] for c in rated),
    }
    if answer.get("answerable") and passages:
        score = citation_score(text, passages, judge)
        result["citation_recall"] = score.recall
        result["citation_precision"] = score.precision
    return result


def rating_scores(judged: dict[str, Any], current_answer: str, rated_answer: str) -> dict[str, Any]:
    """The per-row scores ``summarise`` pools over rows made from ratings."""
    scores: dict[str, Any] = {
        "citations_rated": judged["citations_rated"],
        "citations_agreed": judged["citations_agreed"],
        "flags": sum(c["user"] == "unsupported" for c in judged["citations"]),
        "answer_changed": float(current_answer != rated_answer),
    }
    if judged["rating"] in ("helpful", "not_helpful"):
        scores["user_helpful"] = float(judged["rating"] == "helpful")
    if "citation_recall" in judged:
        scores["rated_citation_recall"] = judged["citation_recall"]
        scores["rated_citation_precision"] = judged["citation_precision"]
    return scores
