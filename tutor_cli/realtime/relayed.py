"""A classroom relay, as a client sees it: how it is told apart, how the client comes back to
its session after a drop, and the two signals the client and the relay share.

A relay (`tutor serve --relay`) marks its upgrade response with `x-tutor-relay: 1` and names
the session in `x-tutor-resume`. Unlike an engine, it keeps the session when the client's
socket drops: the client reconnects with `?resume=ID&after=EVENT_ID` (the last event it got,
so the relay sends again what died in flight), and the relay answers with
`x-tutor-received: EVENT_ID`, the last of the client's events it got, so the client sends again
what died on the way up. Nothing is re-created: the session was never lost.

A client may not force a tool (`tool_choice`), so it asks for the grade with `GRADE_REQUEST` as
a `response.create`'s metadata, and the relay makes the request. When the relay loses its own
engine, it says so with an `error` event coded `UPSTREAM_RECONNECTING`, and after restoring the
conversation forwards the new session's `session.updated`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

Event = dict[str, Any]

RELAY_HEADER = "x-tutor-relay"
RESUME_HEADER = "x-tutor-resume"
RECEIVED_HEADER = "x-tutor-received"
GRADE_REQUEST = {"tutor_request": "grade"}
UPSTREAM_RECONNECTING = "upstream_reconnecting"
SENT_KEPT = 256  # recent client events remembered (audio by its id alone)


class Resumption:
    """One call's way back to its relay session."""

    def __init__(self) -> None:
        self.relayed = False  # the engine is a classroom relay
        self.resume_id: str | None = None
        self.last_event: str | None = None  # the id of the last server event received
        self._sent: deque[tuple[str, Event | None]] = deque(maxlen=SENT_KEPT)

    def url(self, url: str) -> str:
        """Where to connect: `url`, or on a relay with a session, back to that session."""
        if self.resume_id is None:
            return url
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        query["resume"] = self.resume_id
        if self.last_event is not None:
            query["after"] = self.last_event
        return urlunsplit(parts._replace(query=urlencode(query)))

    def opened(self, headers: Mapping[str, str], reconnect: bool) -> list[Event]:
        """A socket opened with these response headers: the client events to send again (a
        relay did not get them before the last socket died)."""
        if not reconnect:
            self.relayed = headers.get(RELAY_HEADER) == "1"
            self.resume_id = headers.get(RESUME_HEADER) if self.relayed else None
        if not self.relayed or not reconnect:
            return []
        received = headers.get(RECEIVED_HEADER)
        ids = [event_id for event_id, _ in self._sent]
        if not received or received not in ids:
            return []  # nothing known to be lost
        after = ids.index(received) + 1
        again = [event for _, event in list(self._sent)[after:] if event is not None]
        self._sent.clear()  # sent again now, and remembered as they go
        return again

    def sent(self, event: Event) -> None:
        """A client event went into the socket (which may yet die with it)."""
        event_id = event.get("event_id")
        if not self.relayed or not isinstance(event_id, str):
            return
        # A moment of audio lost is a moment of silence: only its place is kept.
        kept = None if event.get("type") == "input_audio_buffer.append" else event
        self._sent.append((event_id, kept))

    def heard(self, event: Event) -> None:
        """A server event arrived."""
        event_id = event.get("event_id")
        if isinstance(event_id, str):
            self.last_event = event_id
