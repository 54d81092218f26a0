"""`rag eval` end to end: scored results, metrics, the HTML report, comparisons, thresholds."""

import base64
import json
import re
from pathlib import Path

from tests.conftest import ROOT
from tests.helpers import rag

DATASET = ROOT / "eval" / "sternik.jsonl"


def test_the_shipped_dataset_is_complete() -> None:
    rows = [json.loads(line) for line in DATASET.read_text().splitlines() if line.strip()]
    kinds = {r["kind"] for r in rows}
    assert len(rows) >= 40
    assert {
        "number",
        "date",
        "person",
        "fact",
        "reason",
        "unanswerable",
        "follow-up",
        "russian",
    } <= kinds
    assert all(r.get("evidence") for r in rows if r.get("answerable", True))


def test_eval_writes_results_metrics_and_a_report(tmp_path: Path) -> None:
    assert rag("ingest").returncode == 0
    out, metrics_path, report = tmp_path / "r.jsonl", tmp_path / "m.json", tmp_path / "report.html"
    result = rag(
        "eval",
        str(DATASET),
        "--out",
        str(out),
        "--metrics",
        str(metrics_path),
        "--report",
        str(report),
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 40 and all("scores" in r for r in rows)
    metrics = json.loads(metrics_path.read_text())
    for name in (
        "recall@1",
        "recall@3",
        "mrr",
        "token_f1",
        "contains_reference",
        "correct_declines",
        "wrong_declines",
        "citation_recall",
        "citation_precision",
        "gold_citation_recall",
        "latency_total_p50_ms",
    ):
        assert metrics[name] is not None, name
    assert "citation_recall" in result.stdout and "Answered 40 of 40" in result.stdout
    page = report.read_text()
    for section in ('id="metrics"', 'id="plots"', 'id="questions"'):
        assert section in page
    images = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert len(images) == 2 and all(base64.b64decode(i).startswith(b"<svg") for i in images)
    failures = int(re.search(r"\((\d+) with failures", page).group(1))  # type: ignore[union-attr]
    classes = re.findall(r"<tr class='(fail|pass)'>", page)
    assert len(classes) == 40 and classes.count("fail") == failures
    assert classes == sorted(classes)  # every "fail" row comes before every "pass" row


def test_compare_json_and_thresholds(tmp_path: Path) -> None:
    assert rag("ingest").returncode == 0
    dataset = tmp_path / "small.jsonl"
    dataset.write_text(
        json.dumps(
            {
                "id": "x<script>alert(1)</script>",
                "question": "How long is the Uzbek-Afghan border?",
                "reference": "137 km",
                "evidence": ["Uzbek-Afghan border of 137 km"],
            }
        )
        + "\n"
        + json.dumps({"question": "What is the capital of France?", "answerable": False})
        + "\n"
    )
    first = rag(
        "eval",
        str(dataset),
        "--metrics",
        str(tmp_path / "old.json"),
        "--report",
        str(tmp_path / "a.html"),
    )
    assert first.returncode == 0, first.stderr
    assert "x<script>" not in (tmp_path / "a.html").read_text()
    assert "x&lt;script&gt;" in (tmp_path / "a.html").read_text()
    compared = rag(
        "eval",
        str(dataset),
        "--compare",
        str(tmp_path / "old.json"),
        "--report",
        str(tmp_path / "b.html"),
    )
    assert "before" in compared.stdout and "change" in compared.stdout
    as_json = rag("eval", str(dataset), "--json", "--report", str(tmp_path / "c.html"))
    metrics = json.loads(as_json.stdout)
    assert metrics["correct_declines"] == 1.0 and metrics["recall@3"] == 1.0
    failing = rag(
        "eval",
        str(dataset),
        "--min-citation-recall",
        "1.01",
        "--min",
        "nonsense=0.5",
        "--report",
        str(tmp_path / "d.html"),
    )
    assert failing.returncode == 3
    assert "error: citation_recall 1.000 is below the minimum 1.01" in failing.stderr
    assert "error: nonsense missing is below the minimum 0.5" in failing.stderr


EXAMPLE = ROOT / "eval" / "answers-example"


def test_answers_from_elsewhere_are_scored_without_asking(tmp_path: Path) -> None:
    """The README's example: ALCE lines and this project's answer object, one of them citing
    the wrong passage. The store holds nothing, so nothing could have been answered here."""
    out = tmp_path / "r.jsonl"
    result = rag(
        "eval",
        str(EXAMPLE / "questions.jsonl"),
        "--answers",
        str(EXAMPLE / "answers.jsonl"),
        "--out",
        str(out),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert "Scored 4 of 4" in result.stderr
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    given = {
        json.loads(line)["id"]: json.loads(line)
        for line in (EXAMPLE / "answers.jsonl").read_text().splitlines()
    }
    assert rows["ex-1"]["scores"]["citation_recall"] == 1.0
    assert rows["ex-1"]["scores"]["gold_cited"] == 1.0
    # [2] does not say 745 km: the judge says so, and the gold passage was not cited.
    assert rows["ex-2"]["scores"]["citation_recall"] == 0.0
    assert rows["ex-2"]["scores"]["gold_cited"] == 0.0
    assert rows["ex-2"]["answer"] == given["ex-2"]["output"] and rows["ex-2"]["answerer"] == "given"
    # This project's own answer object is read back as given, not asked again.
    assert rows["ex-3"]["answer_id"] == given["ex-3"]["answer_id"]
    assert rows["ex-3"]["scores"]["citation_recall"] == 1.0
    assert rows["ex-4"]["scores"]["declined"] is True
    metrics = json.loads(result.stdout)
    assert metrics["correct_declines"] == 1.0 and metrics["citation_recall"] == 0.6667
    assert rag("list").stdout.count("passages") <= 1  # still empty: nothing was ingested


CITATION = {"n": 1, "source": "a.txt", "title": None, "chunk_id": "c", "start": 0, "end": 1}


def test_bad_answer_lines_are_reported_and_the_rest_scored(tmp_path: Path) -> None:
    answers = tmp_path / "answers.jsonl"
    lines = (EXAMPLE / "answers.jsonl").read_text().splitlines()
    answers.write_bytes(
        "\n".join(
            [
                lines[0],
                "{not json",
                "[1, 2]",
                json.dumps({"id": "x", "output": "Text [1].", "docs": [{"title": "no text"}]}),
                json.dumps({"id": "y", "text": "neither format"}),
                json.dumps({"id": "z", "answer": "A [1].", "citations": [{**CITATION, "text": 5}]}),
            ]
        ).encode()
        + b'\n{"id": "w", "output": "caf\xe9", "docs": []}\n'
    )
    out = tmp_path / "r.jsonl"
    result = rag(
        "eval", str(EXAMPLE / "questions.jsonl"), "--answers", str(answers), "--out", str(out)
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors[:6] == [
        "error: answers.jsonl: line 2: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        "error: answers.jsonl: line 3: not a JSON object",
        "error: answers.jsonl: line 4: 'docs' must be a list of objects with a 'text'",
        "error: answers.jsonl: line 5: neither an answer object ('answer', 'citations') nor ALCE ('output', 'docs')",
        "error: answers.jsonl: line 6: every citation needs its passage as text in 'text'",
        "error: answers.jsonl: line 7: not UTF-8 text",
    ]
    assert "Scored 1 of 4 question(s)" in result.stdout  # bad lines are not questions
    # The questions without a usable answer say so; the one with an answer is scored.
    assert sum("no answer to this question" in e for e in errors) == 3
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["scores"]["citation_recall"] for r in rows if "scores" in r] == [1.0]
