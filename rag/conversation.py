"""A question in its conversation: what users may send, and what to search for.

Every interface (CLI, Python API, dataset lines, the REST API, the chat) checks questions and
histories here, so they all accept and refuse the same things with the same words.

"And Turkmenistan's?" means nothing alone. Offline, a follow-up is searched together with the
recent user turns; with an LLM, it is rewritten as a standalone question first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rag.errors import QuestionError
from rag.text import content_terms

Turn = tuple[str, str]

_FOLLOW_UP = re.compile(
    r"^\s*(?:and|but|also|so|what about|how about|and what|then)\b|"
    r"\b(?:it|its|it's|that|this|these|those|they|them|their|there|he|she|his|her|one|ones|"
    r"same|former|latter|above)\b",
    re.I,
)
RECENT_TURNS = 2
MIN_STANDALONE_TERMS = 4


def is_follow_up(question: str, history: Sequence[Turn]) -> bool:
    """Whether the question leans on earlier turns."""
    if not history:
        return False
    return bool(_FOLLOW_UP.search(question)) or len(content_terms(question)) < MIN_STANDALONE_TERMS


def search_query(question: str, history: Sequence[Turn]) -> str:
    """The question, preceded by the recent user turns when it is a follow-up."""
    if not is_follow_up(question, history):
        return question
    previous = [user for user, _ in history[-RECENT_TURNS:]]
    return "\n".join([*previous, question])


MAX_HISTORY_TURNS = 50


def is_encodable(text: str) -> bool:
    """False for text holding lone surrogates (invalid UTF-8 from argv, or JSON escapes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate_question(question: Any, max_chars: int) -> str:
    """The question stripped, or ``QuestionError`` for a non-text, empty or over-long one."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    if not is_encodable(question):
        raise QuestionError("the question is not valid Unicode text (invalid UTF-8?)")
    text = question.strip()
    if not text:
        raise QuestionError("the question is empty")
    if len(text) > max_chars:
        raise QuestionError(
            f"the question is {len(text)} characters long; the limit is {max_chars} "
            "(RAG_MAX_QUESTION_CHARS)"
        )
    return text


def parse_history(history: Any, max_chars: int) -> list[Turn]:
    """A conversation as (user, assistant) pairs, or ``QuestionError`` saying what is wrong."""
    if history is None:
        return []
    if not isinstance(history, list | tuple) or not all(
        isinstance(turn, list | tuple) and len(turn) == 2 and all(isinstance(x, str) for x in turn)
        for turn in history
    ):
        raise QuestionError("the history must be a list of [user, assistant] pairs of text")
    if not all(is_encodable(x) for turn in history for x in turn):
        raise QuestionError("the history is not valid Unicode text (invalid UTF-8?)")
    if len(history) > MAX_HISTORY_TURNS:
        raise QuestionError(
            f"the history has {len(history)} turns; the limit is {MAX_HISTORY_TURNS}"
        )
    if sum(len(u) + len(a) for u, a in history) > 10 * max_chars:
        raise QuestionError(f"the history is longer than {10 * max_chars} characters")
    return [(user, assistant) for user, assistant in history]
