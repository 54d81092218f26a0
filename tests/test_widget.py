"""The embeddable widget in a real browser (Debian's Chromium via Playwright), desktop and phone:
accessibility (axe-core), the keyboard, the data-* options, the JS API and events.

Screenshots land in artifacts/ (widget-desktop.png, widget-phone.png) for a person to look at.
/embed-demo is served under the app's CSP (no 'unsafe-eval', so no page.wait_for_function
there: locators and expect() instead); the option pages come from ``allowed_site``, which
sends no CSP, so anything the widget wrongly ran or fetched would show.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers import ARTIFACTS, axe_violations

pytestmark = pytest.mark.server

QUESTION = "How long is the Uzbek-Afghan border?"
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
DEFAULT_BLUE = "rgb(29, 78, 216)"

# The element focused inside the widget's shadow root, as "tag.class", or None.
FOCUSED = """() => {
  const host = document.querySelector('[data-rag-cite]');
  if (document.activeElement !== host) return null;
  const el = host.shadowRoot.activeElement;
  return el ? el.tagName.toLowerCase() + '.' + el.className : null;
}"""
OUTLINE = """() => {
  const el = document.querySelector('[data-rag-cite]').shadowRoot.activeElement;
  const style = getComputedStyle(el);
  return style.outlineStyle + ' ' + style.outlineWidth;
}"""


@pytest.fixture(scope="module")
def page_factory(browser: Any) -> Callable[[dict[str, Any]], Any]:
    """Pages in a fresh browser context each, with the given context options."""
    return lambda options: browser.new_context(**options).new_page()


def host_page(app_server: str, **attributes: str) -> bytes:
    """A host page on another origin with the widget's tag; attribute values escaped once."""
    tag = " ".join(f'data-{name}="{html.escape(value)}"' for name, value in attributes.items())
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'  # so the only requests to the site are the page's
        "<title>Host</title></head><body><main><h1>Host page</h1>"
        f'<script src="{app_server}/embed.js" {tag}></script></main></body></html>'
    ).encode()


