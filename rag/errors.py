"""Every error this project raises, in one hierarchy, and the one mapping to what users see.

The CLI, the REST API and the chat all turn exceptions into lines with ``user_message``.
Kept apart from the modules that raise them so the CLI can catch them without importing
Chroma or LangChain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from rag.settings import Settings


class RagError(Exception):
    """Base of this project's errors; the message says what was wrong, in one line."""

    #: Whether the message is for users (something they can act on), or marks a bug.
    for_users: ClassVar[bool] = True


class StoreError(RagError):
    """A store problem a user can fix; the message says how."""


class QuestionError(RagError, ValueError):
    """A question the pipeline refuses (empty, too long); the message says why."""


class FeedbackError(RagError, ValueError):
    """A rating that cannot be stored as sent; the message says why."""


class CitationError(RagError, ValueError):
    """An answer whose markers and citations disagree: a bug, never shown to a user."""

    for_users = False


def outage(exc: BaseException, settings: Settings | None) -> str | None:
    """One line when ``exc`` means a server the app needs is down, else None."""
    import httpx
    import openai

    if isinstance(exc, StoreError):
        return str(exc)
    if isinstance(exc, openai.APIConnectionError | openai.APITimeoutError):
        return "the embeddings server is not reachable; try again shortly"
    if isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError):
        where = (
            f"the Chroma server at {settings.chroma_host}:{settings.chroma_port}"
            if settings and settings.chroma_host
            else "the document store"
        )
        return f"{where} is not reachable; try again shortly"
    return None


def user_message(exc: BaseException, settings: Settings | None) -> str | None:
    """The one line a user sees for ``exc``, or None when it is a bug (log it, say little)."""
    if isinstance(exc, RagError):
        return str(exc) if exc.for_users else None
    return outage(exc, settings)
