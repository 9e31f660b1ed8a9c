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

    def frame(self, direction: str, event: Any) -> Any:
        """A frame of either direction, redacted; the microphone's own appends pass as they
        are: PCM of ours, 25 a second, with no text in them to copy."""
        if (
            direction == "client"
            and isinstance(event, dict)
            and event.get("type") == "input_audio_buffer.append"
        ):
            return event
        return self.value(event)

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


# Events whose text arrives in pieces: a secret may be split between two of them.
DELTA_EVENTS = frozenset(
    {
        "response.output_text.delta",
        "response.output_audio_transcript.delta",
        "response.function_call_arguments.delta",
        "conversation.item.input_audio_transcription.delta",
        "response.text.delta",
        "response.audio_transcript.delta",
    }
)
MIN_PREFIX = 4  # a piece ending in this much of a secret's start has it redacted already
STREAMS = 16  # the text of this many recent items is remembered


class SplitSecrets:
    """Redacts text that arrives in pieces (deltas), so a secret split across pieces is never
    shown or written, whole or in halves.

    Each piece is checked together with the end of the text before it: a secret that ends in
    this piece has its part here replaced, and a piece that ends with the start of a secret
    (at least `MIN_PREFIX` characters of it) has that start replaced before it goes out."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self.secrets = redactor.secrets
        self._tails: dict[str, str] = {}  # stream -> its last characters, as received

    def piece(self, stream: str, text: str) -> str:
        if not self.secrets:
            return text
        carry = self._tails.pop(stream, "")
        joined = carry + text
        hidden = [False] * len(text)

        def hide(start: int, end: int) -> None:
            for index in range(max(start, len(carry)), min(end, len(joined))):
                hidden[index - len(carry)] = True

        for secret in self.secrets:
            start = joined.find(secret)
            while start != -1:
                hide(start, start + len(secret))
                start = joined.find(secret, start + 1)
            for size in range(min(len(secret) - 1, len(joined)), MIN_PREFIX - 1, -1):
                if joined.endswith(secret[:size]):
                    hide(len(joined) - size, len(joined))
                    break
        self._tails[stream] = joined[-(len(self.secrets[0]) - 1) :]
        while len(self._tails) > STREAMS:
            del self._tails[next(iter(self._tails))]
        out, index = [], 0
        while index < len(text):
            if hidden[index]:
                while index < len(text) and hidden[index]:
                    index += 1
                out.append(REDACTED)
            else:
                start = index
                while index < len(text) and not hidden[index]:
                    index += 1
                out.append(text[start:index])
        return "".join(out)

    def server_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """A server event with every secret redacted, delta pieces included."""
        if not self.secrets:
            return event
        delta = event.get("delta")
        if event.get("type") in DELTA_EVENTS and isinstance(delta, str):
            stream = str(event.get("item_id") or event.get("call_id") or "")
            event = {**event, "delta": self.piece(stream, delta)}
        redacted: dict[str, Any] = self.redactor.value(event)
        return redacted
