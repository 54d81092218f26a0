"""The chat model over the OpenAI protocol, configured once for every part that needs one."""

from __future__ import annotations

import os
from typing import Any

from rag.settings import Settings


def chat_model(settings: Settings, **options: Any) -> Any:
    """``ChatOpenAI`` for the configured model, endpoint, timeout and retries, temperature 0.

    Replies are bounded (``llm_max_tokens``): a small model that loops would otherwise write
    until its context is full and the answer times out.
    """
    from langchain_openai import ChatOpenAI

    options.setdefault("max_tokens", settings.llm_max_tokens)
    return ChatOpenAI(
        model=settings.llm_model,
        openai_api_base=settings.llm_base_url,
        # A local server needs no key, but the client insists on one.
        openai_api_key=None if os.environ.get("OPENAI_API_KEY") else "not-needed",
        request_timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
        temperature=0,
        **options,
    )
