"""Running a dataset through the pipeline and scoring every answer (``rag eval``).

Dataset fields read, all optional but ``question``: ``history``, ``answerable`` (false for a
question the documents do not answer; default true, unknown for rows made from ratings),
``reference`` (a short answer), ``evidence`` (list of verbatim gold passages' text), ``id``,
``kind``, ``feedback`` (what users said of an earlier answer: ``rag.feedback.Rated``).
Metrics that need a field are computed over the rows that have it; the README defines them.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from rag.answer import Answer, markers
from rag.errors import QuestionError
from rag.evaluation.answers import Answers
from rag.evaluation.dataset import Item
from rag.evaluation.metrics import (
    Judge,
    answer_contains,
    citation_score,
    contains,
    first_hit,
    percentile,
    recall_at_k,
    reciprocal_rank,
    token_f1,
)
from rag.evaluation.ratings import judge_rated, rating_scores
from rag.pipeline import Pipeline
from rag.settings import Settings


def _texts(pipeline: Pipeline, ids: list[str]) -> list[str]:
    found = pipeline.store.get(ids)
    return [found[i][0] if i in found else "" for i in ids]


def score_item(pipeline: Pipeline, item: Item, judge: Judge) -> dict[str, Any]:
    """One output row: the input fields, the answer object, ``scores`` and ``verdicts``."""
    if item.error:
        return {**item.fields, "line": item.line, "error": item.error}
    try:
        answer = pipeline.ask(item.question, item.history)
    except QuestionError as exc:
        return {**item.fields, "line": item.line, "error": str(exc)}
    read = _texts(pipeline, list(answer.retrieved))
    return score_answer(item, answer, read, judge, pipeline.settings.answer_k)


def score_given(item: Item, answers: Answers, judge: Judge, k: int) -> dict[str, Any]:
    """The row for an answer given in a file instead of asked here."""
    if item.error:
        return {**item.fields, "line": item.line, "error": item.error}
    given = answers.find(item.fields)
    if given is None:
        return {
            **item.fields,
            "line": item.line,
            "error": "no answer to this question in the answers file (matched by id, then "
            "by question)",
        }
    return score_answer(item, given.answer, list(given.passages), judge, k)


def score_answer(
    item: Item, answer: Answer, read: list[str], judge: Judge, k: int
) -> dict[str, Any]:
    """Scores of one answer to an item, ``read`` being the texts of the passages it read."""
    fields = item.fields
    feedback = fields.get("feedback") if isinstance(fields.get("feedback"), dict) else None
    answerable = fields.get("answerable", None if feedback else True)
    if answerable is not None:
        answerable = answerable is not False
    evidence = [str(e) for e in fields.get("evidence") or []]
    reference = fields.get("reference")
    scores: dict[str, Any] = {"answerable": answerable, "declined": not answer.answerable}
    if evidence:
        rank = first_hit(read, evidence)
        scores.update(
            {
                "rank": rank,
                "recall@1": recall_at_k(rank, 1),
                "recall@3": recall_at_k(rank, 3),
                f"recall@{k}": recall_at_k(rank, k),
                "mrr": reciprocal_rank(rank),
            }
        )
    if answerable and isinstance(reference, str) and answer.answerable:
        scores["token_f1"] = token_f1(answer.answer, reference)
        scores["contains_reference"] = float(answer_contains(answer.answer, reference))
    elif answerable and isinstance(reference, str):
        scores["token_f1"] = scores["contains_reference"] = 0.0
    verdicts: list[dict[str, Any]] = []
    if answer.answerable:
        cited = citation_score(answer.answer, {c.n: c.text for c in answer.citations}, judge)
        scores["citation_recall"] = cited.recall
        scores["citation_precision"] = cited.precision
        verdicts = [
            {
                "sentence": v.sentence,
                "cited": list(v.cited),
                "supported": v.supported,
                "relevant": list(v.relevant),
            }
            for v in cited.sentences
        ]
        if evidence:
            # Only passages a marker names: an answer from a file may list more than it cites.
            named = set(markers(answer.answer))
            scores["gold_cited"] = float(
                any(contains(c.text, e) for c in answer.citations if c.n in named for e in evidence)
            )
    row = {**fields, **answer.to_dict(), "scores": scores, "verdicts": verdicts}
    if feedback:
        judged = judge_rated(feedback, judge)
        rated_text = str((feedback.get("answer") or {}).get("answer", ""))
        scores.update(rating_scores(judged, answer.answer, rated_text))
        row["judged_rating"] = judged
    return row


def _mean(
    rows: list[dict[str, Any]], key: str, where: Callable[[dict[str, Any]], bool]
) -> float | None:
    values = [float(r["scores"][key]) for r in rows if key in r["scores"] and where(r["scores"])]
    return round(statistics.fmean(values), 4) if values else None


def _percentile(values: list[float], p: float) -> float | None:
    return round(percentile(values, p), 2) if values else None


def _every(scores: dict[str, Any]) -> bool:
    return True


def _answerable(scores: dict[str, Any]) -> bool:
    return scores["answerable"] is True


def _answered(scores: dict[str, Any]) -> bool:
    return not scores["declined"]


def summarise(rows: list[dict[str, Any]], k: int) -> dict[str, Any]:
    """Dataset-level metrics from scored rows (rows with an error are counted, not scored)."""
    scored = [r for r in rows if "scores" in r]
    decl_right = [r["scores"]["declined"] for r in scored if r["scores"]["answerable"] is False]
    decl_wrong = [r["scores"]["declined"] for r in scored if _answerable(r["scores"])]
    # Answers read from a file may carry no timings: only measured ones count.
    timed = [r for r in scored if float(r["timings"]["total_ms"]) > 0]
    totals = [float(r["timings"]["total_ms"]) for r in timed]
    metrics: dict[str, Any] = {
        "questions": len(rows),
        "errors": len(rows) - len(scored),
        "recall@1": _mean(scored, "recall@1", _every),
        "recall@3": _mean(scored, "recall@3", _every),
        f"recall@{k}": _mean(scored, f"recall@{k}", _every),
        "mrr": _mean(scored, "mrr", _every),
        "token_f1": _mean(scored, "token_f1", _answerable),
        "contains_reference": _mean(scored, "contains_reference", _answerable),
        "correct_declines": round(sum(decl_right) / len(decl_right), 4) if decl_right else None,
        "wrong_declines": round(sum(decl_wrong) / len(decl_wrong), 4) if decl_wrong else None,
        "citation_recall": _mean(scored, "citation_recall", _answered),
        "citation_precision": _mean(scored, "citation_precision", _answered),
        "gold_citation_recall": _mean(scored, "gold_cited", _answered),
        **_ratings(scored),
        "latency_total_p50_ms": _percentile(totals, 50),
        "latency_total_p95_ms": _percentile(totals, 95),
        "latency_retrieve_p50_ms": _percentile(
            [float(r["timings"]["retrieve_ms"]) for r in timed], 50
        ),
        "latency_generate_p50_ms": _percentile(
            [float(r["timings"]["generate_ms"]) for r in timed], 50
        ),
    }
    return metrics


def _ratings(scored: list[dict[str, Any]]) -> dict[str, Any]:
    """Users' judgement beside the judge's, over rows made from ratings (none: nothing)."""
    rated = [r for r in scored if "citations_rated" in r["scores"]]
    if not rated:
        return {}
    compared = sum(r["scores"]["citations_rated"] for r in rated)
    agreed = sum(r["scores"]["citations_agreed"] for r in rated)
    return {
        "rated_answers": len(rated),
        "users_helpful": _mean(rated, "user_helpful", _every),
        "users_flagged_citations": sum(r["scores"]["flags"] for r in rated),
        "rated_citation_recall": _mean(rated, "rated_citation_recall", _every),
        "rated_citation_precision": _mean(rated, "rated_citation_precision", _every),
        "user_judge_agreement": round(agreed / compared, 4) if compared else None,
        "rated_answers_changed": _mean(rated, "answer_changed", _every),
    }


def failed(row: dict[str, Any]) -> bool:
    """Whether a row shows a failure worth reading first."""
    s = row.get("scores")
    if s is None:
        return True
    if s["answerable"] == s["declined"]:
        return True
    if (
        s.get("user_helpful") == 0.0
        or s.get("flags")
        or s.get("citations_agreed", 0) < s.get("citations_rated", 0)
    ):
        return True
    return any(
        s.get(key, 1.0) < 1.0
        for key in ("contains_reference", "citation_recall", "citation_precision", "gold_cited")
    )


def evaluate(
    settings: Settings,
    items: list[Item],
    judge: str = "offline",
    on_item: Callable[[], None] = lambda: None,
    answers: Answers | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Answer and score every item over the store the settings name: rows and metrics.

    ``judge`` says who decides whether a cited passage supports a sentence: ``offline``, the
    support judge (``rag.answering.support``), or ``llm``, the configured language model.
    With ``answers`` (read from a file), those are scored and nothing is asked, so no store
    is needed: the judge weighs words by their rarity in the answers' own passages. The
    file's bad lines come first among the rows.
    """
    from rag.embeddings import embedder_for
    from rag.evaluation.judges import LLMJudge, OfflineJudge

    k = settings.answer_k
    rows: list[dict[str, Any]] = []
    verdict: Judge
    if answers is not None:
        rows += answers.errors
        verdict = (
            LLMJudge(settings)
            if judge == "llm"
            else OfflineJudge(embedder_for(settings), answers.idf())
        )
        for item in items:
            rows.append(score_given(item, answers, verdict, k))
            on_item()
        # The file's bad lines are reported, not counted as questions.
        return rows, summarise([r for r in rows if "file" not in r], k)
    with Pipeline.open(settings) as pipeline:
        verdict = (
            LLMJudge(settings)
            if judge == "llm"
            else OfflineJudge(pipeline.store.embedder, pipeline.retriever.idf)
        )
        for item in items:
            rows.append(score_item(pipeline, item, verdict))
            on_item()
    return rows, summarise(rows, k)
