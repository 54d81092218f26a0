"""Errors a user can fix: each message says what was wrong, in one line.

Kept apart from the modules that raise them so the CLI can catch them without importing
Chroma or LangChain.
"""


class StoreError(Exception):
    """A store problem a user can fix; the message says how."""


class QuestionError(ValueError):
    """A question the pipeline refuses (empty, too long); the message says why."""


class FeedbackError(ValueError):
    """A rating that cannot be stored as sent; the message says why."""
