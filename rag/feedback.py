"""Users' ratings of answers and citations, kept in SQLite (or PostgreSQL) beside what they rate.

The server records every answer it gives (question, conversation, the whole answer object),
so a rating names an answer by ``answer_id`` and can never describe text the server did not
send. SQLite in WAL mode with ``synchronous=FULL``: a rating is on disk when ``rate`` returns,
so neither a restart nor a killed process loses it, and several processes (or threads) may
write at once; SQLite serialises them and its busy timeout makes each wait its turn. Several
servers on several machines share one PostgreSQL database instead (``RAG_FEEDBACK_URL``);
the SQL is the same but for placeholders and the id column.

Ratings: an answer is ``helpful`` or ``not_helpful``; a citation (``citation`` = its ``n``)
``supports`` or ``unsupported`` ("this source does not support the claim"); ``cleared``
takes back the earlier rating of the same target. The latest rating of a target counts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.answer import Answer
from rag.conversation import Turn, is_encodable
from rag.errors import FeedbackError
from rag.settings import Settings

ANSWER_RATINGS = ("helpful", "not_helpful")
CITATION_RATINGS = ("supports", "unsupported")
MAX_COMMENT_CHARS = 2000
SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    answer_id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    question TEXT NOT NULL,
    history TEXT NOT NULL,
    answer TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ratings (
    id {id_column},
    answer_id TEXT NOT NULL REFERENCES answers(answer_id),
    created TEXT NOT NULL,
    citation INTEGER,
    rating TEXT NOT NULL,
    comment TEXT
);
CREATE INDEX IF NOT EXISTS ratings_by_answer ON ratings(answer_id, citation, id);
"""


