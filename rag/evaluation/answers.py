"""Answers produced elsewhere, read for scoring (``rag eval DATASET --answers FILE``).

Two line formats, one JSON object per line:

- this project's answer object (``rag ask --json``, the API, ``rag eval --out`` rows): the
  text in ``answer``, its ``citations`` with their ``text``;
- ALCE's (Gao et al. 2023): the text with ``[n]`` markers in ``output`` (or ``answer``), and
  the passages it read in ``docs`` (``title``, ``text``); ``[n]`` cites ``docs[n-1]``.

A line is matched to its dataset question by ``id`` when both have one, else by the question
text. The passages an answer came with stand in for what it retrieved, so recall@k says
whether gold evidence was among them, in their order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.answer import Answer, Citation
from rag.answering.generative import is_decline
from rag.retrieval.bm25 import BM25Index
from rag.text import Idf, flat_idf


@dataclass(frozen=True)
class Given:
    """An answer read from the file, with the texts of the passages it came with."""

    answer: Answer
    passages: tuple[str, ...]


@dataclass(frozen=True)
class Answers:
    """The file's answers by id and by question, and its unusable lines as error rows."""

    by_id: dict[str, Given]
    by_question: dict[str, Given]
    errors: list[dict[str, Any]]

    def idf(self) -> Idf:
        """Word rarity over the answers' passages, the judge's weights when no store is open."""
        every = [*self.by_id.values(), *self.by_question.values()]
        texts = [text for given in every for text in given.passages]
        return BM25Index.over(texts).idf if texts else flat_idf

    def find(self, fields: dict[str, Any]) -> Given | None:
        """The answer to a dataset line: by its id, else by its question."""
        key = fields.get("id")
        if key is not None and str(key) in self.by_id:
            return self.by_id[str(key)]
        question = fields.get("question")
        return self.by_question.get(question.strip()) if isinstance(question, str) else None


def _from_alce(data: dict[str, Any]) -> Given:
    text = data.get("output", data.get("answer"))
    docs = data["docs"]
    if not isinstance(text, str):
        raise ValueError("an ALCE line needs the answer text in 'output'")
    if not isinstance(docs, list) or not all(
        isinstance(d, dict) and isinstance(d.get("text"), str) for d in docs
    ):
        raise ValueError("'docs' must be a list of objects with a 'text'")
    citations = tuple(
        Citation(
            n=n,
            source=str(d.get("title") or f"docs[{n - 1}]"),
            title=d.get("title"),
            chunk_id=str(d.get("id") or f"docs-{n}"),
            text=d["text"],
            start=0,
            end=len(d["text"]),
        )
        for n, d in enumerate(docs, 1)
    )
    answer = Answer(
        answer=text,
        citations=citations,
        answerable=not is_decline(text),
        answerer="given",
        question=str(data.get("question", "")),
        retrieved=tuple(c.chunk_id for c in citations),
    )
    return Given(answer, tuple(c.text for c in citations))


def _from_answer_object(data: dict[str, Any]) -> Given:
    fields = set(Answer.__dataclass_fields__)
    answer = Answer.from_dict({k: v for k, v in data.items() if k in fields})
    if not isinstance(answer.answer, str):
        raise ValueError("'answer' must be text")
    if not all(isinstance(c.text, str) for c in (*answer.citations, *answer.related)):
        raise ValueError("every citation needs its passage as text in 'text'")
    passages = tuple(c.text for c in (*answer.citations, *answer.related))
    return Given(answer, passages)


def parse_line(data: Any) -> Given:
    """One line as an answer, or ``ValueError`` saying what is wrong with it."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if "docs" in data:
        return _from_alce(data)
    if "answer" in data and isinstance(data.get("citations", []), list):
        try:
            return _from_answer_object(data)
        except (TypeError, KeyError) as exc:
            raise ValueError(f"not an answer object ({exc})") from None
    raise ValueError("neither an answer object ('answer', 'citations') nor ALCE ('output', 'docs')")


def read_answers(path: Path) -> Answers:
    """Every line of the file; a bad one becomes ``{"file", "line", "error"}``."""
    by_id: dict[str, Given] = {}
    by_question: dict[str, Given] = {}
    errors: list[dict[str, Any]] = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line.decode("utf-8"))
                given = parse_line(data)
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ones
                reason = str(exc)
                if isinstance(exc, json.JSONDecodeError):
                    reason = f"not valid JSON ({exc.msg} at column {exc.colno})"
                elif isinstance(exc, UnicodeDecodeError):
                    reason = "not UTF-8 text"
                errors.append({"file": path.name, "line": number, "error": reason})
                continue
            if data.get("id") is not None:
                by_id[str(data["id"])] = given
            question = data.get("question")
            if isinstance(question, str) and question.strip():
                by_question.setdefault(question.strip(), given)
    return Answers(by_id, by_question, errors)
