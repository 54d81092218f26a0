"""How an answer looks: as terminal text (the CLI), and as HTML for the chat page.

The HTML has clickable markers and the sources under the answer. Every string that came from
a document or a user is escaped here, and the markup is then sanitised again by Gradio, so a
document holding ``<script>`` shows as text and runs nothing.
"""

from __future__ import annotations

import re
import textwrap
from html import escape
from typing import Any

from rag.answer import MARKER, Answer, Citation


def _highlighted(citation: Citation) -> str:
    support = citation.support
    if support is None:
        return escape(citation.text)
    return (
        escape(citation.text[: support.start])
        + f'<mark class="rag-support">{escape(support.text)}</mark>'
        + escape(citation.text[support.end :])
    )


def _rating_buttons(answer_id: str, n: int) -> str:
    """Per-citation verdict buttons; ``chat.js`` sends a click to ``/api/feedback``.

    Gradio's sanitiser drops ``data-*`` attributes, so the answer and citation travel in the
    ``id`` and the rating in a class.
    """
    return (
        f'<div class="rag-rate" id="rag-rate-{escape(answer_id)}-{n}">'
        '<button type="button" class="rag-rate-btn rag-rate-supports">'
        "✓ Supports the claim</button>"
        '<button type="button" class="rag-rate-btn rag-rate-unsupported">'
        "✗ Does not support the claim</button></div>"
    )


def _snippet(citation: Citation, limit: int = 90) -> str:
    """The supporting sentence, shortened: what tells one source of a document from another."""
    quote = " ".join((citation.support.text if citation.support else citation.text).split())
    if len(quote) > limit:
        quote = quote[: limit - 1].rsplit(" ", 1)[0] + "…"
    return f"“{quote}”"


def _source(
    citation: Citation,
    context: dict[str, Any] | None,
    uid: str,
    rating: str,
    kind: str = "rag-source",
) -> str:
    facts = [escape(citation.title or citation.filename or citation.source)]
    if citation.date:
        facts.append(escape(citation.date))
    if citation.page:
        facts.append(f"page {citation.page}")
    before = escape(str(context["before"])) if context else ""
    after = escape(str(context["after"])) if context else ""
    lead = "… " if context and not context.get("starts_document") else ""
    tail = " …" if context and context.get("after") else ""
    name = escape(citation.filename or citation.source)
    where = f"{name}, characters {citation.start}–{citation.end}"
    number = f'<span class="rag-n">[{citation.n}]</span> ' if kind == "rag-source" else ""
    return (
        f'<details id="rag-src-{uid}-{citation.n}" class="{kind}">'
        f'<summary>{number}<span class="rag-title">{" · ".join(facts)}</span> '
        f'<span class="rag-snippet">{escape(_snippet(citation))}</span></summary>'
        # Focusable: the context scrolls, and keyboard users must be able to scroll it too.
        f'<div class="rag-context" tabindex="0" aria-label="Source text">{lead}{before}'
        f'<span class="rag-passage">{_highlighted(citation)}</span>{after}{tail}</div>'
        f'<div class="rag-where">{where}</div>{rating}</details>'
    )


def _actions(answer_id: str, ratable: bool) -> str:
    """Copy (as plain text), and the answer's thumbs when ratings are on; ``chat.js`` acts."""
    votes = (
        '<button type="button" class="rag-vote rag-vote-up" aria-pressed="false">'
        "Helpful</button>"
        '<button type="button" class="rag-vote rag-vote-down" aria-pressed="false">'
        "Not helpful</button>"
        if ratable
        else ""
    )
    return (
        f'<div class="rag-actions" id="rag-act-{escape(answer_id)}">'
        f'<button type="button" class="rag-copy">Copy</button>{votes}</div>'
    )


def answer_html(
    answer: Answer, contexts: dict[str, dict[str, Any]] | None = None, ratable: bool = False
) -> str:
    """The answer with ``[n]`` links to its sources, which are listed under it, collapsed.

    ``ratable`` adds the answer's thumbs and, to each source, the buttons that say whether it
    supports the claim.
    """
    uid = answer.answer_id
    text = escape(answer.answer)
    text = MARKER.sub(
        lambda m: f'<a class="rag-cite" href="#rag-src-{uid}-{m.group(1)}">[{m.group(1)}]</a>',
        text,
    )
    kind = "rag-answer" if answer.answerable else "rag-answer rag-declined"
    parts = [f'<div class="{kind}">{text}</div>']
    if answer.notice:
        parts.append(f'<div class="rag-notice">{escape(answer.notice)}</div>')
    if answer.citations:
        contexts = contexts or {}
        sources = "".join(
            _source(
                c,
                contexts.get(c.chunk_id),
                uid,
                _rating_buttons(answer.answer_id, c.n) if ratable else "",
            )
            for c in answer.citations
        )
        parts.append(f'<div class="rag-sources">{sources}</div>')
    if answer.related:
        # A decline's closest passages: opened like sources, but no claim cites them.
        contexts = contexts or {}
        related = "".join(
            _source(c, contexts.get(c.chunk_id), f"{uid}-rel", "", kind="rag-closest")
            for c in answer.related
        )
        parts.append(
            f'<div class="rag-sources rag-related"><div class="rag-related-head">'
            f"Closest passages</div>{related}</div>"
        )
    parts.append(_actions(uid, ratable))
    return "\n".join(parts)


