import time
from pathlib import Path

import pytest

from ingest import html
from ingest.html import MAX_HTML_ATTRIBUTES, MAX_HTML_ELEMENTS, MAX_HTML_ROW_CELLS
from ingest.loaders import LoadError, load
from tests.helpers import make_pdf

PAGE = """<!doctype html><html><head><title>Border report</title>
<meta property="article:published_time" content="2016-01-06">
<script>var tracker = "SECRET_SCRIPT";</script><style>.x{color:red}</style></head>
<body><nav><a href="/">Home</a> <a href="/about">NAV_LINK_TEXT</a></nav>
<header><div>SITE_HEADER_BANNER</div></header>
<article><h1>Border report</h1>
<p>The Uzbek-Afghan border is 137 km long, according to the Foreign Ministry of Russia.</p>
<p>The Turkmen border goes through mostly flat terrain, where the risks of breakthrough can be
higher and more resources are required for a tight cover of the whole length.</p>
<p>Tajikistan has the longest Afghan border, with mountains that climb up to four thousand meters.</p>
</article>
<aside>SIDEBAR_AD</aside><footer>FOOTER_COPYRIGHT</footer>
<script>document.write("INLINE_SCRIPT")</script></body></html>"""


def test_text_file_title_and_date(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("A Title\n\nMarch 3, 2021\n\nBody text here.", encoding="utf-8")
    document = load(path)
    assert (document.title, document.date, document.pages) == ("A Title", "2021-03-03", ())
    assert document.source == str(path)


def test_utf8_bom_and_utf16_are_read(tmp_path: Path) -> None:
    (tmp_path / "bom.txt").write_bytes("\ufeffHello world".encode())
    (tmp_path / "u16.txt").write_bytes("Hello world".encode("utf-16"))
    assert load(tmp_path / "bom.txt").text == "Hello world"
    assert load(tmp_path / "u16.txt").text == "Hello world"


def test_markdown_title_from_heading_and_front_matter_dropped(tmp_path: Path) -> None:
    path = tmp_path / "n.md"
    path.write_text("---\nlayout: post\n---\n# Notes on borders\n\nSome text.\n")
    document = load(path)
    assert document.title == "Notes on borders"
    assert "layout" not in document.text


def test_html_keeps_main_text_only(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(PAGE)
    document = load(path)
    assert "Uzbek-Afghan border is 137 km long" in document.text
    assert "four thousand meters" in document.text
    for junk in ("SECRET_SCRIPT", "INLINE_SCRIPT", "NAV_LINK_TEXT", "SIDEBAR_AD", "color:red"):
        assert junk not in document.text
    assert document.title == "Border report"
    assert document.date == "2016-01-06"
    assert "\n\n" in document.text  # paragraphs stay paragraphs


def test_a_year_in_an_html_page_is_not_taken_for_its_date(tmp_path: Path) -> None:
    """trafilatura's extensive date search made a footer's copyright year the page's date."""
    path = tmp_path / "child_process.html"
    paragraph = "<p>The child_process module spawns subprocesses much like popen(3) does. " * 3
    path.write_text(
        "<html><head><title>Child processes</title></head><body><main><h1>Child processes</h1>"
        f"{paragraph}</p><p>Windows 2000 and later are supported.</p></main>"
        "<footer>Copyright OpenJS Foundation 2001. All rights reserved.</footer></body></html>"
    )
    document = load(path)
    assert "spawns subprocesses" in document.text
    assert document.date is None


def test_an_html_page_reads_the_same_whatever_was_read_before(tmp_path: Path) -> None:
    """trafilatura's deduplication dropped paragraphs its process-wide cache had seen."""
    shared = "<p>Every page of this handbook carries the same safety notice about the border.</p>"
    texts = []
    for n in range(5):
        path = tmp_path / f"page{n}.html"
        own = f"<p>Page {n} tells how the Uzbek-Afghan border of 137 km is guarded by day.</p>"
        path.write_text(f"<html><body><article>{own * 2}{shared}</article></body></html>")
        texts.append(load(path).text)
        assert "same safety notice" in texts[-1], texts[-1]
    assert [load(tmp_path / "page0.html").text for _ in range(4)] == [texts[0]] * 4


def test_tiny_html_falls_back_to_visible_text(tmp_path: Path) -> None:
    path = tmp_path / "tiny.html"
    path.write_text("<html><body><script>x()</script><p>Just one line.</p></body></html>")
    assert load(path).text == "Just one line."


def test_html_with_too_many_elements_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "spans.html"
    path.write_text("<p>Text.</p>" + "<span></span>" * 1_600_000)  # 20 MB; ~45 s to extract
    started = time.monotonic()
    with pytest.raises(LoadError) as info:
        load(path)
    assert time.monotonic() - started < 5
    assert str(info.value) == (
        f"the HTML has over {MAX_HTML_ELEMENTS:,} elements (limit {MAX_HTML_ELEMENTS:,}); "
        "split it or convert it to text"
    )


def test_html_at_the_element_limit_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html, "MAX_HTML_ELEMENTS", 300)  # the real limit takes ~2 s
    path = tmp_path / "page.html"
    page = "<html><body><p>Kept text.</p>" + "<span>w</span>" * 297
    path.write_text(page + "</body></html>")
    assert "Kept text." in load(path).text
    path.write_text(page + "<span>w</span></body></html>")
    with pytest.raises(LoadError, match="over 300 elements"):
        load(path)


def test_html_table_row_with_too_many_cells_is_refused(tmp_path: Path) -> None:
    # trafilatura's time grows with the square of one row's cells; many full rows are fine.
    row = "<tr>" + "<td>w</td>" * MAX_HTML_ROW_CELLS
    path = tmp_path / "table.html"
    path.write_text(f"<html><body><p>Kept text.</p><table>{row * 3}</table></body></html>")
    assert "Kept text." in load(path).text
    path.write_text(f"<html><body><p>Text.</p><table>{row}<td>w</td></table></body></html>")
    with pytest.raises(LoadError, match=f"a table row in the HTML has over {MAX_HTML_ROW_CELLS:,}"):
        load(path)


def test_an_element_with_too_many_attributes_is_refused_at_once(tmp_path: Path) -> None:
    # 200,000 attributes on one element (2.3 MB) held a server for 40+ minutes in libxml2.
    attributes = " ".join(f'a{i}="x"' for i in range(200_000))
    path = tmp_path / "attributes.html"
    path.write_text(f"<html><body><div {attributes}>Hi.</div></body></html>")
    started = time.monotonic()
    with pytest.raises(LoadError) as info:
        load(path)
    assert time.monotonic() - started < 5
    assert str(info.value) == (
        f"an element in the HTML has over {MAX_HTML_ATTRIBUTES:,} attributes (limit "
        f"{MAX_HTML_ATTRIBUTES:,}); this is not a page to read"
    )
    # Without spaces between them, attributes are still counted.
    path.write_text("<p " + 'a="1"' * (MAX_HTML_ATTRIBUTES + 1) + ">Hi.</p>")
    with pytest.raises(LoadError, match="attributes"):
        load(path)
    many = " ".join(f'data-k{i}="v"' for i in range(MAX_HTML_ATTRIBUTES // 2 - 1))
    path.write_text(f"<html><body><p {many}>Kept text.</p></body></html>")
    assert "Kept text." in load(path).text


REAL = Path(__file__).resolve().parent.parent / "eval" / "dev" / "docs-real"


def paragraphs(name: str) -> list[str]:
    return load(REAL / name).text.split("\n\n")


def test_hard_wrapped_html_paragraphs_read_as_a_browser_shows_them() -> None:
    # git's manual pages wrap every paragraph in the source; each line was a paragraph.
    text = paragraphs("git-config.html")
    assert (
        "gui.fastCopyBlame: If true, git gui blame uses -C instead of -C -C for original "
        "location detection. It makes blame significantly faster on huge repositories at the "
        "expense of less thorough copy detection."
    ) in text
    blame = paragraphs("git-blame.html")
    # Inline <code> inside a wrapped sentence does not break it either.
    assert (
        "When specified one or more times, -L restricts annotation to the requested lines." in blame
    )
    assert "DESCRIPTION" in blame  # a heading after a <pre> stays a paragraph of its own
    # Code blocks keep their lines.
    assert any(p.startswith("$ git log --pretty=oneline -S'blame_usage'") for p in blame)


@pytest.mark.parametrize(
    ("page", "opening"),
    [
        ("git-config.html", "init.defaultBranch: Allows overriding the default branch name"),
        ("git-cherry-pick.html", "-m <parent-number>, --mainline <parent-number>: Usually you"),
        ("postgresql-runtime-config-resource.html", "work_mem (integer): Sets the base maximum"),
        ("python-using-cmdline.html", "-c <command>: Execute the Python code in command."),
        ("python-library-json.html", "json.dumps(obj, *, skipkeys=False"),
    ],
)
def test_a_definition_term_opens_the_paragraph_it_describes(page: str, opening: str) -> None:
    # <dt>/<dd>: the option's name and the sentence saying what it does are one passage text.
    assert any(p.startswith(opening) for p in paragraphs(page))


def test_a_heading_that_is_a_name_labels_its_paragraph(tmp_path: Path) -> None:
    path = tmp_path / "settings.html"
    path.write_text(
        "<html><head><title>Settings</title></head><body><article>"
        "<h2>Examples</h2><p>Plain headings stay where they are.</p>"
        "<h3><code>cache_size</code></h3><p>Sets the number of pages kept in memory.</p>"
        "</article></body></html>"
    )
    text = load(path).text.split("\n\n")
    assert "cache_size: Sets the number of pages kept in memory." in text
    assert "Examples" in text


def test_html_title_comes_from_the_page_when_it_has_no_h1() -> None:
    # Before: "Warning" (the first note box's heading) for pg_dump's page.
    assert load(REAL / "postgresql-app-pgdump.html").title == "pg_dump"
    assert load(REAL / "python-library-json.html").title == "json — JSON encoder and decoder"


def test_pdf_text_layer_with_page_offsets(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    make_pdf(path, ["First page about Tajikistan.", "Second page about Turkmenistan."])
    document = load(path)
    assert document.title == "Border PDF"
    assert len(document.pages) == 2
    first, second = (document.text[s:e] for s, e in document.pages)
    assert "Tajikistan" in first and "Turkmenistan" in second
    assert document.page_at(document.text.index("Turkmenistan")) == 2


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("binary.txt", b"\x00\x01\x02binary\x00" * 10, "binary file"),
        (
            "latin1.txt",
            "caf\xe9 cr\xe8me".encode("latin-1"),
            "not UTF-8 text (byte 0xe9 at offset 3)",
        ),
        (
            "broken.pdf",
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage",
            "corrupt or unreadable PDF",
        ),
        ("random.pdf", bytes(range(256)) * 4, "corrupt or unreadable PDF"),
        ("blank.txt", b"   \n\n  \t ", "no text found"),
        ("table.xlsx", b"PK\x03\x04", "unsupported file type .xlsx"),
    ],
)
def test_bad_files_give_one_line_reasons(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError) as info:
        load(path)
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_truncated_pdf_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "whole.pdf"
    make_pdf(path, ["Some text on a page."])
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 3])
    with pytest.raises(LoadError, match="PDF"):
        load(cut)


def test_a_file_read_past_its_deadline_is_refused_and_the_next_one_reads(tmp_path: Path) -> None:
    from ingest.reader import Reader

    reader = Reader()
    small = tmp_path / "small.html"
    small.write_text("<html><body><p>Kept text.</p></body></html>")
    big = tmp_path / "big.html"  # under the element limit: about 2-3 s of trafilatura
    big.write_text("<html><body>" + "<div><p>w</p></div>" * 24_000 + "</body></html>")
    try:
        assert reader.load(small, seconds=120).text == "Kept text."  # the child is up
        with pytest.raises(LoadError, match=r"reading the file took over 0\.5 s"):
            reader.load(big, seconds=0.5)
        assert reader.load(small, seconds=120).text == "Kept text."  # a new child reads
    finally:
        reader.close()
