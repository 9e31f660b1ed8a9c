"""The conversation as the engine keeps it: its items in order, how much audio was sent for each
of the tutor's spoken items (so a truncation can cut it), and what the items weigh as input
tokens.

The tutor's audio itself is never kept: a truncation only needs its length, so however long a
session talks, each spoken item costs a counter, and any of them can be truncated as the API
allows.
"""

from __future__ import annotations

import copy
from typing import Any

from tutor_cli.datatypes import datatype
from tutor_cli.engine.billing import audio_tokens, text_tokens
from tutor_cli.engine.client_events import ClientError, Event
from tutor_cli.realtime.events import BYTES_PER_MS
from tutor_cli.realtime.pricing import Usage


@datatype(frozen=False, eq=False)
class SpokenAudio:
    """How much audio a tutor item has had sent: deltas add to it, a truncation shortens it
    (and ends it: nothing more of a truncated item is sent)."""

    size: int = 0  # bytes
    truncated: bool = False


@datatype(frozen=False, eq=False)
class _Entry:
    item: Event  # as the API shows it, less its `object` tag
    input_audio_ms: int = 0  # the learner's audio it holds, billed as input


class ConversationItems:
    """The items of one session's conversation."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []
        self._spoken: dict[str, SpokenAudio] = {}

    @property
    def last_id(self) -> str | None:
        """The id of the newest item, which a new item follows."""
        return str(self._entries[-1].item["id"]) if self._entries else None

    def _index(self, item_id: str) -> int:
        for index, entry in enumerate(self._entries):
            if entry.item["id"] == item_id:
                return index
        raise ClientError("item_not_found", f"no item with id {item_id!r}", "item_id")

    def __contains__(self, item_id: object) -> bool:
        """Whether an item has this id."""
        return any(entry.item["id"] == item_id for entry in self._entries)

    def find(self, item_id: str) -> Event:
        """The item with this id; an unknown id is refused."""
        return self._entries[self._index(item_id)].item

    def insert(self, item: Event, previous: str | None, input_audio_ms: int = 0) -> None:
        """Put `item` right after the item `previous`, or at the end when that is None; an
        unknown `previous` is refused."""
        entry = _Entry(item, input_audio_ms)
        if previous is None:
            self._entries.append(entry)
        else:
            self._entries.insert(self._index(previous) + 1, entry)

    def append(self, item: Event) -> None:
        """Put an item a response produces at the end."""
        self._entries.append(_Entry(item))

    def delete(self, item_id: str) -> None:
        """Remove an item; an unknown id is refused."""
        del self._entries[self._index(item_id)]
        self._spoken.pop(item_id, None)

    def spoken(self, item_id: str) -> SpokenAudio:
        """The audio counter of a tutor item about to be spoken."""
        return self._spoken.setdefault(item_id, SpokenAudio())

    def truncate(self, item_id: str, content_index: int, audio_end_ms: int) -> None:
        """The learner heard only `audio_end_ms` of a spoken tutor item, finished or still
        streaming: cut its audio there and, as the API does, remove its transcript, so the
        context holds no words the learner did not hear."""
        item = self.find(item_id)
        audio = self._spoken.get(item_id)
        if item.get("role") != "assistant" or audio is None:
            raise ClientError("invalid_value", "only assistant audio can be truncated", "item_id")
        if content_index != 0:
            raise ClientError(
                "invalid_value", "a spoken tutor item has one content part, 0", "content_index"
            )
        have_ms = audio.size // BYTES_PER_MS
        if audio_end_ms > have_ms:
            raise ClientError(
                "invalid_value",
                f"audio content of {have_ms}ms is already shorter than {audio_end_ms}ms",
                "audio_end_ms",
            )
        audio.size = min(audio.size, audio_end_ms * BYTES_PER_MS)
        audio.truncated = True
        # A message still streaming has no content yet: it gets it, without the transcript,
        # when it closes.
        for part in item.get("content") or []:
            part["transcript"] = ""

    def input_usage(self, instructions: str) -> Usage:
        """What a response reads as input: every item, and the session's instructions."""
        text_in = audio_in = 0
        for entry in self._entries:
            item = entry.item
            for part in item.get("content") or []:
                text_in += text_tokens(part.get("text") or part.get("transcript") or "")
            audio_in += audio_tokens(entry.input_audio_ms * BYTES_PER_MS)
            text_in += text_tokens(item.get("arguments", "") + item.get("output", ""))
        text_in += text_tokens(instructions)
        return Usage(text_in=text_in, audio_in=audio_in)


def public(item: Event) -> dict[str, Any]:
    """An item as events carry it: a copy, so later changes do not reach events already made."""
    return {"object": "realtime.item", **copy.deepcopy(item)}


def checked_message(item: Event) -> Event:
    """A client's message item (its shape already checked): its role, status and a copy of its
    content, which must not be empty and whose parts must say their type."""
    content = item["content"]
    if not content:
        raise ClientError("missing_required_parameter", "missing 'item.content'", "item.content")
    for index, part in enumerate(content):
        if part.get("type") is None:
            where = f"item.content[{index}].type"
            raise ClientError("missing_required_parameter", f"missing '{where}'", where)
    return {"role": item["role"], "status": "completed", "content": copy.deepcopy(content)}