def notice_html(text: str) -> str:
    """A warning in the conversation (refused question, outage, stop): no actions on it."""
    return f'<div class="rag-warning" role="alert">⚠ {escape(text)}</div>'


def plain(text: str) -> str:
    """Streaming text, escaped, markers left as typed.

    Lone surrogates (from JSON escapes) become ``?``, so the message can still be sent.
    """
    shown = text.encode("utf-8", "replace").decode("utf-8")
    return re.sub(r"\n", "<br>", escape(shown))


def as_text(answer: Answer, width: int = 100) -> str:
    """The answer, a notice if any, and each source with the sentence that supports it."""
    lines = [textwrap.fill(answer.answer, width)]
    if answer.notice:
        lines += ["", textwrap.fill(f"Note: {answer.notice}", width)]
    if answer.citations:
        lines += ["", "Sources:"]
    if answer.related:
        lines += ["", "Closest passages (not cited):"]
    for c in answer.citations or answer.related:
        where = f"characters {c.start}-{c.end}" + (f", page {c.page}" if c.page else "")
        title = c.title or c.filename or c.source
        label = f"[{c.n}]" if answer.citations else "-"  # related passages are not cited
        lines.append(f"{label} {title}{f' ({c.date})' if c.date else ''}, {where}")
        quote = c.support.text if c.support else c.text
        lines.append(
            textwrap.fill(
                f"“{' '.join(quote.split())}”",
                width,
                initial_indent="    ",
                subsequent_indent="    ",
            )
        )
        lines.append(f"    {c.source}")
    return "\n".join(lines)


def source_page(found: dict[str, Any], start: int | None = None, end: int | None = None) -> str:
    """A passage in its document as a page of its own: the link a plain chat client shows.

    ``start``/``end`` mark the supporting sentence inside the passage (out-of-range values
    mark nothing); the page scrolls to it by its ``#support`` anchor, with no script.
    """
    text = str(found["text"])
    if start is not None and end is not None and 0 <= start < end <= len(text):
        passage = (
            escape(text[:start])
            + f'<mark id="support">{escape(text[start:end])}</mark>'
            + escape(text[end:])
        )
    else:
        passage = f'<span id="support">{escape(text)}</span>'
    facts = [str(found.get("title") or found.get("filename") or found.get("source") or "")]
    facts += [str(found[key]) for key in ("date",) if found.get(key)]
    if found.get("page"):
        facts.append(f"page {found['page']}")
    lead = "" if found.get("starts_document") else "… "
    tail = " …" if found.get("after") else ""
    name = found.get("filename") or found.get("source")
    where = f"{name}, characters {found['start']}–{found['end']}"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(facts[0] or 'Source')}</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;"
        "line-height:1.6;color:#111827;background:#fff}"
        ".context{white-space:pre-wrap;color:#4b5563}.passage{color:#111827}"
        "mark{background:#fde68a;color:#111827}.where{color:#4b5563;font-size:.9em}"
        "@media (prefers-color-scheme:dark){body{background:#111827;color:#f3f4f6}"
        ".context{color:#d1d5db}.passage{color:#f9fafb}.where{color:#d1d5db}}"
        "</style></head><body><main>"
        f"<h1>{' · '.join(escape(f) for f in facts)}</h1>"
        f"<p class='context'>{lead}{escape(str(found.get('before', '')))}"
        f"<span class='passage'>{passage}</span>{escape(str(found.get('after', '')))}{tail}</p>"
        f"<p class='where'>{escape(where)}</p></main></body></html>"
    )


def not_found_page(message: str) -> str:
    """A plain page saying what was not found (the message is escaped)."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Not found</title>"
        f"</head><body><main><h1>Not found</h1><p>{escape(message)}</p></main></body></html>"
    )
