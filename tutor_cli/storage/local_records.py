"""The app's own records in an event log (`"dir": "local"`): what the Call knew that no event
on the wire says. The Call writes them, a replay reads them; their schema lives here alone.

Each record is an event whose `type` starts with `tutor.`. A frame from a server that was not
JSON is kept as a local record too, but as the raw text (a string, not one of these).
"""

from __future__ import annotations

from typing import Any

from tutor_cli.datatypes import datatype
from tutor_cli.lesson.updates import LINK_STATES, LinkState


@datatype
class LinkChanged:
    """The link to the engine changed state (connecting, connected, reconnecting, …)."""

    state: LinkState
    detail: str | None = None

    def event(self) -> dict[str, Any]:
        return {"type": "tutor.state", "state": self.state, "detail": self.detail}


@datatype
class ConnectionNote:
    """What the connection did: connected, closed (with code and reason), a frame not sent."""

    note: str
    detail: Any = None

    def event(self) -> dict[str, Any]:
        return {"type": "tutor.connection", "note": self.note, "detail": self.detail}


@datatype
class ConnectionLost:
    """The Call told its Conversation the socket was gone: nothing is in progress any more,
    and a reply that was under way is owed. A replay does the same at this point."""

    def event(self) -> dict[str, Any]:
        return {"type": "tutor.connection_lost"}


@datatype
class HistoryRestored:
    """On a new socket the Call re-created the conversation: the client events with these ids
    repeat turns already in the log, and a replay must not show them twice."""

    event_ids: tuple[str, ...]

    def event(self) -> dict[str, Any]:
        return {"type": "tutor.history_restored", "event_ids": list(self.event_ids)}


@datatype
class ToolFinished:
    """A tool call ran on the learner's machine: how it went and the output sent back."""

    name: str
    call_id: str
    ok: bool
    output: str

    def event(self) -> dict[str, Any]:
        return {
            "type": "tutor.tool",
            "name": self.name,
            "call_id": self.call_id,
            "ok": self.ok,
            "output": self.output,
        }


@datatype
class EventSkipped:
    """A server event the client could not use (a known type with fields of the wrong type);
    the event itself is the server line just before."""

    event_type: str
    problem: str

    def event(self) -> dict[str, Any]:
        return {
            "type": "tutor.event_skipped",
            "event_type": self.event_type,
            "problem": self.problem,
        }


@datatype
class ReplyAbandoned:
    """The engine went quiet on a reply for longer than the reply timeout: the Call stopped
    waiting (and cancelled the response, if one had started)."""

    after_s: float

    def event(self) -> dict[str, Any]:
        return {"type": "tutor.reply_abandoned", "after_s": self.after_s}


@datatype
class CallEnded:
    """The call is over; `failure` says why it failed, if it did. Always the last record."""

    failure: str | None = None

    def event(self) -> dict[str, Any]:
        return {"type": "tutor.call_ended", "failure": self.failure}


LocalRecord = (
    LinkChanged
    | ConnectionNote
    | ConnectionLost
    | HistoryRestored
    | ToolFinished
    | EventSkipped
    | ReplyAbandoned
    | CallEnded
)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def read_local(event: dict[str, Any]) -> LocalRecord | None:
    """The record a local event stands for; None for one this tutor does not know, or one
    whose fields are not what the schema says (a hand-edited or foreign log)."""
    type_ = event.get("type")
    if type_ == "tutor.state":
        state = event.get("state")
        for known in LINK_STATES:
            if state == known:
                return LinkChanged(known, _text(event.get("detail")))
        return None
    if type_ == "tutor.connection":
        return ConnectionNote(str(event.get("note") or ""), event.get("detail"))
    if type_ == "tutor.connection_lost":
        return ConnectionLost()
    if type_ == "tutor.history_restored":
        ids = event.get("event_ids")
        if not isinstance(ids, list):
            return None
        return HistoryRestored(tuple(i for i in ids if isinstance(i, str)))
    if type_ == "tutor.tool":
        ok, output = event.get("ok"), event.get("output")
        if not isinstance(ok, bool):
            return None
        return ToolFinished(
            str(event.get("name") or ""),
            str(event.get("call_id") or ""),
            ok,
            output if isinstance(output, str) else "",
        )
    if type_ == "tutor.event_skipped":
        return EventSkipped(str(event.get("event_type") or ""), str(event.get("problem") or ""))
    if type_ == "tutor.reply_abandoned":
        after = event.get("after_s")
        return ReplyAbandoned(float(after) if isinstance(after, int | float) else 0.0)
    if type_ == "tutor.call_ended":
        return CallEnded(_text(event.get("failure")))
    return None
