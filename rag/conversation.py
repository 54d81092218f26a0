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

# Openers and words that point back, in English, Russian and German ("Где он тогда?", "Und
# dort?"). German "es" and "sie" are left out: "Gibt es...", "Können Sie..." stand alone.
_FOLLOW_UP = re.compile(
    r"^\s*(?:and|but|also|so|what about|how about|and what|then|а|и|но|тогда|"
    r"und|aber|auch|also|dann|was ist mit)(?![\w])|"
    r"(?<![\w])(?:it|its|it's|that|this|these|those|they|them|their|there|he|she|his|her|one|"
    r"ones|same|former|latter|above|он|она|оно|они|его|её|ее|ему|ей|им|их|него|неё|нее|нём|"
    r"ней|этот|эта|это|эти|этого|этой|этим|там|тоже|также|такой|такое|er|ihn|ihm|sein|seine|"
    r"seinen|ihre|ihren|dies|diese|dieser|dieses|dort|dafür|davon|damit|dabei|darauf|dazu)"
    r"(?![\w])",
    re.I,
)
RECENT_TURNS = 2
MIN_STANDALONE_TERMS = 3


def is_follow_up(question: str, history: Sequence[Turn]) -> bool:
    """Whether the question leans on earlier turns.

    It does when it points back ("its", "And Turkmenistan?"), has one word of its own at most
    ("Why?", "The default?"), or is short and shares a word with the recent questions. A short
    question that shares none starts a new topic ("Who translated the interview?" after two
    questions about borders), which searched with the old turns was answered from them.
    """
    if not history:
        return False
    terms = set(content_terms(question))
    if _FOLLOW_UP.search(question) or len(terms) <= 1:
        return True
    if len(terms) >= MIN_STANDALONE_TERMS:
        return False
    earlier = {t for user, _ in history[-RECENT_TURNS:] for t in content_terms(user)}
    return bool(terms & earlier)


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
