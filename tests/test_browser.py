"""The chat page and the widget in a real browser: Debian's Chromium, headless, via Playwright.

Screenshots land in artifacts/ for a person to look at.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import (
    ARTIFACTS,
    add_on_documents_tab,
    ask_in_chat,
    ask_in_widget,
    open_first_source,
)

pytestmark = pytest.mark.server

XSS = (
    "Security bulletin\n\nThe Quokka valley dam is 512 meters wide. "
    '<script>window.__xss = 1</script> <img src=x onerror="window.__xss = 2"> '
    '<a href="javascript:window.__xss=3">click</a>\n'
)


@pytest.fixture(scope="module")
def page_factory(browser: Any) -> Callable[[], Any]:
    return lambda: browser.new_page(viewport={"width": 1200, "height": 900})


def test_chat_answer_marker_opens_the_highlighted_source(app_server: str, page_factory) -> None:  # type: ignore[no-untyped-def]
    page = page_factory()
    ask_in_chat(page, app_server, "How long is the Uzbek-Afghan border?")
    answer = page.locator(".rag-answer").last
    assert "137 km" in answer.inner_text()
    source = page.locator("details.rag-source").last
    assert not source.evaluate("d => d.open")
    assert "2016-01-06" in source.locator("summary").inner_text()
    answer.locator("a.rag-cite").first.click()
    side = page.locator("#rag-side .rag-side-source")  # a wide page opens it beside the chat
    side.wait_for(timeout=10_000)
    support = side.locator("mark.rag-support")
    assert "Uzbek-Afghan border of 137 km" in support.inner_text()
    assert "2016-01-06" in side.locator(".rag-side-title").inner_text()
    assert side.locator(".rag-context").inner_text().startswith("…")  # shown inside its document
    page.screenshot(path=str(ARTIFACTS / "chat.png"))


def test_declined_answers_look_different(app_server: str, page_factory) -> None:  # type: ignore[no-untyped-def]
    page = page_factory()
    ask_in_chat(page, app_server, "What is the recipe for borscht?")
    declined = page.locator(".rag-answer").last
    assert "rag-declined" in (declined.get_attribute("class") or "")
    assert declined.inner_text().startswith("The documents don't say.")
    assert page.locator("details.rag-source").count() == 0  # a decline cites nothing
    # ... but offers the closest passages, which open like sources, with the sentence marked.
    assert page.locator(".rag-related-head").last.inner_text() == "Closest passages"
    closest = page.locator("details.rag-closest")
    assert closest.count() >= 1
    closest.first.locator("summary").click()
    assert closest.first.evaluate("d => d.open")
    assert closest.first.locator("mark.rag-support").inner_text().strip()


def test_a_declined_answer_in_the_widget_offers_the_closest_passages(
    app_server: str, page_factory
) -> None:  # type: ignore[no-untyped-def]
    page = page_factory()
    page.goto(app_server + "/embed-demo")
    widget = ask_in_widget(page, "What is the recipe for borscht?")
    head = widget.locator(".related-head")
    head.wait_for(timeout=30_000)
    assert head.inner_text() == "Closest passages"
    assert widget.locator("button.cite").count() == 0  # nothing is cited
    closest = widget.locator(".related details").first
    closest.locator("summary").click()
    assert closest.evaluate("d => d.open")
    assert closest.locator("mark").first.inner_text().strip()


def test_the_widget_marks_the_quoted_sentence_after_emoji(app_server: str, page_factory) -> None:  # type: ignore[no-untyped-def]
    """Offsets count characters; an emoji is two UTF-16 units in JavaScript (outside probe)."""
    text = (
        "😀😀😀😀😀😀 The Quail Gallery in Tasmania exhibits old maps. "
        "The Quail Gallery entrance is beside the door."
    )
    added = httpx.post(
        f"{app_server}/api/upload", files={"file": ("quail.txt", text.encode())}, timeout=60
    )
    assert added.status_code == 200, added.text
    page = page_factory()
    page.goto(app_server + "/embed-demo")
    widget = ask_in_widget(page, "Where is the Quail Gallery entrance?")
    details = open_first_source(widget)
    assert details.locator("mark").inner_text() == "The Quail Gallery entrance is beside the door."
    assert details.locator(".passage").inner_text().strip() == text


def test_widget_on_the_demo_page_keeps_clickable_sources(app_server: str, page_factory) -> None:  # type: ignore[no-untyped-def]
    page = page_factory()
    page.goto(app_server + "/embed-demo")
    widget = ask_in_widget(page, "How long is the Uzbek-Afghan border?")
    details = open_first_source(widget)
    page.wait_for_timeout(500)
    assert details.evaluate("d => d.open")
    assert "Uzbek-Afghan border of 137 km" in details.locator("mark").inner_text()
    send = widget.locator("form button")
    assert send.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(29, 78, 216)"
    host_button = page.locator("main button")
    assert host_button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(255, 105, 180)"
    page.screenshot(path=str(ARTIFACTS / "widget.png"))


def test_hostile_document_text_is_shown_not_run(app_server: str, page_factory) -> None:  # type: ignore[no-untyped-def]
    name = '<img src=x onerror="window.__xss=9">quokka.txt'
    response = httpx.post(
        f"{app_server}/api/upload", files={"file": (name, XSS.encode())}, timeout=60
    )
    assert response.status_code == 200, response.text
    question = "How wide is the Quokka valley dam?"

    page = page_factory()
    ask_in_chat(page, app_server, question)
    answer = page.locator(".rag-answer").last
    assert "512 meters" in answer.inner_text()
    page.locator("a.rag-cite").last.click()
    page.locator("#rag-side .rag-side-source").wait_for(timeout=10_000)
    shown = page.locator("#rag-side .rag-side-source").inner_text()
    assert "<script>window.__xss = 1</script>" in shown and 'onerror="window.__xss = 2"' in shown
    assert page.evaluate("window.__xss") is None

    page.goto(app_server + "/embed-demo")
    widget = ask_in_widget(page, question)
    details = open_first_source(widget)
    page.wait_for_timeout(800)
    assert "<script>window.__xss = 1</script>" in details.inner_text()
    assert page.evaluate("window.__xss") is None
    page.screenshot(path=str(ARTIFACTS / "widget-hostile.png"))


def test_a_document_added_from_the_page_can_be_asked_about(
    app_server: str, page_factory, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    document = tmp_path / "lighthouse.md"
    document.write_text(
        "# Lighthouse log\n\nThe Vardo lighthouse keeper logged 317 storms in 1987.\n"
    )
    page = page_factory()
    page.goto(app_server + "/")
    add_on_documents_tab(page, document)  # one step: chosen is added
    page.get_by_text("Added lighthouse.md: 1 new passage(s)").wait_for(timeout=60_000)
    ask_in_chat(page, app_server, "How many storms did the Vardo lighthouse keeper log?")
    answer = page.locator(".rag-answer").last
    assert "317 storms" in answer.inner_text()
    assert "Lighthouse log" in page.locator("details.rag-source summary").last.inner_text()


def test_the_chat_page_embeds_in_an_iframe(app_server: str, page_factory, allowed_site) -> None:  # type: ignore[no-untyped-def]
    allowed_site.html = (
        f'<h1>Host</h1><iframe src="{app_server}/" style="width:1000px;height:800px"></iframe>'
    ).encode()
    page = page_factory()
    page.goto(allowed_site.origin + "/")
    frame = page.frame_locator("iframe")
    box = frame.locator("#rag-question textarea")
    box.wait_for(timeout=30_000)
    box.fill("Who translated the interview from Russian?")
    box.press("Enter")
    frame.locator("a.rag-cite").first.wait_for(timeout=30_000)
    assert "Kristina Rus" in frame.locator(".rag-answer").last.inner_text()


def rated_in(app_folder: Path, question: str) -> object:
    from rag.feedback import FeedbackStore

    store = FeedbackStore(app_folder / "data" / "feedback.sqlite3")
    try:
        return next((r for r in reversed(store.rated()) if r.question == question), None)
    finally:
        store.close()


def test_chat_answers_and_citations_can_be_rated(  # type: ignore[no-untyped-def]
    app_server: str, app_folder: Path, page_factory
) -> None:
    question = "What did the Tajik authorities decide in August 2005?"
    page = page_factory()
    ask_in_chat(page, app_server, question)
    message = page.locator(".rag-answer").last
    assert message.locator("a.rag-cite").count() >= 1
    page.locator(".rag-actions button.rag-vote-down").last.click()
    page.locator(".rag-actions .rag-rate-status", has_text="Thanks").wait_for(timeout=10_000)
    source = page.locator("details.rag-source").last
    source.locator("summary").click()
    flag = source.locator("button.rag-rate-unsupported")
    flag.click()
    source.locator(".rag-rate-status", has_text="Thanks, noted.").wait_for(timeout=10_000)
    assert flag.get_attribute("aria-pressed") == "true"
    rated = rated_in(app_folder, question)
    assert rated is not None
    last = int((source.locator(".rag-rate").get_attribute("id") or "").rsplit("-", 1)[1])
    assert rated.rating == "not_helpful" and rated.citations == {last: "unsupported"}  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / "chat-rating.png"))


def test_widget_answers_and_citations_can_be_rated(  # type: ignore[no-untyped-def]
    app_server: str, app_folder: Path, page_factory
) -> None:
    question = "How many people from Russia and the CIS joined ISIS?"
    page = page_factory()
    page.goto(app_server + "/embed-demo")
    widget = ask_in_widget(page, question)
    widget.locator("button.cite").first.wait_for(timeout=30_000)
    helpful = widget.locator(".msg.bot > .rate button[data-rating='helpful']")
    helpful.click()
    widget.get_by_text("Thanks, noted.").wait_for(timeout=10_000)
    widget.locator("details summary").first.click()
    supports = widget.locator("details .rate button[data-rating='supports']").first
    supports.click()
    widget.locator(
        "details .rate button[data-rating='supports'][aria-pressed='true']"
    ).first.wait_for(timeout=10_000)
    rated = rated_in(app_folder, question)
    assert rated is not None
    assert rated.rating == "helpful" and rated.citations == {1: "supports"}  # type: ignore[attr-defined]
    helpful.click()  # a second click takes the rating back
    widget.locator(".msg.bot > .rate button[data-rating='helpful'][aria-pressed='false']").wait_for(
        timeout=10_000
    )
    assert rated_in(app_folder, question).rating is None  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / "widget-rating.png"))


def test_hostile_questions_are_shown_not_run(app_server: str, page_factory) -> None:  # type: ignore[no-untyped-def]
    question = '<img src=x onerror="window.__xss=5"> <script>window.__xss=6</script> [1]?'
    page = page_factory()
    ask_in_chat(page, app_server, question)
    assert "onerror=" in page.locator("#rag-chat").inner_text()
    page.goto(app_server + "/embed-demo")
    widget = ask_in_widget(page, question)
    widget.locator(".msg.bot").last.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    assert "<script>window.__xss=6</script>" in widget.locator(".msg.user").last.inner_text()
    assert page.evaluate("window.__xss") is None


def test_the_evaluation_report_renders_hostile_text_inert(page_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from rag.evaluation.report import html

    bad = '<img src=x onerror="window.__xss=7"><script>window.__xss=8</script>'
    citation = {"n": 1, "title": bad, "source": bad, "text": bad, "support": None}
    rows = [
        {
            "id": bad,
            "kind": bad,
            "question": bad,
            "answer": bad + " [1]",
            "citations": [citation],
            "timings": {"total_ms": 5.0},
            "scores": {"answerable": True, "declined": False, "citations_rated": 1},
            "verdicts": [{"sentence": bad, "cited": [1], "supported": False, "relevant": []}],
            "feedback": {
                "rated": bad,
                "comments": [bad],
                "answer": {"answer": bad, "citations": [citation]},
            },
            "judged_rating": {
                "rating": bad,
                "citations": [{"n": 1, "user": bad, "judge": "unsupported"}],
            },
        },
        {"line": 2, "question": bad, "error": bad},
    ]
    report = tmp_path / "report.html"
    report.write_text(html(rows, {"questions": 2, bad: bad}, bad))
    page = page_factory()
    page.goto(report.as_uri())
    assert page.locator("body").inner_text().count('onerror="window.__xss=7"') >= 8
    assert page.evaluate("window.__xss") is None
