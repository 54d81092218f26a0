"""Users' ratings: the SQLite store (validation, restarts, concurrent writers, a killed writer),
the REST endpoint, and ``rag eval --from-feedback`` with the users' verdicts beside the judge's.
"""

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.answer import Answer, Citation
from rag.errors import FeedbackError
from rag.evaluation.ratings import judge_rated, rating_scores
from rag.feedback import FeedbackStore


def make_answer(
    text: str = "The border is 137 km long. [1] It was guarded by Russia. [2]",
) -> Answer:
    citations = (
        Citation(1, "a.txt", "A", "c1", "The Uzbek-Afghan border is 137 km long.", 0, 40),
        Citation(2, "a.txt", "A", "c2", "Russian border guards left in 2005.", 41, 76),
    )
    return Answer(text, citations, question="How long is the border?")


@pytest.fixture(params=["sqlite", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """A fresh SQLite file, or a fresh database on the real PostgreSQL server."""
    if request.param == "sqlite":
        return tmp_path / "feedback.sqlite3"
    import uuid

    import psycopg

    url: str = request.getfixturevalue("postgres_url")
    name = f"feedback_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def store(where: Path | str) -> Iterator[FeedbackStore]:
    opened = FeedbackStore(where)
    try:
        yield opened
    finally:
        opened.close()


def test_latest_rating_of_each_target_counts(store: FeedbackStore) -> None:
    answer = make_answer()
    store.record(answer, [("Hi", "Hello")])
    store.rate(answer.answer_id, "helpful")
    store.rate(answer.answer_id, "not_helpful", comment="too short")
    store.rate(answer.answer_id, "unsupported", citation=2)
    store.rate(answer.answer_id, "supports", citation=1)
    store.rate(answer.answer_id, "cleared", citation=1)
    [rated] = store.rated()
    assert rated.rating == "not_helpful"
    assert rated.citations == {2: "unsupported"}
    assert rated.comments == ("too short",)
    assert rated.history == [("Hi", "Hello")] and rated.answer["answer"] == answer.answer
    row = rated.to_row()
    assert row["question"] == "How long is the border?" and row["feedback"]["citations"] == {
        "2": "unsupported"
    }
    other = make_answer()
    store.record(other)  # answered, never rated: not a dataset row
    assert [r.answer_id for r in store.rated()] == [answer.answer_id]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"answer_id": "nope", "rating": "helpful"}, "no answer with id 'nope'"),
        ({"answer_id": None, "rating": "helpful"}, "answer_id must be"),
        ({"rating": "great"}, "rating of an answer must be one of helpful, not_helpful"),
        ({"rating": "unsupported"}, "rating of an answer must be one of"),
        ({"rating": "helpful", "citation": 1}, "rating of a citation must be one of supports"),
        ({"rating": "unsupported", "citation": 3}, "the answer has no citation [3]"),
        ({"rating": "unsupported", "citation": True}, "citation must be the number"),
        ({"rating": "unsupported", "citation": "1"}, "citation must be the number"),
        ({"rating": "helpful", "comment": 5}, "comment must be text"),
        ({"rating": "helpful", "comment": "x" * 2001}, "comment is over 2000 characters"),
    ],
)
def test_bad_ratings_are_refused_with_the_reason(
    store: FeedbackStore, kwargs: dict[str, object], message: str
) -> None:
    answer = make_answer()
    store.record(answer)
    with pytest.raises(FeedbackError, match=message.replace("[", r"\[").replace("]", r"\]")):
        store.rate(**{"answer_id": answer.answer_id, **kwargs})  # type: ignore[arg-type]
    assert store.count() == (1, 0)


