"""What the call screen and the replay screen both do with a lesson's updates."""

from __future__ import annotations

from typing import Any

from tutor_cli.realtime.conversation import (
    LearnerTranscript,
    LearnerTurn,
    ResponseState,
    SpeechStarted,
    SpeechStopped,
    TutorDelta,
    TutorFinal,
    TutorTruncated,
)
from tutor_cli.tui.event_pane import EventPane
from tutor_cli.tui.status import CallHeader, StatusBar
from tutor_cli.tui.transcript import Transcript


class LessonUpdates:
    """The lesson's widgets, and the turn and transcript updates shown the same live and in a
    replay. Mixed into a Screen that dispatches updates to `_on_<UpdateName>` methods."""

    query_one: Any  # from the Screen this is mixed into

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    @property
    def events(self) -> EventPane:
        return self.query_one(EventPane)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def header(self) -> CallHeader:
        return self.query_one(CallHeader)

    def _shows_turns(self) -> bool:
        """Whether whose-turn-it-is is shown now (the call screen stops when grading)."""
        return True

    def _turn(self, turn: str) -> None:
        if self._shows_turns() and self.status.turn != turn:
            self.status.turn = turn
            self.status.changed()

    def _on_TutorDelta(self, update: TutorDelta) -> None:
        self.transcript.add_delta(update.item_id, update.text)

    def _on_TutorFinal(self, update: TutorFinal) -> None:
        self.transcript.tutor_final(update.item_id, update.text)

    def _on_TutorTruncated(self, update: TutorTruncated) -> None:
        self.transcript.tutor_truncated(update.item_id, update.audio_end_ms)

    def _on_LearnerTurn(self, update: LearnerTurn) -> None:
        if update.source == "typed" and update.text is not None:
            self.transcript.learner_typed(update.text)
        elif update.source == "speech":
            self.transcript.learner_spoken(update.item_id)

    def _on_LearnerTranscript(self, update: LearnerTranscript) -> None:
        self.transcript.learner_transcript(update.item_id, update.text, update.error)

    def _on_SpeechStarted(self, update: SpeechStarted) -> None:
        self._turn("learner speaking")

    def _on_SpeechStopped(self, update: SpeechStopped) -> None:
        self._turn("listening")

    def _on_ResponseState(self, update: ResponseState) -> None:
        turn = {"thinking": "tutor thinking", "speaking": "tutor speaking"}.get(update.state)
        self._turn(turn or "listening")
        if update.state == "done" and update.status not in (None, "completed"):
            reason = f" ({update.reason})" if update.reason else ""
            self.transcript.note(f"reply {update.status}{reason}")
