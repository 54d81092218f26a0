"""The offline answerer on questions about the article, written for this test."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answer import check_citations
from rag.api import Pipeline
from rag.errors import QuestionError
from rag.settings import Settings

ROWS = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "qa.jsonl").read_text().splitlines()
    if line.strip()
]


def normalise(text: str) -> str:
    return " ".join(text.split()).lower()


@pytest.fixture(scope="module")
def pipeline(article_data_dir: Path) -> Iterator[Pipeline]:
    with Pipeline.open(Settings(data_dir=article_data_dir)) as opened:
        yield opened


def test_question_set_covers_the_required_kinds() -> None:
    answerable = [r for r in ROWS if r.get("answerable", True)]
    assert len(answerable) >= 30
    assert sum(not r.get("answerable", True) for r in ROWS) >= 3
    assert sum(bool(r.get("history")) for r in ROWS) >= 2


def test_offline_answers_state_the_fact_cite_the_evidence_and_decline_the_rest(
    pipeline: Pipeline,
) -> None:
    facts = cited_gold = answered = declined_right = 0
    failures = []
    for row in ROWS:
        answer = pipeline.ask(row["question"], [tuple(t) for t in row.get("history", [])])
        check_citations(answer)
        assert answer.answerer == "extractive"
        if not row.get("answerable", True):
            declined_right += not answer.answerable
            if answer.answerable:
                failures.append(f"answered unanswerable {row['question']!r}: {answer.answer[:80]}")
            continue
        has_fact = any(normalise(e) in normalise(answer.answer) for e in row["expected"])
        facts += has_fact
        if answer.answerable:
            answered += 1
            cited_gold += any(
                normalise(row["evidence"]) in normalise(c.text) for c in answer.citations
            )
        if not has_fact:
            failures.append(f"missed {row['question']!r}: {answer.answer[:80]}")
    answerable = sum(r.get("answerable", True) for r in ROWS)
    unanswerable = len(ROWS) - answerable
    print(
        f"\noffline answerer: expected fact in {facts}/{answerable} = {facts / answerable:.2f}; "
        f"gold evidence cited in {cited_gold}/{answered} answered = {cited_gold / answered:.2f}; "
        f"declined {declined_right}/{unanswerable} unanswerable"
    )
    print("\n".join(failures))
    # These questions are among the answerer's training data (scripts/train_answerer.py), so
    # the floors sit under its training figures (30/36, 31/33, 8/8 since issue 23's model,
    # which declines more: 32/36, 33/35, 6/8 before): a guard against a change that breaks
    # it, not a measure of quality (that is `rag eval`, held out).
    assert facts / answerable >= 0.8
    assert cited_gold / answered >= 0.9
    assert declined_right >= 3 * unanswerable // 4


def test_the_done_when_question(pipeline: Pipeline) -> None:
    answer = pipeline.ask("How long is the Uzbek-Afghan border?")
    assert "137 km" in answer.answer and answer.answerable
    assert answer.citations[0].support is not None
    assert "Uzbek-Afghan border of 137 km" in answer.citations[0].support.text
    assert answer.answer.endswith("[1]") and len(answer.citations) == 1


def test_the_follow_up_is_answered_about_turkmenistan(pipeline: Pipeline) -> None:
    history = [
        ("How long is Tajikistan's border with Afghanistan?", "It exceeds 1300 kilometers. [1]")
    ]
    answer = pipeline.ask("And Turkmenistan's?", history)
    assert "745 kilometers" in answer.answer


def test_interviewer_questions_are_never_the_answer(pipeline: Pipeline) -> None:
    for row in ROWS:
        answer = pipeline.ask(row["question"], [tuple(t) for t in row.get("history", [])])
        for citation in answer.citations:
            assert citation.support is not None
            assert not citation.support.text.rstrip().endswith("?")


def test_citations_locate_the_passage_in_its_document(pipeline: Pipeline) -> None:
    from ingest.loaders import load
    from rag.settings import DEFAULT_CORPUS

    text = load(DEFAULT_CORPUS).text
    answer = pipeline.ask("When did the Tajik authorities decide to guard their own border?")
    citation = answer.citations[0]
    assert text[citation.start : citation.end] == citation.text
    assert citation.support is not None
    assert citation.text[citation.support.start : citation.support.end] == citation.support.text
    assert citation.title and citation.date == "2016-01-06" and citation.chunk_id


def test_bad_questions_are_refused_with_a_reason(pipeline: Pipeline) -> None:
    with pytest.raises(QuestionError, match="empty"):
        pipeline.ask(" \n\t ")
    with pytest.raises(QuestionError, match="RAG_MAX_QUESTION_CHARS"):
        pipeline.ask("why " * 1000)


def test_the_chain_is_a_runnable_with_invoke_stream_and_batch(pipeline: Pipeline) -> None:
    question = {"question": "Who translated the interview from Russian?", "history": []}
    chunks = list(pipeline.chain.stream(question))
    final = chunks[-1].answer
    assert final is not None and "Kristina Rus" in final.answer
    assert "".join(c.delta for c in chunks) == final.answer
    invoked = pipeline.chain.invoke(question).answer
    assert invoked is not None and invoked.answer == final.answer
    batch = pipeline.chain.batch([question, {"question": "What is the recipe for borscht?"}])
    assert [b.answer.answerable for b in batch if b.answer] == [True, False]
    timings = final.timings
    assert 0 < timings.retrieve_ms <= timings.total_ms and timings.generate_ms <= timings.total_ms


def test_a_question_embeds_only_itself(article_data_dir: Path) -> None:
    """The sentence vectors were stored at ingest: a fresh process has nothing to warm."""
    from rag.embeddings.cache import CachingEmbedder
    from tests.helpers import CountingEmbedder

    with Pipeline.open(Settings(data_dir=article_data_dir)) as fresh:
        embedder = fresh.store.embedder
        assert isinstance(embedder, CachingEmbedder)
        assert fresh.warm() == 0
        counter = CountingEmbedder(embedder.inner)
        embedder.inner = counter  # type: ignore[assignment]
        try:
            answer = fresh.ask("Which valley has an acute employment problem?")
        finally:
            embedder.inner = counter.inner  # type: ignore[assignment]
    assert "Fergana valley" in answer.answer
    assert counter.texts <= 1  # at most the question: every sentence vector came from the cache


TWO_TURNS = [
    ("How long is the Uzbek-Afghan border?", "137 km"),
    ("And the Turkmen one?", "745 kilometers"),
]


@pytest.mark.parametrize(
    "question", ["thanks!", "ok great", "hello", "What is the population of Uzbekistan?"]
)
def test_small_talk_and_a_kind_of_fact_the_article_lacks_are_declined(
    pipeline: Pipeline, question: str
) -> None:
    # Before: "thanks!" was answered with a quote, the population with the border's 137 km.
    answer = pipeline.ask(question, TWO_TURNS)
    assert not answer.answerable and not answer.citations, answer.answer
    assert answer.related  # the closest passages are still offered


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("Who translated the interview?", "Kristina Rus"),
        ("Which base is in Tajikistan?", "201st"),
        ("And Tajikistan?", "1300"),  # a real follow-up still reads the earlier turns
    ],
)
def test_a_new_topic_after_two_turns_is_answered_on_its_own(
    pipeline: Pipeline, question: str, fact: str
) -> None:
    # Before: a short new question was searched with the two border questions and answered
    # with a border length.
    assert fact in pipeline.ask(question, TWO_TURNS).answer


@pytest.mark.parametrize(
    ("question", "follow_up"),
    [
        ("А у Туркменистана?", True),
        ("А какая у него длина?", True),
        ("Und dort?", True),
        ("Wie lang ist sie dort?", True),
        ("Why?", True),
        ("Who translated the interview?", False),
        ("Gibt es eine Obergrenze für Tabellennamen?", False),
        ("Кто перевёл интервью?", False),
    ],
)
def test_follow_ups_are_told_from_new_questions_in_three_languages(
    question: str, follow_up: bool
) -> None:
    from rag.conversation import is_follow_up

    assert is_follow_up(question, TWO_TURNS) is follow_up


def test_an_answer_about_an_option_names_it(tmp_path: Path) -> None:
    # git's manual: the option's name sits in <dt>, what it does in <dd>. Before, they were
    # separate paragraphs ("- -m parent-number" and "- Usually you cannot..."), and the
    # answer never said which option it was about.
    from ingest.indexer import Indexer
    from rag.store import Store

    settings = Settings(data_dir=tmp_path / "data")
    page = Path(__file__).resolve().parent.parent / "eval/dev/docs-real/git-cherry-pick.html"
    with Store.open(settings, write=True) as store:
        Indexer(store).ingest([page])
    with Pipeline.open(settings) as git:
        mainline = git.ask("What does the --mainline option of cherry-pick specify?")
        assert mainline.answer.startswith("-m <parent-number>, --mainline <parent-number>:")
        assert "This option specifies the parent number" in mainline.answer
        check_citations(mainline)
        edit = git.ask("What does the -x option of cherry-pick do?")
        assert edit.answer.startswith("-x: When recording the commit")
