"""The conversation as the relay keeps it, to restore it on a new engine socket.

There is no resume in the Realtime protocol: a new socket is a new, empty session. As `tutor
call` does (`Conversation.resume`), the relay sends the session again, re-creates the learner's
and the tutor's turns as items, and asks again for a reply the old socket took with it. The
turns come from what passes through: the learner's typed items on their way up, the tutor's
finished transcripts and the learner's transcribed speech on their way down.
"""

from __future__ import annotations

from typing import Any, Literal

from tutor_cli.realtime import events

Event = dict[str, Any]
Role = Literal["user", "assistant"]

_TUTOR_DONE = {
    "response.output_audio_transcript.done": "transcript",
    "response.output_text.done": "text",
}


class History:
    """Turns so far, and whether a reply is under way or owed."""

    def __init__(self) -> None:
        self.turns: list[tuple[Role, str]] = []
        self.responding = False  # the engine is making a reply
        self.reply_owed = False  # a reply was lost with a socket, or asked for without one

    def heard(self, event: Event) -> None:
        """An event from the engine."""
        type_ = event.get("type")
        if type_ == "response.created":
            self.responding = True
        elif type_ == "response.done":
            self.responding = False
        elif type_ in _TUTOR_DONE:
            text = event.get(_TUTOR_DONE[type_])
            if isinstance(text, str) and text:
                self.turns.append(("assistant", text))
        elif type_ == "conversation.item.input_audio_transcription.completed":
            transcript = event.get("transcript")
            if isinstance(transcript, str) and transcript:
                self.turns.append(("user", transcript))

    def sent(self, event: Event, delivered: bool) -> None:
        """A client event on its way to the engine (`delivered`: a socket took it)."""
        type_ = event.get("type")
        if type_ == "conversation.item.create":
            item = event.get("item") or {}
            if item.get("type") == "message" and item.get("role") == "user":
                text = " ".join(
                    part.get("text") or ""
                    for part in item.get("content") or []
                    if part.get("type") == "input_text"
                ).strip()
                if text:
                    self.turns.append(("user", text))
        elif type_ == "response.create" and not delivered:
            self.reply_owed = True

    def lost(self) -> None:
        """The engine's socket is gone, and any reply it was making with it."""
        self.reply_owed = self.reply_owed or self.responding
        self.responding = False

    def restore(self, session: dict[str, Any]) -> list[Event]:
        """What a new socket needs: the session, the turns, and the reply still owed."""
        out = [events.session_update(session)]
        out += [
            events.user_text(text) if role == "user" else events.assistant_text(text)
            for role, text in self.turns
        ]
        if self.reply_owed:
            out.append(events.response_create())
            self.reply_owed = False
        return out
