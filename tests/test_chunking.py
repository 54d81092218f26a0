from itertools import pairwise
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.chunking import Chunk, Chunker, is_section_head
from ingest.loaders import LoadedDocument, load
from rag.settings import DEFAULT_CORPUS
from rag.text import keyword_text


def assert_well_formed(document: LoadedDocument, chunks: list[Chunk], size: int) -> None:
    text = document.text
    assert chunks or not text.strip()
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.text.strip() == chunk.text and chunk.text
    starts = [c.start for c in chunks]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    # Nothing is lost: every non-space character lies in some chunk.
    covered = bytearray(len(text))
    for chunk in chunks:
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    assert all(covered[i] or text[i].isspace() for i in range(len(text)))
    # No chunk only repeats what its neighbours already hold.
    for before, chunk, after in zip(chunks, chunks[1:], chunks[2:], strict=False):
        assert not (
            before.end >= after.start and before.start <= chunk.start and chunk.end <= after.end
        )
    for a, b in pairwise(chunks):
        assert b.end > a.end


def test_article_chunks_are_exact_slices_with_questions_joined_to_answers() -> None:
    document = load(DEFAULT_CORPUS)
    chunks = Chunker(600, 100).chunk(document)
    assert_well_formed(document, chunks, 600)
    heads = [c for c in chunks if is_section_head(c.text)]
    assert heads == [], "a chunk holds only an interviewer's question"
    questions = [c for c in chunks if c.context and c.text.startswith(c.context)]
    assert len(questions) == 9  # the interview's nine questions, each opening its answer
    for chunk in chunks:
        assert len(chunk.text) <= 600 + 600  # a question may ride on top of a full chunk
        assert chunk.page is None


def test_later_chunks_of_an_answer_carry_their_question_for_keyword_search() -> None:
    chunks = Chunker(600, 100).chunk(load(DEFAULT_CORPUS))
    border = next(c for c in chunks if "Uzbek-Afghan border of 137 km" in c.text)
    assert border.context is not None and border.context.startswith("– How likely is it")
    assert keyword_text(border.text, border.context).startswith(border.context + "\n")
    assert not border.text.startswith("–")


def test_question_detection() -> None:
    assert is_section_head("– Does Moscow plan to participate?")
    assert is_section_head("-How great is the danger for Russia?")
    assert is_section_head("## Installation")
    assert not is_section_head("Of course, we coordinate practical steps.")
    assert not is_section_head("x" * 700 + "?")


def test_markdown_sections_open_with_their_heading(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text("# Guide\n\nIntro text.\n\n## Install\n\nRun the installer.\n\n## Use\n\nAsk.")
    chunks = Chunker(600, 100).chunk(load(path))
    assert [c.text for c in chunks] == [
        "# Guide\n\nIntro text.",
        "## Install\n\nRun the installer.",
        "## Use\n\nAsk.",
    ]


sentence = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(
        st.text("abcdefghij ", min_size=1, max_size=12).map(str.strip).filter(bool),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from([".", "?", "!", "", "…"]),
)
paragraph = st.lists(sentence, min_size=1, max_size=12).map(" ".join)
document_text = st.lists(
    st.one_of(paragraph, paragraph.map(lambda p: "– " + p + "?"), st.just("## Heading")),
    min_size=1,
    max_size=15,
).map("\n\n".join)


@settings(max_examples=max(300, settings().max_examples), deadline=None)
@given(text=document_text, size=st.integers(100, 700), overlap_ratio=st.floats(0, 0.5))
def test_any_document_chunks_into_exact_slices(text: str, size: int, overlap_ratio: float) -> None:
    document = LoadedDocument("/x.txt", text)
    chunks = Chunker(size, int(size * overlap_ratio)).chunk(document)
    assert_well_formed(document, chunks, size)


def test_pages_follow_chunk_offsets() -> None:
    document = LoadedDocument(
        "/x.pdf", "Page one text.\n\nPage two text.", pages=((0, 14), (16, 30))
    )
    chunks = Chunker(100, 10).chunk(document)
    assert document.page_at(0) == 1 and document.page_at(16) == 2 and document.page_at(30) == 2
    assert [(c.page, c.page_end) for c in chunks] == [(1, 2)]