@dataclass(frozen=True)
class Rated:
    """One rated answer with its users' latest judgement."""

    answer_id: str
    rated: str
    question: str
    history: list[Turn]
    answer: dict[str, Any]
    rating: str | None = None
    citations: dict[int, str] = field(default_factory=dict)
    comments: tuple[str, ...] = ()

    def to_row(self) -> dict[str, Any]:
        """A dataset line (``rag eval``): the question, and what users said of its answer."""
        return {
            "id": self.answer_id,
            "kind": "feedback",
            "question": self.question,
            "history": [list(turn) for turn in self.history],
            "feedback": {
                "rated": self.rated,
                "rating": self.rating,
                "citations": {str(n): r for n, r in sorted(self.citations.items())},
                "comments": list(self.comments),
                "answer": self.answer,
            },
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def check_rating(answer_id: Any, rating: Any, citation: Any = None, comment: Any = None) -> None:
    """``FeedbackError`` saying what is wrong with a rating as sent, before any lookup.

    The REST API reports a malformed body with these same words.
    """
    if not isinstance(answer_id, str) or not answer_id:
        raise FeedbackError("answer_id must be the id of an answer (text)")
    if citation is not None and (isinstance(citation, bool) or not isinstance(citation, int)):
        raise FeedbackError("citation must be the number of one of the answer's citations")
    allowed = (*(ANSWER_RATINGS if citation is None else CITATION_RATINGS), "cleared")
    if rating not in allowed:
        target = "an answer" if citation is None else "a citation"
        raise FeedbackError(f"rating of {target} must be one of {', '.join(allowed)}")
    if comment is not None and not (isinstance(comment, str) and is_encodable(comment)):
        raise FeedbackError("comment must be text")
    if not is_encodable(answer_id):
        raise FeedbackError("answer_id must be the id of an answer (text)")
    if comment and len(comment) > MAX_COMMENT_CHARS:
        raise FeedbackError(f"comment is over {MAX_COMMENT_CHARS} characters")


class FeedbackStore:
    """The answers given and the ratings received: a SQLite file, or a PostgreSQL URL."""

    def __init__(self, where: Path | str) -> None:
        self.path = where
        self._lock = threading.Lock()
        self._postgres = isinstance(where, str) and where.startswith(("postgresql:", "postgres:"))
        if self._postgres:
            import psycopg

            self._db: Any = psycopg.connect(str(where), autocommit=True)
            self.errors: tuple[type[Exception], ...] = (psycopg.Error,)
            id_column = "BIGSERIAL PRIMARY KEY"
        else:
            path = Path(where)
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions are opened and closed here, explicitly.
            self._db = sqlite3.connect(
                path, timeout=30, check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self.errors = (sqlite3.Error,)
            id_column = "INTEGER PRIMARY KEY AUTOINCREMENT"
        with self._lock:
            for statement in SCHEMA.format(id_column=id_column).split(";"):
                if statement.strip():
                    self._execute(statement)

    @classmethod
    def open(cls, settings: Settings) -> FeedbackStore:
        """The store the settings name: ``RAG_FEEDBACK_URL``, else the data folder's file."""
        return cls(settings.feedback_url or settings.feedback_path)

    def _execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        if self._postgres:
            sql = sql.replace("?", "%s")
        return self._db.execute(sql, parameters)

    def _again(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        """Run a statement that opens a transaction or only reads, reconnecting once if needed.

        A PostgreSQL connection dies with a server restart or a killed backend; nothing was
        done in it yet, so running the statement again on a new connection is safe.
        """
        try:
            return self._execute(sql, parameters)
        except self.errors:
            if not self._postgres or not (self._db.closed or self._db.broken):
                raise
            import psycopg

            self._db = psycopg.connect(str(self.path), autocommit=True)
            return self._execute(sql, parameters)

    @contextmanager
    def _write(self) -> Iterator[None]:
        with self._lock:
            self._again("BEGIN" if self._postgres else "BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._execute("ROLLBACK")
                raise
            self._execute("COMMIT")

    def record(self, answer: Answer, history: Sequence[Turn] = ()) -> None:
        """Keep an answer given, so that it can be rated later."""
        with self._write():
            self._execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?) ON CONFLICT (answer_id) DO NOTHING",
                (
                    answer.answer_id,
                    _now(),
                    answer.question,
                    json.dumps([list(t) for t in history], ensure_ascii=False),
                    json.dumps(answer.to_dict(), ensure_ascii=False),
                ),
            )

    def rate(self, answer_id: Any, rating: Any, citation: Any = None, comment: Any = None) -> int:
        """Store one rating; ``FeedbackError`` says what is wrong with it. Returns its id."""
        check_rating(answer_id, rating, citation, comment)
        with self._write():
            found = self._execute(
                "SELECT answer FROM answers WHERE answer_id = ?", (answer_id,)
            ).fetchone()
            if found is None:
                raise FeedbackError(f"no answer with id {answer_id[:64]!r} was given here")
            numbers = {c["n"] for c in json.loads(found[0])["citations"]}
            if citation is not None and citation not in numbers:
                raise FeedbackError(f"the answer has no citation [{citation}]")
            row = self._execute(
                "INSERT INTO ratings (answer_id, created, citation, rating, comment) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (answer_id, _now(), citation, rating, comment or None),
            ).fetchone()
            return int(row[0])

    def rated(self) -> list[Rated]:
        """Every answer with a standing rating or a comment, in order of first rating."""
        with self._lock:
            rows = self._again(
                "SELECT r.answer_id, r.citation, r.rating, r.comment, r.created, "
                "a.question, a.history, a.answer "
                "FROM ratings r JOIN answers a USING (answer_id) ORDER BY r.id"
            ).fetchall()
        found: dict[str, dict[str, Any]] = {}
        for answer_id, citation, rating, comment, rated_at, q, history, answer in rows:
            item = found.setdefault(
                answer_id,
                {
                    "question": q,
                    "history": [tuple(t) for t in json.loads(history)],
                    "answer": json.loads(answer),
                    "latest": {},
                    "comments": [],
                    "rated": rated_at,
                },
            )
            item["latest"][citation] = rating
            item["rated"] = rated_at
            if comment:
                item["comments"].append(comment)
        rated = []
        for answer_id, item in found.items():
            standing = {k: v for k, v in item["latest"].items() if v != "cleared"}
            if not standing and not item["comments"]:
                continue
            rated.append(
                Rated(
                    answer_id=answer_id,
                    rated=item["rated"],
                    question=item["question"],
                    history=item["history"],
                    answer=item["answer"],
                    rating=standing.pop(None, None),
                    citations=standing,
                    comments=tuple(item["comments"]),
                )
            )
        return rated

    def count(self) -> tuple[int, int]:
        """How many answers and ratings are stored."""
        with self._lock:
            answers = self._execute("SELECT count(*) FROM answers").fetchone()[0]
            ratings = self._execute("SELECT count(*) FROM ratings").fetchone()[0]
        return int(answers), int(ratings)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
