"""HTML to the text a reader sees: paragraphs laid out as a browser does, labels kept.

Source HTML is often hard-wrapped (manual pages, generated docs): a newline inside ``<p>`` or
``<dd>`` is a space on screen, not a break. trafilatura, which finds the page's main text,
keeps those newlines, so a sentence came out as several "paragraphs" and an answer stopped
mid-sentence. The tree is therefore laid out first: whitespace outside ``<pre>`` collapsed,
and each definition term (an option, a setting, a function signature) joined to the first
paragraph of its description, so the sentence that answers also names what it describes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.errors import RagError

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# trafilatura's time grows with the element count (20-70 µs each on 2 cores) and with the
# square of the cells in one table row (40,000 in a row: 2.7 s; 50,000: 11.6 s), and
# libxml2's with the square of one element's attributes (8,000: 0.08 s; 200,000 held a
# server for 40+ minutes), so a small upload of bare markup could hold a worker for
# minutes. Under these limits no page measured took over ~3 s; whole books on one page
# (24-33k elements) load, whole manuals (52k+) don't.
MAX_HTML_ELEMENTS = 50_000
MAX_HTML_ROW_CELLS = 1_000
MAX_HTML_ATTRIBUTES = 1_000  # in one element; real pages have a handful
_START_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9]*)([^>]*)")
_SPACE = re.compile(r"\s+")
_KEEP_SPACE = {"pre", "textarea", "listing", "xmp", "plaintext"}
_BLOCK = {
    "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "ul",
}  # fmt: skip
# A heading that is a name (``work_mem``, ``init.defaultBranch``, ``--mainline``,
# ``json.dumps()``) labels the paragraph under it, like a definition term; plain words
# ("Examples") do not.
_NAME = re.compile(r"^(?=.*[_.]|-|.*\(\)$)-{0,2}[\w.:-]*\w(\(\))?$")


class HtmlError(RagError):
    """Markup refused before parsing; the message says which limit and what to do."""


@dataclass(frozen=True)
class HtmlText:
    """A page's main text (paragraphs split by blank lines) and what its markup says of it."""

    text: str
    title: str | None
    date: str | None


def check_size(raw: str) -> None:
    """Refuse markup that would take the parsers long; one linear scan, stops at a limit.

    Tags in comments or scripts count too: an overcount only makes the bound safer.
    """
    cells = 0
    for elements, match in enumerate(_START_TAG.finditer(raw), 1):
        if elements > MAX_HTML_ELEMENTS:
            raise HtmlError(
                f"the HTML has over {MAX_HTML_ELEMENTS:,} elements (limit "
                f"{MAX_HTML_ELEMENTS:,}); split it or convert it to text"
            )
        inside = match.group(2)
        # Attributes are at most the tag's words plus its "=" signs (a="1"b="2" has no space).
        if len(inside) > MAX_HTML_ATTRIBUTES and (
            inside.count("=") + len(inside.split()) > MAX_HTML_ATTRIBUTES
        ):
            raise HtmlError(
                f"an element in the HTML has over {MAX_HTML_ATTRIBUTES:,} attributes (limit "
                f"{MAX_HTML_ATTRIBUTES:,}); this is not a page to read"
            )
        tag = match.group(1).lower()
        if tag in ("tr", "table"):
            cells = 0
        elif tag in ("td", "th"):
            cells += 1
            if cells > MAX_HTML_ROW_CELLS:
                raise HtmlError(
                    f"a table row in the HTML has over {MAX_HTML_ROW_CELLS:,} cells (limit "
                    f"{MAX_HTML_ROW_CELLS:,}); split the table or convert it to text"
                )


