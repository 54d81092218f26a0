"""The evaluation report: a terminal summary, and one self-contained HTML file.

Charts are SVG drawn here and embedded as data URIs, so the report needs no plotting library
and no network. Everything from the dataset, the documents or the answers is escaped.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from rag.evaluation.run import failed

RATE_METRICS = (
    "recall@1",
    "recall@3",
    "mrr",
    "token_f1",
    "contains_reference",
    "correct_declines",
    "citation_recall",
    "citation_precision",
    "gold_citation_recall",
    "users_helpful",
    "rated_citation_recall",
    "user_judge_agreement",
)
LOWER_IS_BETTER = ("wrong_declines", "latency")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def summary(metrics: dict[str, Any], old: dict[str, Any] | None = None) -> str:
    """Metric, value (and the change since ``old``) as aligned text."""
    lines = [f"{'metric':<26}{'value':>10}" + (f"{'before':>10}{'change':>10}" if old else "")]
    for name, value in metrics.items():
        line = f"{name:<26}{_fmt(value):>10}"
        if old is not None:
            before = old.get(name)
            change = (
                value - before
                if isinstance(value, int | float) and isinstance(before, int | float)
                else None
            )
            sign = "+" if change and change > 0 else ""
            line += f"{_fmt(before):>10}{(sign + _fmt(change)) if change is not None else '-':>10}"
        lines.append(line)
    return "\n".join(lines)


def _svg_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def bars_svg(metrics: dict[str, Any]) -> str:
    """Horizontal bars for the 0..1 metrics."""
    shown = [(n, float(metrics[n])) for n in RATE_METRICS if metrics.get(n) is not None]
    height = 26 * len(shown) + 20
    rows = []
    for i, (name, value) in enumerate(shown):
        y = 10 + 26 * i
        rows.append(
            f'<text x="0" y="{y + 14}" font-size="12">{escape(name)}</text>'
            f'<rect x="170" y="{y}" width="{300 * value:.1f}" height="18" fill="#1d4ed8"/>'
            f'<rect x="170" y="{y}" width="300" height="18" fill="none" stroke="#cbd5e1"/>'
            f'<text x="{176 + 300 * value:.1f}" y="{y + 14}" font-size="12">{value:.2f}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="540" height="{height}" '
        f'font-family="sans-serif">{"".join(rows)}</svg>'
    )


def histogram_svg(values: list[float], bins: int = 12) -> str:
    """A histogram of total latency per question, in milliseconds."""
    if not values:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    lo, hi = min(values), max(values)
    width = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    top = max(counts)
    bars = []
    for i, count in enumerate(counts):
        h = 150 * count / top
        bars.append(
            f'<rect x="{40 + i * 36}" y="{170 - h:.1f}" width="32" height="{h:.1f}" '
            'fill="#0f766e"/>'
            f'<text x="{46 + i * 36}" y="{165 - h:.1f}" font-size="10">{count}</text>'
        )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="500" height="200" font-family="sans-serif">'
        + "".join(bars)
        + f'<text x="40" y="190" font-size="11">{lo:.0f} ms</text>'
        + f'<text x="{40 + bins * 36 - 60}" y="190" font-size="11">{hi:.0f} ms</text></svg>'
    )


def _row_html(row: dict[str, Any]) -> str:
    scores = row.get("scores", {})
    status = "fail" if failed(row) else "pass"
    cells = (row.get("id", row.get("line", "")), row.get("kind", ""), row.get("question", ""))
    head = f"<tr class='{status}'>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells)
    if "error" in row:
        return head + f"<td colspan='3' class='error'>{escape(str(row['error']))}</td></tr>"
    verdicts = "".join(
        f"<li class='{'ok' if v['supported'] else 'bad'}'>{escape(v['sentence'])} "
        f"<span class='meta'>cites {escape(str(v['cited']))}; "
        f"{'supported' if v['supported'] else 'not supported'}; "
        f"relevant {escape(str(v['relevant']))}</span></li>"
        for v in row.get("verdicts", [])
    )
    citations = "".join(
        f"<li><b>[{c['n']}]</b> {escape(c.get('title') or c.get('source') or '')}: "
        f"{escape(c['support']['text'] if c.get('support') else c['text'])}</li>"
        for c in row.get("citations", [])
    )
    score_text = ", ".join(f"{escape(k)}={_fmt(v)}" for k, v in scores.items())
    return (
        head
        + f"<td>{escape(str(row.get('answer', '')))}<ul class='verdicts'>{verdicts}</ul></td>"
        + f"<td><ul class='cites'>{citations}</ul></td><td class='meta'>{score_text}</td></tr>"
    )


_VERDICT = {"supports": "✓ supports", "unsupported": "✗ does not support", None: "-"}
_RATING = {"helpful": "👍 helpful", "not_helpful": "👎 not helpful", None: "-"}


def _rated_html(row: dict[str, Any]) -> str:
    judged = row["judged_rating"]
    rated = row["feedback"].get("answer") or {}
    passages = {c["n"]: c for c in rated.get("citations", [])}
    cells = "".join(
        f"<tr class='{'agree' if c['user'] in (None, c['judge']) else 'disagree'}'>"
        f"<td>[{int(c['n'])}]</td>"
        f"<td>{escape(str((passages.get(c['n']) or {}).get('text', ''))[:300])}</td>"
        f"<td>{escape(_VERDICT.get(c['user'], str(c['user'])))}</td>"
        f"<td>{escape(_VERDICT[c['judge']])}</td></tr>"
        for c in judged["citations"]
    )
    comments = "".join(f"<li>{escape(str(c))}</li>" for c in row["feedback"].get("comments", []))
    changed = row["scores"].get("answer_changed")
    return (
        f"<div class='rated'><h3>{escape(str(row.get('question', '')))}</h3>"
        f"<p><b>Rated answer</b> ({escape(str(row['feedback'].get('rated', '')))}): "
        f"{escape(str(rated.get('answer', '')))}</p>"
        f"<p><b>Users</b>: {escape(_RATING.get(judged['rating'], str(judged['rating'])))}; "
        f"<b>judge</b> on the rated answer: citation recall "
        f"{_fmt(judged.get('citation_recall'))}, precision {_fmt(judged.get('citation_precision'))}"
        f"{'; the current answer differs' if changed else '; the current answer is the same'}</p>"
        + (f"<ul class='comments'>{comments}</ul>" if comments else "")
        + "<table><tr><th>citation</th><th>passage</th><th>users</th><th>judge</th></tr>"
        + f"{cells}</table></div>"
    )


def html(rows: list[dict[str, Any]], metrics: dict[str, Any], title: str) -> str:
    """The whole report: metrics, charts, then every question, failures first."""
    ordered = sorted(rows, key=lambda r: not failed(r))
    totals = [float(r["timings"]["total_ms"]) for r in rows if "timings" in r]
    table = "".join(
        f"<tr><td>{escape(k)}</td><td>{escape(_fmt(v))}</td></tr>" for k, v in metrics.items()
    )
    failures = sum(failed(r) for r in rows)
    rated = [r for r in ordered if "judged_rating" in r]
    ratings = (
        "<section id='ratings'><h2>Users' ratings beside the judge's "
        f"({len(rated)} rated answers, disagreements in red)</h2>"
        + "".join(_rated_html(r) for r in rated)
        + "</section>"
        if rated
        else ""
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{escape(title)}</title><style>
body{{font-family:system-ui,sans-serif;margin:24px;color:#111827}} table{{border-collapse:collapse}}
td,th{{border:1px solid #e5e7eb;padding:4px 8px;vertical-align:top;font-size:13px}}
tr.fail td:first-child{{border-left:4px solid #dc2626}}
tr.pass td:first-child{{border-left:4px solid #16a34a}}
li.bad{{color:#b91c1c}} .meta{{color:#6b7280;font-size:12px}} .error{{color:#b91c1c}}
tr.disagree td{{background:#fee2e2}} .rated{{margin-bottom:18px}}
</style></head><body>
<h1>{escape(title)}</h1>
<section id="metrics"><h2>Metrics</h2><table>{table}</table></section>
<section id="plots"><h2>Plots</h2>
<figure><img alt="metric bars" src="{_svg_uri(bars_svg(metrics))}">
<figcaption>Rates, 0 to 1</figcaption></figure>
<figure><img alt="latency histogram" src="{_svg_uri(histogram_svg(totals))}">
<figcaption>Total latency per question</figcaption></figure></section>
{ratings}<section id="questions"><h2>Questions ({failures} with failures, listed first)</h2>
<table><tr><th>id</th><th>kind</th><th>question</th><th>answer and judged sentences</th>
<th>citations</th><th>scores</th></tr>{"".join(_row_html(r) for r in ordered)}</table></section>
</body></html>"""
