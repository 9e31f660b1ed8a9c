"""Keeping secrets (API keys) out of everything the program writes or shows."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, TypeVar

REDACTED = "[redacted]"
T = TypeVar("T")


class Redactor:
    """Replaces each known secret in a text with `[redacted]`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is replaced whole. Very short values
        # are not secrets worth the false positives.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def value(self, value: Any) -> Any:
        """A JSON-like value (dicts, lists, strings) with every string redacted."""
        if not self.secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def fields(self, update: T) -> T:
        """A dataclass with every string field redacted (nested dataclasses included)."""
        if not self.secrets or not dataclasses.is_dataclass(update) or isinstance(update, type):
            return update
        changes: dict[str, Any] = {}
        for field in dataclasses.fields(update):
            value = getattr(update, field.name)
            if isinstance(value, str):
                cleaned: Any = self.text(value)
            elif dataclasses.is_dataclass(value) and not isinstance(value, type):
                cleaned = self.fields(value)
            else:
                continue
            if cleaned is not value:
                changes[field.name] = cleaned
        return dataclasses.replace(update, **changes) if changes else update
