"""The headless replay view: transcript lines with time offsets, or one JSON object."""

from __future__ import annotations

import json
from dataclasses import field
from datetime import UTC
from typing import Any, assert_never

from rich.console import Console
from rich.text import Text

from tutor_cli.datatypes import datatype
from tutor_cli.lesson.updates import (
    AudioChunk,
    ConnectionState,
    LearnerAudio,
    LearnerTranscript,
    LearnerTurn,
    MalformedEvent,
    ReplayUpdate,
    ResponseState,
    ServerError,
    SessionReady,
    SpeechStarted,
    SpeechStopped,
    ToolCallReady,
    ToolLogged,
    TutorDelta,
    TutorFinal,
    TutorTruncated,
    UnknownEvent,
    UsageUpdate,
)
from tutor_cli.replay.lesson import LessonInfo, ReplaySummary, clock_time, count_of
from tutor_cli.tools.outcomes import output_error
from tutor_cli.views.console import brief_arguments, summary_json, summary_rows
from tutor_cli.views.literal import literal as _t
from tutor_cli.views.numbers import count


@datatype
class TranscriptLine:
    at: float | None
    speaker: str  # tutor | learner
    text: str


@datatype(frozen=False)
class _Streaming:
    at: float | None
    parts: list[str] = field(default_factory=list)


class TranscriptPrinter:
    """The replay without the call screen: each turn as one line with its time offset, tool
    calls with their arguments, then the summary; or, `as_json`, all of it as one JSON object
    at the end. A tutor turn is printed when complete, stamped with when it began."""

    def __init__(self, console: Console | None = None, *, as_json: bool = False) -> None:
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.as_json = as_json
        self.tutor_name = "Tutor"
        self.transcript: list[TranscriptLine] = []
        self._streaming: dict[str, _Streaming] = {}  # tutor turns begun, not yet complete
        self._heading: Text | None = None  # printed with the first line, not before

    def begin(self, info: LessonInfo) -> None:
        self.tutor_name = info.tutor_name
        if self.as_json:
            return
        started = info.started_at.astimezone(UTC) if info.started_at else None
        when = f", recorded {started:%Y-%m-%d %H:%M} UTC" if started else ""
        self._heading = _t(
            f"── replay of {info.title} ({info.scenario}): "
            f"{info.engine}, model {info.model}{when} ──",
            "bold",
        )

    def _print(self, text: Text) -> None:
        if self._heading is not None:
            self.console.print(self._heading)
            self._heading = None
        self.console.print(text)

    def _line(self, at: float | None, *parts: Text) -> None:
        if not self.as_json:
            stamp = f"[{clock_time(at)}] " if at is not None else ""
            self._print(Text.assemble(_t(stamp, "dim"), *parts))

    def _said(self, at: float | None, speaker: str, label: Text, text: str) -> None:
        self.transcript.append(TranscriptLine(at, speaker, text))
        self._line(at, label, _t(text))

    def show(self, update: ReplayUpdate, at: float | None) -> None:
        match update:
            case TutorDelta():
                self._streaming.setdefault(update.item_id, _Streaming(at)).parts.append(update.text)
            case TutorFinal():
                began = self._streaming.pop(update.item_id, None)
                label = _t(f"{self.tutor_name}: ", "bold cyan")
                self._said(began.at if began else at, "tutor", label, update.text)
            case LearnerTurn():
                if update.source == "typed" and update.text is not None:
                    self._said(at, "learner", _t("You: ", "bold green"), update.text)
            case LearnerTranscript():
                label = _t("You (spoken): ", "bold green")
                if update.text is not None:
                    self._said(at, "learner", label, update.text)
                else:
                    self._line(at, label, _t("[not transcribed]", "dim"))
            case TutorTruncated():
                seconds = update.audio_end_ms / 1000
                self._line(at, _t(f"  (interrupted after {seconds:.1f} s)", "dim"))
            case ToolCallReady():
                self._line(
                    at,
                    _t(f"⚙ {update.name}", "bold magenta"),
                    _t(f" {brief_arguments(update.arguments)}"),
                    _t("  (shown, not run)", "dim"),
                )
            case ToolLogged():
                if update.ok is False:
                    error = output_error(update.output)
                    self._line(at, _t(f"✗ {update.name}", "bold red"), _t(f" → {error}", "red"))
            case MalformedEvent():
                problem = f"{update.type}: {update.problem}"
                self._line(at, _t("! skipped a malformed event: ", "bold red"), _t(problem, "red"))
            case ServerError():
                code = f" {update.code}" if update.code else ""
                self._line(at, _t(f"! engine error{code}: ", "bold red"), _t(update.message, "red"))
            case ResponseState():
                if update.state == "done" and update.status not in (None, "completed"):
                    reason = f" ({update.reason})" if update.reason else ""
                    self._line(at, _t(f"  reply {update.status}{reason}", "dim"))
            case ConnectionState():
                if update.state in ("reconnecting", "failed"):
                    self._unfinished()  # a reply cut off by the drop never completes
                    detail = f": {update.detail}" if update.detail else ""
                    self._line(at, _t(f"● {update.state}{detail}", "dim"))
            case (
                AudioChunk()
                | LearnerAudio()
                | SpeechStarted()
                | SpeechStopped()
                | UsageUpdate()
                | SessionReady()
                | UnknownEvent()
            ):
                pass  # heard, or in the summary: not lines of the transcript
            case _:
                assert_never(update)

    def _unfinished(self) -> None:
        """Tutor turns cut off before they were complete (a dropped connection, a crash)."""
        for began in self._streaming.values():
            text = "".join(began.parts) + "…"
            self._said(began.at, "tutor", _t(f"{self.tutor_name}: ", "bold cyan"), text)
        self._streaming.clear()

    def finish(self, summary: ReplaySummary) -> None:
        """Print the summary (text), or everything (JSON)."""
        self._unfinished()
        if self.as_json:
            self.console.file.write(
                json.dumps(
                    {
                        "transcript": [
                            {"t": line.at, "speaker": line.speaker, "text": line.text}
                            for line in self.transcript
                        ],
                        "summary": replay_summary_json(summary),
                    },
                    ensure_ascii=False,
                    indent=2,
                )
                + "\n"
            )
            return
        rows = replay_summary_rows(summary)
        width = max(len(label) for label, _ in rows)
        self._print(_t("── lesson summary ──", "bold"))
        for label, value in rows:
            self._print(Text.assemble(_t(f"{label:>{width}}  ", "bold"), _t(value)))