def test_ratings_survive_a_restart(where: Path | str) -> None:
    path = where
    first = FeedbackStore(path)
    answer = make_answer()
    first.record(answer)
    first.rate(answer.answer_id, "helpful")
    first.close()
    again = FeedbackStore(path)
    assert [r.rating for r in again.rated()] == ["helpful"]
    assert again.count() == (1, 1)
    again.close()


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from rag.feedback import FeedbackStore
    where = sys.argv[1]
    store = FeedbackStore(where if where.startswith("postgres") else Path(where))
    answer_id, count = sys.argv[2], int(sys.argv[3])
    for i in range(count):
        rating_id = store.rate(answer_id, "helpful" if i % 2 else "not_helpful")
        print(rating_id, flush=True)
    """
)


def test_concurrent_writers_lose_nothing(store: FeedbackStore) -> None:
    answer = make_answer()
    store.record(answer)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store.path), answer.answer_id, "100"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    ids: list[int] = []
    lock = threading.Lock()

    def rate_many() -> None:
        for _ in range(25):
            rating_id = store.rate(answer.answer_id, "unsupported", citation=1)
            with lock:
                ids.append(rating_id)

    threads = [threading.Thread(target=rate_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for process in processes:
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0
        ids.extend(int(line) for line in out.split())
    assert len(ids) == 4 * 100 + 8 * 25 == len(set(ids))
    assert store.count() == (1, 600)


def test_a_writer_killed_mid_write_loses_no_committed_rating(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    answer = make_answer()
    store.record(answer)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(store.path), answer.answer_id, "100000"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    committed = [int(writer.stdout.readline()) for _ in range(200)]
    writer.send_signal(signal.SIGKILL)
    rest, _ = writer.communicate(timeout=30)
    committed += [int(line) for line in rest.split() if line.strip().isdigit()]
    db = sqlite3.connect(store.path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = {row[0] for row in db.execute("SELECT id FROM ratings")}
    finally:
        db.close()
    assert set(committed) <= stored and len(committed) >= 200
    # ...and the database still takes ratings after the crash.
    assert store.rate(answer.answer_id, "helpful") > max(committed)
    store.close()


def words_judge(claim: str, passages: list[str]) -> bool:
    """Supported when every word of four or more letters of the claim is in the passages."""
    text = " ".join(passages).lower()
    return all(w in text for w in claim.lower().strip(".").split() if len(w) >= 4)


def test_the_judge_is_set_beside_the_users_on_the_rated_answer() -> None:
    answer = Answer(
        "The Uzbek-Afghan border is 137 km long. [1] Russian guards left. [2]",
        (
            Citation(1, "a", None, "c1", "The Uzbek-Afghan border is 137 km long.", 0, 1),
            Citation(2, "a", None, "c2", "Tajikistan guards its own border.", 0, 1),
        ),
    )
    feedback = {
        "rating": "not_helpful",
        "citations": {"1": "unsupported", "2": "unsupported"},
        "answer": answer.to_dict(),
    }
    judged = judge_rated(feedback, words_judge)
    # [1] supports its sentence (the user disagrees); [2] does not (the user agrees).
    assert [(c["n"], c["user"], c["judge"]) for c in judged["citations"]] == [
        (1, "unsupported", "supports"),
        (2, "unsupported", "unsupported"),
    ]
    assert (judged["citations_rated"], judged["citations_agreed"]) == (2, 1)
    assert judged["citation_recall"] == 0.5 and judged["citation_precision"] == 0.5
    scores = rating_scores(judged, "another answer", answer.answer)
    assert scores["user_helpful"] == 0.0 and scores["flags"] == 2
    assert scores["answer_changed"] == 1.0


def test_rating_over_the_api(app_server: str, app_folder: Path) -> None:
    answer = httpx.post(
        f"{app_server}/api/ask",
        json={"question": "How long is the Uzbek-Afghan border?"},
        timeout=30,
    ).json()
    assert answer["answer_id"] and answer["citations"]
    ok = httpx.post(
        f"{app_server}/api/feedback",
        json={"answer_id": answer["answer_id"], "rating": "unsupported", "citation": 1},
    )
    assert ok.status_code == 200 and ok.json()["ok"] is True
    bad = [
        ({"answer_id": answer["answer_id"], "rating": "meh"}, "rating of an answer"),
        ({"answer_id": "0" * 32, "rating": "helpful"}, "no answer with id"),
        ({"answer_id": answer["answer_id"], "rating": "supports", "citation": 99}, "no citation"),
    ]
    for body, message in bad:
        refused = httpx.post(f"{app_server}/api/feedback", json=body)
        assert refused.status_code == 422 and message in refused.json()["error"]
    streamed = httpx.post(
        f"{app_server}/api/ask/stream",
        json={"question": "Who translated the interview?"},
        timeout=30,
    ).text
    final = json.loads(streamed.split("event: answer\ndata: ")[1].split("\n")[0])
    assert httpx.post(
        f"{app_server}/api/feedback", json={"answer_id": final["answer_id"], "rating": "helpful"}
    ).is_success
    rated = {
        r.answer_id: r for r in FeedbackStore(app_folder / "data" / "feedback.sqlite3").rated()
    }
    assert rated[answer["answer_id"]].citations == {1: "unsupported"}
    assert rated[final["answer_id"]].rating == "helpful"
    assert rated[final["answer_id"]].question == "Who translated the interview?"


def test_eval_from_feedback_shows_users_beside_the_judge(tmp_path: Path) -> None:
    from rag.api import Pipeline
    from rag.settings import Settings
    from tests.helpers import rag

    assert rag("ingest").returncode == 0
    empty = rag("eval", "--from-feedback")
    assert empty.returncode == 2 and "no ratings yet" in empty.stderr
    settings = Settings()
    store = FeedbackStore(settings.feedback_path)
    with Pipeline.open(settings) as pipeline:
        good = pipeline.ask("How long is the Uzbek-Afghan border?")
        other = pipeline.ask("Who translated the interview?")
    for answer in (good, other):
        store.record(answer)
    store.rate(good.answer_id, "helpful")
    store.rate(good.answer_id, "supports", citation=1)
    store.rate(other.answer_id, "not_helpful")
    store.rate(other.answer_id, "unsupported", citation=1)
    store.close()
    out, saved = tmp_path / "r.jsonl", tmp_path / "rated.jsonl"
    result = rag(
        "eval", "--from-feedback", "--out", str(out), "--save-dataset", str(saved), "--json"
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["rated_answers"] == 2 and metrics["users_helpful"] == 0.5
    assert metrics["users_flagged_citations"] == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    verdicts = [c for r in rows for c in r["judged_rating"]["citations"] if c["user"]]
    agreed = sum(c["user"] == c["judge"] for c in verdicts)
    assert len(verdicts) == 2 and metrics["user_judge_agreement"] == agreed / 2
    assert all(r["scores"]["answer_changed"] == 0.0 for r in rows)  # same pipeline, same answer
    lines = [json.loads(line) for line in saved.read_text().splitlines()]
    assert [line["question"] for line in lines] == [
        "How long is the Uzbek-Afghan border?",
        "Who translated the interview?",
    ]
    report = out.with_suffix(".html").read_text()
    assert (
        "id='ratings'" in report and "👎 not helpful" in report and "✗ does not support" in report
    )
    # The saved rows are a dataset in their own right.
    again = rag("eval", str(saved), "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["rated_answers"] == 2


@pytest.mark.server
def test_two_servers_share_ratings_in_postgresql(postgres_url: str, tmp_path: Path) -> None:
    """Several `rag serve` workers, one feedback database: answered by one, rated on the other."""
    from tests.conftest import running_app

    shared = {"RAG_FEEDBACK_URL": postgres_url, "RAG_RATE_LIMIT_PER_MINUTE": "0"}
    with (
        running_app(tmp_path / "a", tmp_path / "a.log", **shared) as first_url,
        running_app(tmp_path / "b", tmp_path / "b.log", **shared) as second_url,
    ):
        question = {"question": "Who translated the interview from Russian?"}
        answer = httpx.post(f"{first_url}/api/ask", json=question, timeout=30).json()
        rating = {"answer_id": answer["answer_id"], "rating": "supports", "citation": 1}
        assert httpx.post(f"{second_url}/api/feedback", json=rating).status_code == 200
        store = FeedbackStore(postgres_url)
        rated = {r.answer_id: r for r in store.rated()}
        store.close()
        assert rated[answer["answer_id"]].citations == {1: "supports"}
        assert not (tmp_path / "a" / "feedback.sqlite3").exists()


def test_a_dropped_postgresql_connection_is_reopened(postgres_url: str) -> None:
    """The server ends our backend (as a restart would): the next rating still lands."""
    import psycopg

    store = FeedbackStore(postgres_url)
    answer = make_answer()
    store.record(answer)
    backend = store._db.info.backend_pid
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    store.rate(answer.answer_id, "helpful")
    assert store._db.info.backend_pid != backend
    assert [r.rating for r in store.rated() if r.answer_id == answer.answer_id] == ["helpful"]
    store.close()
