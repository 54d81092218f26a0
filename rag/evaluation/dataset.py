"""Answering a JSONL dataset: the contract ``rag eval`` and the evaluation share.

Each input line is a JSON object with ``question`` (required), optional ``history`` (a list
of [user, assistant] pairs) and any other fields. Each output line keeps every input field
and adds the answer object's keys; a bad line becomes ``{"line": N, "error": ...}`` and the
others are still answered, in input order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Item:
    """One dataset line: its number, its fields, or why it cannot be used."""

    line: int
    fields: dict[str, Any]
    error: str | None = None

    @property
    def question(self) -> Any:
        """The line's question, checked by the pipeline."""
        return self.fields["question"]

    @property
    def history(self) -> Any:
        """The line's conversation so far, checked by the pipeline."""
        return self.fields.get("history")


def _parse(line_number: int, raw: str) -> Item:
    try:
        fields = json.loads(raw)
    except json.JSONDecodeError as exc:
        return Item(line_number, {}, f"not valid JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(fields, dict):
        return Item(line_number, {}, "not a JSON object")
    if "question" not in fields:
        return Item(line_number, fields, "no 'question' field")
    return Item(line_number, fields)


def read(path: Path) -> Iterator[Item]:
    """The dataset's non-blank lines, parsed and checked."""
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            if raw.strip():
                yield _parse(number, raw)
