"""The transcript: tutor and learner turns, tool calls, notices, as they happen.

Tutor text arrives as many small deltas. They are buffered and applied by a timer started by
the first delta of a burst, so a burst costs one re-wrap of the turn being spoken (never of the
whole transcript), and a transcript nobody is adding to costs nothing.
Everything shown is built as `rich.text.Text` from `printable()` strings: model text can neither
inject markup nor send escape sequences to the terminal.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import assert_never

from rich.text import Text
from textual.timer import Timer

from tutor_cli.datatypes import datatype
from tutor_cli.lesson.updates import ToolRan
from tutor_cli.tools.outcomes import GradeRecorded, QuizAnswered
from tutor_cli.tui.lines import LineList
from tutor_cli.views.console import brief_arguments
from tutor_cli.views.literal import literal

FLUSH_S = 0.04  # deltas are applied at most 25 times a second
CURSOR = "▍"
TUTOR_STYLE = "bold cyan"
LEARNER_STYLE = "bold green"
QUOTE = r"«[^»\n]*»"  # model answers, corrections and hints: the tutor quotes them like this


@datatype(frozen=False)
class _TutorTurn:
    key: int
    text: str = ""
    final: bool = False
    note: str = ""


class Transcript(LineList):
    """The lesson so far. Call the methods in the order updates arrive; deltas are coalesced."""

    def __init__(
        self,
        tutor_name: str,
        *,
        max_entries: int = 5000,
        flush_interval: float = FLUSH_S,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(max_entries=max_entries, wrap=True, id=id, classes=classes)
        self.tutor_name = tutor_name
        self.flush_interval = flush_interval
        self._pending: dict[str, list[str]] = {}
        self._flush_timer: Timer | None = None  # started by the first delta not yet applied
        self._tutor: OrderedDict[str, _TutorTurn] = OrderedDict()
        self._spoken: OrderedDict[str, int] = OrderedDict()  # learner item -> entry key
        self._tools: OrderedDict[str, int] = OrderedDict()  # replayed call id -> entry key

    def clear(self) -> None:
        """Forget the whole lesson shown so far (a replay seeking back)."""
        self._pending.clear()
        self._tutor.clear()
        self._spoken.clear()
        self._tools.clear()
        super().clear()

    def on_mount(self) -> None:
        if self._pending and self._flush_timer is None:  # deltas from before the widget was up
            self._flush_timer = self.set_timer(self.flush_interval, self.flush)

    # --- tutor -----------------------------------------------------------------------------------

    def add_delta(self, item_id: str, text: str) -> None:
        """A piece of a tutor turn; shown at the next flush, `flush_interval` after the first
        piece not yet shown."""
        self._pending.setdefault(item_id, []).append(text)
        if self._flush_timer is None and self.is_attached:
            self._flush_timer = self.set_timer(self.flush_interval, self.flush)

    def flush(self) -> None:
        """Apply buffered deltas: one re-wrap per streaming turn."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        for item_id, parts in pending.items():
            turn = self._turn(item_id)
            if turn.final:
                continue  # the final text already replaced the stream
            turn.text += "".join(parts)
            self._show_turn(turn)

    def tutor_final(self, item_id: str, text: str) -> None:
        self.flush()
        turn = self._turn(item_id)
        turn.text, turn.final = text, True
        self._show_turn(turn)

    def tutor_truncated(self, item_id: str, audio_end_ms: int) -> None:
        self.flush()
        turn = self._tutor.get(item_id)
        note = f"(interrupted after {audio_end_ms / 1000:.1f} s)"
        if turn is None:
            self.note(note)
            return
        turn.note = note
        self._show_turn(turn)

    def _turn(self, item_id: str) -> _TutorTurn:
        turn = self._tutor.get(item_id)
        if turn is None:
            turn = _TutorTurn(self.append(Text()))
            self._tutor[item_id] = turn
            if len(self._tutor) > 64:  # only recent turns can still change
                self._tutor.popitem(last=False)
        return turn

    def _show_turn(self, turn: _TutorTurn) -> None:
        body = literal(turn.text)
        body.highlight_regex(QUOTE, "bold yellow")
        line = Text.assemble(literal(f"{self.tutor_name}  ", TUTOR_STYLE), body)
        if not turn.final:
            line.append(CURSOR, style="cyan")
        if turn.note:
            line.append(f"  {turn.note}", style="dim")
        self.replace(turn.key, line)

    # --- learner ---------------------------------------------------------------------------------

    def learner_typed(self, text: str) -> None:
        self.flush()
        self.append(Text.assemble(literal("You  ", LEARNER_STYLE), literal(text, "green")))

    def learner_spoken(self, item_id: str | None) -> None:
        """A spoken turn began; its words are filled in when the transcript arrives."""
        self.flush()
        key = self.append(self._spoken_line(None, "…"))
        if item_id:
            self._spoken[item_id] = key
            if len(self._spoken) > 64:
                self._spoken.popitem(last=False)

    def learner_transcript(self, item_id: str, text: str | None, error: str | None) -> None:
        self.flush()
        line = self._spoken_line(text, f"[not transcribed: {error or 'no text'}]")
        key = self._spoken.pop(item_id, None)
        if key is None or not self.replace(key, line):
            self.append(line)

    def _spoken_line(self, text: str | None, missing: str) -> Text:
        words = literal(text, "green") if text is not None else literal(missing, "dim")
        return Text.assemble(literal("You (spoken)  ", LEARNER_STYLE), words)

    # --- the rest --------------------------------------------------------------------------------

    def tool(self, ran: ToolRan) -> None:
        """A tool call as one compact line, with what came of it."""
        self.flush()
        self.append(self._tool_line(ran))

    def tool_shown(self, call_id: str, name: str, arguments: str) -> None:
        """A tool call a replay shows without running it; its logged outcome, if the log has
        one, replaces the line (`tool_logged`)."""
        self.flush()
        line = Text.assemble(
            literal(f"  ⚙ {name} ", "bold magenta"),
            literal(brief_arguments(arguments, 120), "dim"),
            literal("  (shown, not run)", "dim"),
        )
        self._tools[call_id] = self.append(line)
        if len(self._tools) > 64:
            self._tools.popitem(last=False)

    def tool_logged(self, call_id: str, ran: ToolRan) -> None:
        """What came of a replayed tool call when the lesson was live."""
        self.flush()
        key = self._tools.pop(call_id, None)
        if key is None or not self.replace(key, self._tool_line(ran)):
            self.append(self._tool_line(ran))

    def _tool_line(self, ran: ToolRan) -> Text:
        outcome = ran.outcome
        mark, style = ("⚙", "magenta") if outcome.ok else ("✗", "red")
        line = Text.assemble(
            literal(f"  {mark} {ran.name} ", f"bold {style}"),
            literal(brief_arguments(ran.arguments, 120), "dim"),
        )
        if not outcome.ok:
            line.append_text(literal(f" → {outcome.error or 'failed'}", "red"))
            return line
        match outcome.effect:
            case QuizAnswered(correct=correct, questions=questions):
                line.append_text(literal(f" → {correct}/{questions} right", style))
            case GradeRecorded() as graded:
                line.append_text(literal(f" → score {graded.score:g}/100", style))
                for error in graded.errors:
                    said, fixed = error.get("said", ""), error.get("correction", "")
                    line.append_text(literal(f"\n    ✎ {said} → ", "yellow"))
                    line.append_text(literal(fixed, "bold yellow"))
            case None:
                pass
            case _:
                assert_never(outcome.effect)
        return line

    def note(self, text: str, level: str = "info") -> None:
        """A notice from the call: dim, yellow for warnings, red for errors."""
        self.flush()
        style = {"warning": "yellow", "error": "bold red"}.get(level, "dim")
        self.append(literal(f"  · {text}", style))

    def error(self, code: str | None, message: str) -> None:
        self.flush()
        label = f"  ! engine error{f' {code}' if code else ''}: "
        self.append(Text.assemble(literal(label, "bold red"), literal(message, "red")))
