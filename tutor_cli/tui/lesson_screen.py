"""What the call screen and the replay screen share: the layout's breakpoints, the lesson's
widgets, and what both do with a lesson's turns and usage."""

from __future__ import annotations

from functools import cached_property
from typing import assert_never

from textual.screen import Screen
from textual.widget import Widget

from tutor_cli.lesson.updates import (
    LearnerTranscript,
    LearnerTurn,
    ResponseState,
    SpeechStarted,
    SpeechStopped,
    TutorDelta,
    TutorFinal,
    TutorTruncated,
    UsageUpdate,
)
from tutor_cli.tui.event_pane import EventPane
from tutor_cli.tui.status import CallHeader, StatusBar
from tutor_cli.tui.transcript import Transcript

# The turns and who has the floor: shown the same live and in a replay.
TurnUpdate = (
    TutorDelta
    | TutorFinal
    | TutorTruncated
    | LearnerTurn
    | LearnerTranscript
    | SpeechStarted
    | SpeechStopped
    | ResponseState
)


NARROW = 100  # below this many columns the event log starts hidden


class LessonScreen(Screen[None]):
    """A lesson on screen, live or replayed: the transcript, the event log, the status bar
    and the header, and the updates both screens show the same way."""

    # Textual declares this a plain attribute, so a ClassVar annotation would not match it.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-wide")]  # noqa: RUF012

    # Looked up once: frames and updates reach these widgets many times a second, and the
    # screen never replaces them.
    @cached_property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    @cached_property
    def events(self) -> EventPane:
        return self.query_one(EventPane)

    @cached_property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @cached_property
    def header(self) -> CallHeader:
        return self.query_one(CallHeader)

    def _shows_turns(self) -> bool:
        """Whether whose-turn-it-is is shown now (the call screen stops when grading)."""
        return True

    def _turn(self, turn: str) -> None:
        if self._shows_turns() and self.status.turn != turn:
            self.status.turn = turn
            self.status.changed()

    def show_turn(self, update: TurnUpdate) -> None:
        match update:
            case TutorDelta():
                self.transcript.add_delta(update.item_id, update.text)
            case TutorFinal():
                self.transcript.tutor_final(update.item_id, update.text)
            case TutorTruncated():
                self.transcript.tutor_truncated(update.item_id, update.audio_end_ms)
            case LearnerTurn():
                if update.source == "typed" and update.text is not None:
                    self.transcript.learner_typed(update.text)
                elif update.source == "speech":
                    self.transcript.learner_spoken(update.item_id)
            case LearnerTranscript():
                self.transcript.learner_transcript(update.item_id, update.text, update.error)
            case SpeechStarted():
                self._turn("learner speaking")
            case SpeechStopped():
                self._turn("listening")
            case ResponseState():
                turn = {"thinking": "tutor thinking", "speaking": "tutor speaking"}.get(
                    update.state
                )
                self._turn(turn or "listening")
                if update.state == "done" and update.status not in (None, "completed"):
                    reason = f" ({update.reason})" if update.reason else ""
                    self.transcript.note(f"reply {update.status}{reason}")
            case _:
                assert_never(update)

    def show_usage(self, update: UsageUpdate) -> None:
        self.status.tokens = update.total.total_tokens
        self.status.cost = update.cost_usd
        self.status.changed()

    def toggle_events(self, focus_after: Widget) -> None:
        """Show or hide the event log; focus moves to `focus_after` if it was inside it."""
        pane = self.events
        pane.display = not pane.display
        if pane.display:
            pane.redraw()
        elif self.focused is not None and pane in self.focused.ancestors:
            focus_after.focus()
