"""The search query for a question in a conversation.

"And Turkmenistan's?" means nothing alone. Offline, a follow-up is searched together with the
recent user turns; with an LLM, it is rewritten as a standalone question first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

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