def luminance(rgb: str) -> float:
    channels = [int(v) / 255 for v in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def style(locator: Any, prop: str) -> str:
    return str(locator.evaluate(f"e => getComputedStyle(e).{prop}"))


def ask(widget: Any, question: str = QUESTION) -> None:
    widget.locator("input").fill(question)
    widget.locator("input").press("Enter")
    widget.locator("button.cite").first.wait_for(timeout=30_000)


def open_source(page: Any, widget: Any) -> Any:
    """Click the first citation; return its source once its context has arrived."""
    from playwright.sync_api import expect

    widget.locator("button.cite").first.click()
    details = widget.locator("details[open]").first
    expect(details.locator(".ctx")).to_have_text(re.compile(r"^…"), timeout=10_000)
    page.wait_for_timeout(300)
    return details


def inside(inner: dict[str, float], outer: dict[str, float], slack: float = 1) -> bool:
    return (
        inner["y"] >= outer["y"] - slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
        and inner["x"] >= outer["x"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
    )


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_demo_page_has_no_serious_axe_violations(
    app_server: str, page_factory, device: str
) -> None:  # type: ignore[no-untyped-def]
    page = page_factory(DESKTOP if device == "desktop" else PHONE)
    page.goto(app_server + "/embed-demo")
    widget = page.locator("[data-rag-cite]")
    found = axe_violations(page)
    assert found == [], f"widget closed: {found}"
    widget.locator("button.bubble").click()
    widget.locator(".panel").wait_for(state="visible")
    found = axe_violations(page)
    assert found == [], f"widget open: {found}"
    ask(widget)
    open_source(page, widget)
    found = axe_violations(page)
    assert found == [], f"answered, source open: {found}"
    page.screenshot(path=str(ARTIFACTS / f"widget-{device}.png"))


def test_the_widget_works_from_the_keyboard(app_server: str, page_factory) -> None:  # type: ignore[no-untyped-def]
    page = page_factory(DESKTOP)
    page.goto(app_server + "/embed-demo")
    widget = page.locator("[data-rag-cite]")
    panel = widget.locator(".panel")

    def tab_to(prefix: str, limit: int = 40) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if (page.evaluate(FOCUSED) or "").startswith(prefix):
                assert not page.evaluate(OUTLINE).startswith("none"), f"{prefix}: no focus ring"
                return
        pytest.fail(f"Tab never reached {prefix}")

    tab_to("button.bubble")
    page.keyboard.press("Enter")
    assert panel.is_visible()
    assert page.evaluate(FOCUSED) == "input."  # opening puts the caret in the question box
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    widget.locator("button.cite").first.wait_for(timeout=30_000)

    tab_to("button.cite")
    page.keyboard.press("Enter")
    source = widget.locator("details").first
    assert source.evaluate("d => d.open")
    assert page.evaluate(FOCUSED) == "summary."  # the source it opened
    page.keyboard.press("Tab")  # the scrolling context is the next stop, named
    assert page.evaluate(FOCUSED) == "div.ctx"
    assert not page.evaluate(OUTLINE).startswith("none")
    assert "Source 1" in (source.locator(".ctx").get_attribute("aria-label") or "")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # a rating button, operated by Space
    widget.locator("details .rate .status", has_text="Thanks, noted.").wait_for(timeout=10_000)

    page.keyboard.press("Escape")
    assert panel.is_hidden()
    assert page.evaluate(FOCUSED) == "button.bubble"
    assert widget.locator("button.bubble").get_attribute("aria-expanded") == "false"
    page.keyboard.press("Space")  # the bubble opens with Space as well
    assert panel.is_visible()
    assert page.evaluate(FOCUSED) == "input."
    widget.locator("button.bubble").focus()
    page.keyboard.press("Escape")  # Escape on the bubble closes the open panel too
    assert panel.is_hidden()


def test_the_options_on_the_script_tag_take_effect(  # type: ignore[no-untyped-def]
    app_server: str, page_factory, allowed_site
) -> None:
    starters = [
        "How long is the Uzbek-Afghan border?",
        "Who translated the interview from Russian?",
    ]
    allowed_site.html = host_page(
        app_server,
        title="Ask the Courier",
        color="#fde047",  # a light yellow: the text on it must turn dark
        greeting="Hi! I answer from the Sternik interview.",
        starters=json.dumps(starters),
        position="top-left",
        open="true",
        label="Ask us",
    )
    page = page_factory(DESKTOP)
    page.goto(allowed_site.origin + "/")
    widget = page.locator("[data-rag-cite]")
    panel = widget.locator(".panel")
    panel.wait_for(state="visible")  # open on load
    bubble = page.get_by_role("button", name="Ask us")  # the label is the accessible name
    assert bubble.inner_text().strip() == "Ask us"
    assert style(bubble, "backgroundColor") == "rgb(253, 224, 71)"
    assert contrast(style(bubble, "color"), "rgb(253, 224, 71)") >= 4.5
    send = widget.locator("form button")
    assert style(send, "backgroundColor") == "rgb(253, 224, 71)"
    assert contrast(style(send, "color"), style(send, "backgroundColor")) >= 4.5
    assert page.get_by_role("dialog", name="Ask the Courier").is_visible()
    greeting = widget.locator(".msg.bot").first
    assert greeting.inner_text() == "Hi! I answer from the Sternik interview."
    chips = widget.locator("button.starter")
    assert chips.all_inner_texts() == starters
    box, place = bubble.bounding_box(), panel.bounding_box()
    assert box["x"] <= 30 and box["y"] <= 30  # top-left
    assert place["x"] <= 30 and place["y"] < 120 and place["y"] > box["y"] + box["height"]

    chips.first.click()  # a starter asks itself
    widget.locator("button.cite").first.wait_for(timeout=30_000)
    assert widget.locator(".msg.user").inner_text() == starters[0]
    assert chips.count() == 0  # the starters step aside once a question is asked
    assert "137 km" in widget.locator(".msg.bot").last.inner_text()
    cite = widget.locator("button.cite").first  # the light colour, darkened to read on white
    assert contrast(style(cite, "color"), "rgb(255, 255, 255)") >= 4.5
    assert axe_violations(page) == []


def test_hostile_option_values_are_shown_as_text_or_ignored(  # type: ignore[no-untyped-def]
    app_server: str, page_factory, allowed_site
) -> None:
    greeting = '<img src=/x-greeting onerror="window.__xss=1">'
    allowed_site.html = host_page(
        app_server,
        color="red;background:url(/x-color)",
        greeting=greeting,
        starters='<img src=/x-starter onerror="window.__xss=2">|<b>bold</b>',
        label='<img src=/x-label onerror="window.__xss=3">',
        position="middle;top:0",
        title='<svg onload="window.__xss=4">',
    )
    allowed_site.hits.clear()
    page = page_factory(DESKTOP)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(allowed_site.origin + "/")
    widget = page.locator("[data-rag-cite]")
    bubble = widget.locator("button.bubble")
    bubble.click()
    assert style(bubble, "backgroundColor") == DEFAULT_BLUE  # a bad colour: the default
    assert bubble.inner_text().strip() == '<img src=/x-label onerror="window.__xss=3">'
    assert widget.locator(".msg.bot").first.inner_text() == greeting
    assert widget.locator("button.starter").all_inner_texts() == [
        '<img src=/x-starter onerror="window.__xss=2">',
        "<b>bold</b>",
    ]
    assert widget.locator(".title").inner_text() == '<svg onload="window.__xss=4">'
    box = bubble.bounding_box()  # an unknown position: bottom right
    assert box["x"] + box["width"] > 1200 and box["y"] > 700
    assert widget.locator("img, b, svg[onload]").count() == 0
    page.wait_for_timeout(500)
    assert page.evaluate("window.__xss") is None
    assert allowed_site.hits == ["/"], allowed_site.hits  # no image, no url() fetched
    assert not [url for url in requests if "/x-" in url]

    # A malformed JSON list and a colour that leans on the host page: defaults, no chips.
    allowed_site.html = host_page(app_server, starters='["a", 2', color="var(--brand)")
    page.goto(allowed_site.origin + "/")
    bubble.click()
    assert style(bubble, "backgroundColor") == DEFAULT_BLUE
    assert widget.locator(".msg.bot").count() == 0
    assert widget.locator("button.starter").count() == 0


def test_the_js_api_and_its_events(app_server: str, page_factory, allowed_site) -> None:  # type: ignore[no-untyped-def]
    allowed_site.html = host_page(app_server, title="Ask")
    page = page_factory(DESKTOP)
    page.goto(allowed_site.origin + "/")
    panel = page.locator("[data-rag-cite] .panel")
    assert panel.is_hidden()
    result = page.evaluate(
        """question => new Promise(resolve => {
          const seen = [];
          for (const name of ['rag:open', 'rag:close', 'rag:answer']) {
            window.addEventListener(name, e => seen.push(
              name + (e.target === document && e.bubbles && e.composed ? ' ok' : ' bad')));
          }
          document.addEventListener('rag:answer', e => resolve({seen, answer: e.detail}),
                                    {once: true});
          window.ragCite.ask(question);
        })""",
        QUESTION,
    )
    assert result["seen"] == ["rag:open ok", "rag:answer ok"]
    answer = result["answer"]
    assert "137 km" in answer["answer"]
    assert answer["citations"] and answer["citations"][0]["n"] == 1
    assert panel.is_visible()  # ask() opened the panel
    assert "137 km" in page.locator("[data-rag-cite] .msg.bot").last.inner_text()

    closed = page.evaluate(
        """() => { let n = 0; document.addEventListener('rag:close', () => n++);
                 ragCite.close(); ragCite.close(); return n; }"""
    )
    assert closed == 1 and panel.is_hidden()  # a second close() changes nothing
    opened = page.evaluate(
        """() => { let n = 0; document.addEventListener('rag:open', () => n++);
                 ragCite.open(); return n; }"""
    )
    assert opened == 1 and panel.is_visible()
    assert page.evaluate(FOCUSED) == "input."


def test_on_a_phone_the_panel_fills_the_screen_and_the_mark_is_in_view(  # type: ignore[no-untyped-def]
    app_server: str, page_factory
) -> None:
    page = page_factory(PHONE)
    page.goto(app_server + "/embed-demo")
    widget = page.locator("[data-rag-cite]")
    widget.locator("button.bubble").click()
    panel = widget.locator(".panel")
    panel.wait_for(state="visible")
    assert panel.bounding_box() == {"x": 0, "y": 0, "width": 390, "height": 844}
    assert style(panel, "borderTopLeftRadius") == "0px"
    close = widget.locator("button.close")
    box = close.bounding_box()
    assert close.is_visible() and box["width"] >= 44 and box["height"] >= 44
    assert inside(box, {"x": 0, "y": 0, "width": 390, "height": 844}, slack=0)
    # The bubble steps aside: nothing covers the question box.
    field = widget.locator("input").bounding_box()
    covered = widget.locator("input").evaluate(
        """i => { const r = i.getBoundingClientRect(), root = i.getRootNode();
                  return [[r.left + 4, r.top + 4], [r.right - 4, r.bottom - 4],
                          [r.left + r.width / 2, r.top + r.height / 2]]
                    .some(([x, y]) => root.elementFromPoint(x, y) !== i); }"""
    )
    assert not covered, field

    ask(widget)
    details = open_source(page, widget)
    mark = details.locator("mark").bounding_box()
    ctx = details.locator(".ctx").bounding_box()
    log = widget.locator(".log").bounding_box()
    assert inside(mark, ctx), (mark, ctx)
    assert inside(mark, log), (mark, log)
    close.click()
    assert panel.is_hidden()
    assert page.evaluate(FOCUSED) == "button.bubble"