def replay_summary_rows(summary: ReplaySummary) -> list[tuple[str, str]]:
    """A call's summary rows, with the tool calls, and what the replay covered."""
    rows: list[tuple[str, str]] = []
    for label, value in summary_rows(summary.lesson):
        if label == "duration" and not summary.timed:
            value = "unknown (the log has no time offsets)"
        rows.append((label, value))
        if label == "turns":
            for tool in summary.tools:
                stamp = f"[{clock_time(tool.at)}] " if tool.at is not None else ""
                failed = f" → failed: {tool.error()}" if tool.ok is False else ""
                arguments = brief_arguments(tool.arguments)
                rows.append(("tool", f"{stamp}{tool.name} {arguments}{failed}"))
    played = f", shown from {clock_time(summary.start_at)}" if summary.start_at else ""
    rows.append(("events", f"{count(summary.events)}{played}"))
    if summary.wav_seconds is not None:
        rows.append(("audio", f"{summary.wav_seconds:.1f} s written"))
    return rows


def replay_summary_json(summary: ReplaySummary) -> dict[str, Any]:
    """The summary as `--json` prints it: a call's summary plus tools and replay figures."""
    data = summary_json(summary.lesson)
    if not summary.timed:
        data["duration_s"] = None

    def parsed(text: str | None) -> Any:
        if text is None:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text

    data["title"] = summary.lesson.title
    data["tools"] = [
        {
            "t": tool.at,
            "name": tool.name,
            "call_id": tool.call_id,
            "arguments": parsed(tool.arguments),
            "ok": tool.ok,
            "output": parsed(tool.output),
        }
        for tool in summary.tools
    ]
    data["events"] = summary.events
    data["bad_lines"] = summary.bad_lines
    data["timed"] = summary.timed
    data["from_s"] = summary.start_at
    data["wav_seconds"] = summary.wav_seconds
    return data


def bad_lines_note(summary: ReplaySummary) -> str | None:
    """'3 bad lines skipped (the first is line 7)', or None when every line was good."""
    if not summary.bad_lines:
        return None
    first = f" (the first is line {summary.first_bad_line})" if summary.first_bad_line else ""
    return f"{count_of(summary.bad_lines, 'bad line')} skipped{first}"
