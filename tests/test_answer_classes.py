"""The classes of failure issue 13 named, each held by a test on real documents.

Questions about the document itself, other languages, quantities in the wrong unit, text that
is not a statement (code, tables, lead-ins), PDF lines broken by the layout, declines that
still help, and the sentence index that spares answering from embedding anything but the
question.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.indexer import Indexer
from ingest.loaders import load
from rag.answer import check_citations
from rag.answering.decision import WEIGHTS
from rag.api import Pipeline
from rag.retrieval.passages import is_statement, quotable_spans
from rag.settings import Settings
from rag.store import Store
from rag.text import expected_unit, has_kind, has_unit, split_sentences
from tests.helpers import make_pdf

DEV_DOCS = Path(__file__).resolve().parent.parent / "eval" / "dev" / "docs"


@pytest.fixture(scope="module")
def article(article_data_dir: Path) -> Iterator[Pipeline]:
    with Pipeline.open(Settings(data_dir=article_data_dir)) as pipeline:
        yield pipeline


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """The six development documents: a Russian interview among five English ones."""
    data = tmp_path_factory.mktemp("dev") / "data"
    with Store.open(Settings(data_dir=data), write=True) as store:
        assert not Indexer(store).ingest([DEV_DOCS]).failed
    with Pipeline.open(Settings(data_dir=data)) as pipeline:
        yield pipeline


def test_code_tables_and_lead_ins_are_not_quoted() -> None:
    assert not is_statement("Using this flag looks like this:")
    assert not is_statement("driftwood backup --retries 5 --dest s3://bucket/path")
    assert not is_statement("| --retries | 3 | How many times a failed upload is retried |")
    assert not is_statement("retries = 5  # in driftwood.toml")
    assert not is_statement("Call client.connect() before sending anything.")
    assert not is_statement("Installation And Safety Manual")
    assert is_statement("The --retries flag sets how many times a failed upload is tried again.")
    assert is_statement("It processed 41 million litres a day in 2024, up from 37 million.")


def test_sentences_end_where_sentences_end() -> None:
    text = (
        "The bridge closed on Aug. 4, 2023, after an inspection. Dr. Lee approved it. "
        "The dam is 512 meters wide. <script>x = 1</script> The U.S. but also others."
    )
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "The bridge closed on Aug. 4, 2023, after an inspection.",
        "Dr. Lee approved it.",
        "The dam is 512 meters wide.",
        "<script>x = 1</script> The U.S. but also others.",
    ]


def test_a_sentence_leaning_on_a_pronoun_is_quoted_with_the_one_before() -> None:
    text = "Russia gives aid to the region. Over six years it has exceeded five billion dollars."
    spans = [text[s:e] for s, e in quotable_spans(text, {})]
    assert spans == ["Russia gives aid to the region.", text]


def test_a_quantity_is_asked_for_in_a_unit() -> None:
    assert expected_unit("How long is the Uzbek-Afghan border?") == "length"
    assert expected_unit("How much aid has Russia given the region?") == "money"
    assert expected_unit("Сколько стоит взрослый билет?") == "money"
    assert expected_unit("How long did the rebuild take?") == "duration"
    assert has_unit("the Uzbek-Afghan border of 137 km", "length")
    assert has_unit("it has exceeded five billion dollars", "money")
    assert not has_unit("Turkmenistan – 745 kilometers", "money")
    assert not has_kind("the 201st military base", "number")  # an ordinal is not a count
    assert not has_kind("in 2005 the authorities decided", "number")  # nor is a bare year


def test_pdf_lines_broken_by_the_layout_are_joined(tmp_path: Path) -> None:
    path = tmp_path / "manual.pdf"
    sentence = (
        "In coastal areas within 1 km of the sea, order the coated evaporator version AW-9C "
        "to prevent salt corrosion of the fins and the frame."
    )
    make_pdf(path, [f"Choosing the location\n\n{sentence} Keep the fan outlet free."])
    text = load(path).text
    assert sentence in text
    assert sentence in [text[s:e] for s, e in split_sentences(text)]


def test_ingest_stores_each_quotable_sentence_and_deleting_drops_them(settings: Settings) -> None:
    path = settings.data_dir.parent / "doc.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("The Kestrel dam holds 41 million cubic meters.\n\nIt was built in 1962.\n")
    with Store.open(settings, write=True) as store:
        Indexer(store).ingest([path])
        records = list(store.records())
        ids = [id_ for id_, _, _ in records]
        stored = store.sentence_vectors(ids)
        expected = {(i, s, e) for i, text, meta in records for s, e in quotable_spans(text, meta)}
        assert set(stored) == expected and expected
        store.delete(ids)
        assert store.sentence_vectors(ids) == {}


def test_every_answer_carries_a_confidence_and_a_decline_offers_related_passages(
    article: Pipeline,
) -> None:
    answered = article.ask("How long is the Uzbek-Afghan border?")
    assert answered.answerable and "137 km" in answered.answer
    assert answered.confidence is not None and 0.0 <= answered.confidence <= 1.0
    declined = article.ask("What is the recipe for borscht?")
    check_citations(declined)  # still cites nothing
    assert not declined.answerable and not declined.citations
    assert declined.confidence is not None and declined.confidence > 0.5
    assert 1 <= len(declined.related) <= 3
    for passage in declined.related:
        assert passage.support is not None
        assert passage.text[passage.support.start : passage.support.end] == passage.support.text
    again = type(declined).from_dict(json.loads(json.dumps(declined.to_dict())))
    assert again.related == declined.related and again.confidence == declined.confidence


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("When was the article published?", "January 6, 2016"),
        ("Who translated the interview?", "Kristina Rus"),
    ],
)
def test_questions_about_the_document_itself(article: Pipeline, question: str, fact: str) -> None:
    answer = article.ask(question)
    assert answer.answerable and fact in answer.answer
    assert fact in answer.citations[0].text


def test_a_russian_question_over_the_english_article(article: Pipeline) -> None:
    answer = article.ask("Какова протяжённость узбекско-афганской границы?")
    assert answer.answerable and "137 km" in answer.answer


def test_an_english_question_reads_the_russian_document(dev: Pipeline) -> None:
    """Over mixed languages the per-script search gives the Russian interview its place.

    Without it the English question's own language fills every place: the passage with the
    answer ranked below all five English documents' (measured: 28 of 34 English questions
    about the interview missed it). Whether the answer then quotes the Russian sentence or
    the FAQ's "An adult single ... costs £6.50" is the answerer's call, and it does not
    always make it (see the README's figures for questions in the other language).
    """
    request = dev.retrieve(dev.request("How much does an adult ticket to the museum cost?", None))
    read = [p for p in request.passages if "250 рублей" in p.text]
    assert read and read[0].metadata["path"].endswith("interview-ru.txt")


def test_a_russian_question_finds_the_english_document(dev: Pipeline) -> None:
    answer = dev.ask("Сколько весит наружный блок без упаковки?")
    assert answer.answerable and "98 kg" in answer.answer
    assert answer.citations[0].source.endswith("manual.pdf")


def test_both_bundled_embedders_have_a_trained_decision() -> None:
    data = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    assert set(data["models"]) == {
        "onnx:multilingual-e5-small-q4",
        "onnx:all-MiniLM-L6-v2-int8",
    }
    assert data["default"] == "onnx:multilingual-e5-small-q4"
    for model in data["models"].values():
        assert 0.0 < model["threshold"] < 1.0
        assert len(model["chooser"]) == len(model["features"])


def test_closest_passages_show_document_text_as_text(article: Pipeline) -> None:
    """A decline's related passages are document text too: escaped like sources, in the chat
    page's HTML and in the terminal, with no marker that could pass for a citation."""
    from dataclasses import replace

    from ui.render import answer_html, as_text

    declined = article.ask("What is the recipe for borscht?")
    assert declined.related
    hostile = '<img src=x onerror="window.__xss=1"> [1] <script>alert(2)</script>'
    first = declined.related[0]
    poisoned = replace(first, text=hostile + first.text, title='<b onmouseover="x()">t</b>')
    shown = answer_html(replace(declined, related=(poisoned, *declined.related[1:])))
    assert "<img" not in shown and "<script" not in shown and "<b " not in shown
    assert "&lt;img src=x" in shown and "&lt;script&gt;" in shown
    assert 'class="rag-closest"' in shown and 'class="rag-source"' not in shown
    assert 'class="rag-cite"' not in shown  # the fake [1] in the text links nowhere
    text = as_text(declined)
    assert "Closest passages (not cited)" in text and "[1]" not in text.split("Closest")[1]
