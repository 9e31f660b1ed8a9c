"""What the Conversation keeps between events: the turns (to re-create the history on a new
socket), the response under way, the last few items, and what a resume did."""

from __future__ import annotations

from typing import Any, Literal

from tutor_cli.datatypes import datatype


@datatype(frozen=False)
class Turn:
    """A learner or tutor turn, kept to re-create the history on a new socket."""

    role: Literal["user", "assistant"]
    text: str
    item_id: str | None = None


@datatype(frozen=False)
class ResponseUnderWay:
    """The response the server is making."""

    id: str | None
    speaking: bool = False


RECENT_ITEMS = 16


def keep_recent(by_item: dict[str, Any]) -> None:
    """Forget all but the most recent items (dicts keep insertion order)."""
    while len(by_item) > RECENT_ITEMS:
        del by_item[next(iter(by_item))]


@datatype
class Resumed:
    """What `resume` queued on a new socket: the re-created history's event ids (so a replay
    can tell them from new turns) and whether a reply lost with the old socket was asked for
    again."""

    history_event_ids: tuple[str, ...]
    reply_requested: bool