def page_text(raw: str) -> HtmlText:
    """The main text of a page, laid out (see the module's docstring)."""
    import lxml.html
    import trafilatura

    check_size(raw)
    try:
        # Bytes: lxml refuses a str that carries an XML encoding declaration (XHTML pages).
        root = lxml.html.document_fromstring(raw.encode("utf-8", "surrogatepass"))
    except Exception:  # lxml raises several types for hopeless markup
        return HtmlText("", None, None)
    title_element = " ".join((root.findtext(".//title") or "").split())
    lay_out(root)
    extracted = trafilatura.bare_extraction(
        root,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        # Not trafilatura's deduplication: it drops a paragraph once a process-wide cache
        # has seen it a few times, so a page read again, or a notice every page shares,
        # lost text depending on what the server had read before.
        deduplicate=False,
        # The page's own metadata and markup only: the extensive search guessed a date from
        # any year in the text (a footer's copyright year became 2001-01-01) for 30 of 145
        # real documentation pages, and cost a tenth of the parsing time.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    body = getattr(extracted, "text", None) or _visible_blocks(root)
    # trafilatura puts one paragraph per line; blank lines make paragraphs explicit.
    return HtmlText(
        re.sub(r"\n+", "\n\n", body),
        _title(getattr(extracted, "title", None), title_element),
        getattr(extracted, "date", None),
    )


def _title(found: str | None, element: str) -> str | None:
    """The title trafilatura found if the page's ``<title>`` holds it, else the ``<title>``.

    trafilatura cuts a site's suffix off; but on pages without ``<h1>`` it took the first
    box's heading ("Warning" for PostgreSQL's pg_dump page).
    """
    if found and (not element or found in element):
        return found
    return element or found


def lay_out(root: HtmlElement) -> None:
    """Collapse whitespace as a browser does, and join labels to what they label (in place)."""
    for bad in root.xpath("//a[contains(concat(' ', @class, ' '), ' headerlink ')]"):
        bad.drop_tree()  # Sphinx's "¶" after every heading and signature
    _collapse(root)
    for heading in root.xpath("//h2|//h3|//h4|//h5|//h6"):
        _label_from_heading(heading)
    for dl in reversed(root.xpath("//dl")):
        _flatten_definitions(dl)


def _collapse(root: HtmlElement) -> None:
    """Runs of whitespace to one space, except inside ``<pre>`` and its kin.

    Iterative, each element once: a page nested thousands deep costs no more than a flat one.
    """
    stack: list[tuple[HtmlElement, bool]] = [(root, False)]
    while stack:
        element, inside_pre = stack.pop()
        if not inside_pre:
            # Whitespace alone after a block, or before one, is no space on screen.
            element.tail = _collapsed(element.tail, drop_blank=element.tag in _BLOCK)
        keep = inside_pre or element.tag in _KEEP_SPACE
        children = [c for c in element if isinstance(c.tag, str)]
        if not keep:
            first = children[0] if children and element[0] is children[0] else None
            element.text = _collapsed(
                element.text, drop_blank=first is not None and first.tag in _BLOCK
            )
        stack.extend((child, keep) for child in reversed(children))


def _collapsed(text: str | None, drop_blank: bool) -> str | None:
    if not text:
        return text
    text = _SPACE.sub(" ", text)
    return None if drop_blank and text == " " else text


def _words(element: HtmlElement) -> str:
    return " ".join(element.text_content().split())


def _label_from_heading(heading: HtmlElement) -> None:
    """A heading that is a name becomes the label of the paragraph right after it."""
    name = _words(heading)
    after = heading.getnext()
    if not name or len(name) > 60 or not _NAME.match(name) or after is None:
        return
    if after.tag != "p" or (heading.tail or "").strip():
        return
    after.text = f"{name}: {after.text or ''}"
    heading.drop_tree()


def _flatten_definitions(dl: HtmlElement) -> None:
    """``<dt>term<dd>text`` to a paragraph "term: text" (a list of terms joined by commas).

    Later blocks of the description stay paragraphs of their own after it.
    """
    import lxml.html

    terms: list[str] = []
    for child in list(dl):
        if not isinstance(child.tag, str):
            continue
        if child.tag == "dt":
            terms.append(_words(child))
            child.drop_tree()
            continue
        if child.tag != "dd":
            continue
        label = ", ".join(t for t in terms if t)
        terms = []
        child.tag = "div"
        if not label:
            continue
        first = child[0] if len(child) and not (child.text or "").strip() else None
        if first is not None and first.tag == "p":
            first.text = f"{label}: {(first.text or '').lstrip()}"
            continue
        # Inline content first: gather it, up to the first block, into one paragraph.
        paragraph = lxml.html.Element("p")
        paragraph.text = f"{label}: {(child.text or '').lstrip()}"
        child.text = None
        for inline in list(child):
            if isinstance(inline.tag, str) and inline.tag in _BLOCK:
                break
            paragraph.append(inline)
        child.insert(0, paragraph)
    for term in terms:  # terms with nothing after them
        paragraph = lxml.html.Element("p")
        paragraph.text = term
        dl.append(paragraph)
    dl.tag = "div"


def _visible_blocks(root: HtmlElement) -> str:
    """Visible block text for pages too small for trafilatura's main-content heuristics."""
    for bad in root.xpath("//script|//style|//nav|//header|//footer|//aside|//form|//noscript"):
        bad.drop_tree()
    blocks = root.xpath("//p|//h1|//h2|//h3|//h4|//li|//td|//pre|//blockquote")
    parts = [_words(b) for b in blocks] or [_words(root)]
    return "\n".join(p for p in parts if p)
