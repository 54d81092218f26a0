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
