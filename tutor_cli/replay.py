"""`tutor replay`: a saved event log played back as the lesson it was.

The log's server events go through the same `Conversation` a call uses (no second parser); the
learner's typed turns come from the client's `conversation.item.create` messages. Tools are
shown, never run: nothing is stored, nothing is sent (the Conversation's `Outgoing` updates are
dropped). The parts:

- `RecordedLesson`: records in, updates out, the summary's figures kept. No clock, no output.
- `Replay`: streams the log, paces it (`speed`, `instant`, `start_at`), hands updates to a view,
  tutor audio to a speaker, and the whole session's audio to a `SessionWav`.
- `replay_view.TranscriptPrinter`: the headless view, as text lines with time offsets or JSON;
  `replay_wav.SessionWav`: the session's audio as one file.

A view sees `show(update, at)` with `at` the record's offset in seconds (None in bare logs), so
the call screen can later watch a replay the way it watches a call.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from tutor_cli.call import CallSummary, ToolRan
from tutor_cli.errors import BadInput
from tutor_cli.eventlog import EventLogReader, Record
from tutor_cli.realtime.conversation import (
    AudioChunk,
    ConnectionState,
    Conversation,
    LearnerTurn,
    Outgoing,
    ResponseState,
    ServerError,
    ToolCallReady,
    TutorFinal,
    TutorTruncated,
    Update,
)
from tutor_cli.realtime.pricing import cost_usd
from tutor_cli.replay_wav import SessionWav
from tutor_cli.tools.registry import ToolOutcome

LEARNER_AUDIO = "learner"  # the item id recorded microphone audio is pushed to a speaker under


# --- what a replay adds to a call's updates ---------------------------------------------------


@dataclass(frozen=True)
class ToolLogged:
    """What came of a tool call when the lesson was live (the log's `tutor.tool` record, or
    the `function_call_output` the client sent). `ok` is None when the output says nothing."""

    call_id: str
    name: str
    ok: bool | None
    output: str


@dataclass(frozen=True)
class LearnerAudio:
    """Microphone audio the log kept (only with `--record-mic`), 24 kHz mono PCM16."""

    pcm: bytes


ReplayUpdate = Update | ToolLogged | LearnerAudio


@dataclass
class ToolShown:
    """A tool call as the replay shows it: never run, its logged outcome filled in if any."""

    at: float | None
    call_id: str
    name: str
    arguments: str
    ok: bool | None = None
    output: str | None = None

    def error(self) -> str | None:
        """The failure message the tool gave, if it failed."""
        return tool_error(self.output) if self.ok is False else None


@dataclass(frozen=True)
class LessonInfo:
    """What the log says about the lesson before its first event."""

    path: Path
    scenario: str
    title: str
    tutor_name: str
    engine: str
    model: str
    started_at: datetime | None


@dataclass
class ReplaySummary:
    """The lesson's figures rebuilt from the log, and how the replay went."""

    lesson: CallSummary
    tools: list[ToolShown]
    events: int
    bad_lines: int
    first_bad_line: int | None
    timed: bool
    start_at: float
    wav_seconds: float | None = None


# --- the lesson rebuilt from its records ------------------------------------------------------


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None
    return data if isinstance(data, dict) else None


def tool_error(output: str | None) -> str:
    """The message of a failed tool's output (`{"ok": false, "error": ...}`)."""
    data = _json_object(output or "")
    message = data.get("error") if data else None
    return str(message) if message else "failed"


def _said(item: dict[str, Any]) -> tuple[str, str] | None:
    """A message item's role and text (its text parts joined), or None if it has no text."""
    content = item.get("content")
    if not isinstance(content, list):
        return None
    texts = [
        p["text"]
        for p in content
        if isinstance(p, dict)
        and p.get("type") in ("input_text", "output_text", "text")
        and isinstance(p.get("text"), str)
    ]
    if not texts:
        return None
    return str(item.get("role")), " ".join(texts)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _clean_grade(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """A grade with only well-typed fields, so a hand-edited or foreign log cannot break the
    summary; None without a numeric score."""
    if not data or not _is_number(data.get("score")):
        return None
    grade: dict[str, Any] = {"score": data["score"]}
    goals = data.get("goals_achieved")
    grade["goals_achieved"] = [str(g) for g in goals] if isinstance(goals, list) else []
    errors = data.get("errors")
    grade["errors"] = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    if isinstance(data.get("feedback"), str):
        grade["feedback"] = data["feedback"]
    steps = data.get("next_steps")
    grade["next_steps"] = [str(s) for s in steps] if isinstance(steps, list) else []
    return grade


def _clean_quiz(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict):
        return None
    if not _is_number(data.get("correct")) or not _is_number(data.get("questions")):
        return None
    return data


def clock_time(seconds: float) -> str:
    """An offset as MM:SS.d (H:MM:SS.d past an hour)."""
    tenths = round(seconds * 10)
    minutes, rest = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    text = f"{minutes:02d}:{rest // 10:02d}.{rest % 10}"
    return f"{hours}:{text}" if hours else text


def count_of(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


class RecordedLesson:
    """A lesson rebuilt from its log: feed records in order, get the updates a call's view got.

    Server events go through a `Conversation`; typed learner turns are replayed with
    `Conversation.send_text` (whose client events are dropped), so its state follows the call's.
    Tool calls are collected, never run. With `keep_audio` false, microphone audio is not
    decoded (tutor audio still is: the Conversation counts it).
    """

    def __init__(self, model: str, *, keep_audio: bool = False) -> None:
        self.conversation = Conversation(model)
        self.keep_audio = keep_audio
        self.learner_turns = 0
        self.tutor_turns = 0
        self.tools: list[ToolShown] = []
        self.session_model: str | None = None  # as the server named it
        self._tools_by_call: dict[str, ToolShown] = {}
        self._logged: set[str] = set()  # call ids whose outcome a `tutor.tool` record gave
        self._reconnected = False
        self._history_echo: deque[tuple[str, str]] = deque()

    def feed(self, record: Record) -> list[ReplayUpdate]:
        """The updates one record stands for (often none)."""
        event = record.event
        if record.dir == "local" or not isinstance(event, dict):
            return self._local(event)
        type_ = event.get("type")
        if record.dir == "client":
            return self._client(event)
        if isinstance(type_, str) and type_.startswith("tutor."):
            return self._local(event)  # our own records, in a log dumped without directions
        return self._server(event, record.t)

    # --- server events: through the Conversation ------------------------------------------------

    def _server(self, event: dict[str, Any], at: float | None) -> list[ReplayUpdate]:
        if event.get("type") in ("session.created", "session.updated"):
            session = event.get("session")
            if isinstance(session, dict) and isinstance(session.get("model"), str):
                self.session_model = session["model"]
        out: list[ReplayUpdate] = []
        for update in self.conversation.receive(event):
            if isinstance(update, Outgoing):
                continue  # a replay sends nothing
            if isinstance(update, TutorFinal):
                self.tutor_turns += 1
            elif isinstance(update, LearnerTurn) and update.source == "speech":
                self.learner_turns += 1
            elif isinstance(update, ToolCallReady):
                shown = ToolShown(at, update.call_id, update.name, update.arguments)
                self.tools.append(shown)
                self._tools_by_call[update.call_id] = shown
            out.append(update)
        return out

    # --- client events: the learner's typed turns, tool outputs, mic audio -------------------

    def _client(self, event: dict[str, Any]) -> list[ReplayUpdate]:
        type_ = event.get("type")
        if type_ == "conversation.item.create":
            item = event.get("item")
            return self._item_created(item) if isinstance(item, dict) else []
        if type_ == "input_audio_buffer.append" and self.keep_audio:
            audio = event.get("audio")
            if isinstance(audio, str) and audio:  # "" when the log left the mic out
                try:
                    return [LearnerAudio(base64.b64decode(audio, validate=True))]
                except (binascii.Error, ValueError):
                    return []
        if type_ == "session.update" and self._reconnected:
            # After a reconnect the call re-creates the history right after the session
            # settings; those items repeat turns already replayed and must not count twice.
            self._reconnected = False
            self._history_echo = deque(
                said
                for e in self.conversation.history_events()
                if (said := _said(e["item"])) is not None
            )
        return []

    def _item_created(self, item: dict[str, Any]) -> list[ReplayUpdate]:
        if item.get("type") == "function_call_output":
            return self._tool_output(str(item.get("call_id") or ""), item.get("output"))
        said = _said(item)
        if self._history_echo:
            if said == self._history_echo[0]:
                self._history_echo.popleft()
                return []
            self._history_echo.clear()
        if said is None or said[0] != "user":
            return []
        updates, _sent = self.conversation.send_text(said[1])
        self.learner_turns += 1
        return list(updates)

    def _tool_output(self, call_id: str, output: Any) -> list[ReplayUpdate]:
        output = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
        self.conversation.tool_output(call_id, output)  # state only: the events are dropped
        if call_id in self._logged:
            return []
        data = _json_object(output)
        ok = data.get("ok") if data and isinstance(data.get("ok"), bool) else None
        return [self._outcome(call_id, None, ok, output)]

    def _outcome(self, call_id: str, name: str | None, ok: bool | None, output: str) -> ToolLogged:
        shown = self._tools_by_call.get(call_id)
        if shown is None:  # an outcome whose call is not in the log (cut, or a foreign log)
            shown = ToolShown(None, call_id, name or "unknown tool", "")
            self.tools.append(shown)
            self._tools_by_call[call_id] = shown
        shown.ok, shown.output = ok, output
        return ToolLogged(call_id, name or shown.name, ok, output)

    # --- our own records --------------------------------------------------------------------

    def _local(self, event: dict[str, Any] | str) -> list[ReplayUpdate]:
        if isinstance(event, str):
            if event.startswith("<binary frame"):
                return []
            # The Call showed a frame that was not JSON as an engine error; so does the replay.
            return [
                ServerError(
                    "non_json_frame", "the engine sent a frame that is not a JSON object (logged)"
                )
            ]
        type_ = event.get("type")
        if type_ == "tutor.tool":
            call_id = str(event.get("call_id") or "")
            self._logged.add(call_id)
            ok = event.get("ok") if isinstance(event.get("ok"), bool) else None
            output = event.get("output")
            output = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
            return [self._outcome(call_id, str(event.get("name") or ""), ok, output)]
        if type_ == "tutor.state":
            state = event.get("state")
            if state not in ("connecting", "connected", "reconnecting", "closed", "failed"):
                return []
            if state == "reconnecting":
                self.conversation.connection_lost()  # as the Call did, so the state matches
                self._reconnected = True
            detail = event.get("detail")
            return [ConnectionState(state, detail if isinstance(detail, str) else None)]
        return []

    # --- the summary's figures ------------------------------------------------------------------

    def grade(self) -> dict[str, Any] | None:
        """The grade the call stored: the last successful `grade_lesson` call's stored grade
        (from its logged output), or its arguments when the log holds no outcome."""
        grade = None
        for tool in self.tools:
            if tool.name != "grade_lesson" or tool.ok is False:
                continue
            if tool.ok:
                stored = (_json_object(tool.output or "") or {}).get("stored")
                found = _clean_grade(stored if isinstance(stored, dict) else None)
            else:
                found = _clean_grade(_json_object(tool.arguments))
            grade = found or grade
        return grade

    def quiz(self) -> dict[str, Any] | None:
        """The quiz result the call stored, from the last successful `trigger_quiz` output."""
        quiz = None
        for tool in self.tools:
            if tool.name == "trigger_quiz" and tool.ok:
                found = _clean_quiz((_json_object(tool.output or "") or {}).get("stored"))
                quiz = found or quiz
        return quiz


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall time."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class Speaker(Protocol):
    """Where replayed audio is played: tutor audio under its item id, recorded microphone
    audio under `LEARNER_AUDIO`. `flush` says a reply's audio is complete (play what is
    queued), and is called once more at the end of the replay."""

    def push(self, item_id: str, pcm: bytes) -> None: ...

    def flush(self) -> None: ...


class ReplayView(Protocol):
    """What watches a replay: the lesson's details first, then every update with its offset."""

    def begin(self, info: LessonInfo) -> None: ...

    def show(self, update: ReplayUpdate, at: float | None) -> None: ...


def lesson_info(path: Path, header: dict[str, Any] | None) -> LessonInfo:
    """The lesson's details from the log's header; bare logs have none."""
    header = header or {}
    scenario = str(header.get("scenario") or "unknown")
    title, tutor_name = scenario, "Tutor"
    if header.get("scenario"):
        title, tutor_name = _scenario_names(scenario) or (title, tutor_name)
    started: datetime | None = None
    with contextlib.suppress(KeyError, ValueError):
        started = datetime.fromisoformat(str(header["started_at"]))
    return LessonInfo(
        path,
        scenario,
        title,
        tutor_name,
        str(header.get("engine") or "unknown"),
        str(header.get("model") or "unknown"),
        started,
    )


def _scenario_names(scenario_id: str) -> tuple[str, str] | None:
    """The scenario's title and the tutor persona's name, if the catalogue still has it."""
    from tutor_cli.catalogue import Catalogue, read_json

    try:
        entry = Catalogue.load().get(scenario_id)
        data = read_json(entry.path)
    except BadInput:
        return None  # a lesson since removed or renamed still replays, under its id
    persona = data.get("persona") if isinstance(data, dict) else None
    name = persona.get("name") if isinstance(persona, dict) else None
    return entry.title, name if isinstance(name, str) and name else "Tutor"


class Replay:
    """Plays an event log back to a view, paced like the call or as fast as possible.

    Records are streamed, never loaded whole. Those before `start_at` (seconds) still go through
    the lesson, so its state is right, but are not shown or played. The WAV export, if asked
    for, covers the whole session whatever `start_at` says.
    """

    def __init__(
        self,
        log: Path,
        view: ReplayView,
        *,
        speed: float = 1.0,
        instant: bool = False,
        start_at: float = 0.0,
        strict: bool = False,
        speaker: Speaker | None = None,
        export_wav: Path | None = None,
        clock: Clock | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be more than 0")
        self.log = log
        self.view = view
        self.speed = speed
        self.instant = instant
        self.start_at = max(0.0, start_at)
        self.strict = strict
        self.speaker = speaker
        self.export_wav = export_wav
        self.clock = clock or SystemClock()
        self.notify = notify or (lambda _text: None)

    def run(self) -> ReplaySummary:
        """Replay the whole log; the summary of the lesson it holds.

        Raises `BadInput` for a log with nothing to replay (missing, empty, no events), for
        `start_at` past its end, and in strict mode at the first bad line; a WAV export begun
        by a failed replay is removed.
        """
        try:
            empty = self.log.is_file() and self.log.stat().st_size == 0
        except OSError:
            empty = False  # the reader names the problem
        if empty:
            raise BadInput(f"{self.log}: empty file, no events to replay")
        wav = SessionWav(self.export_wav) if self.export_wav is not None else None
        try:
            return self._play(self.open_reader(), wav)
        except BadInput:
            if wav is not None:
                wav.close()
                wav.path.unlink(missing_ok=True)
            raise
        finally:
            if wav is not None:
                wav.close()

    def open_reader(self) -> EventLogReader:
        """The log's records. The call screen wraps them to pace them by its own clock."""
        return EventLogReader(self.log, strict=self.strict)

    def _play(self, reader: EventLogReader, wav: SessionWav | None) -> ReplaySummary:
        lesson: RecordedLesson | None = None
        info: LessonInfo | None = None
        last_t = 0.0
        timed = True
        origin: float | None = None  # the wall time `start_at` plays at
        for record in reader:
            if lesson is None:
                info = lesson_info(self.log, reader.header)
                keep_audio = wav is not None or self.speaker is not None
                lesson = RecordedLesson(info.model, keep_audio=keep_audio)
                self.view.begin(info)
            at = record.t
            if at is None and timed:
                timed = False
                if self.start_at:
                    raise BadInput(f"--from: {self.log} has no time offsets (a bare event log)")
                if not self.instant:
                    self.notify("the log has no time offsets (bare events): replaying at once")
            if at is not None:
                last_t = max(last_t, at)
            updates = lesson.feed(record)
            shown = at is None or at >= self.start_at
            if shown and updates and at is not None and not self.instant:
                now = self.clock.monotonic()
                if origin is None:
                    origin = now
                wait = origin + (at - self.start_at) / self.speed - now
                if wait > 0.001:
                    self.clock.sleep(wait)
            for update in updates:
                self._route(update, at, shown, wav)
        if self.speaker is not None:
            self.speaker.flush()
        if lesson is None or info is None or reader.events == 0:
            bad = f" ({count_of(reader.bad_lines, 'bad line')} skipped)" if reader.bad_lines else ""
            raise BadInput(f"{self.log}: no events to replay{bad}")
        if timed and self.start_at > last_t:
            raise BadInput(
                f"--from: {clock_time(self.start_at)} is past the end of {self.log} "
                f"({clock_time(last_t)})"
            )
        wav_seconds = wav.close(last_t if timed else None) if wav is not None else None
        return self._summary(lesson, info, reader, last_t, timed, wav_seconds)

    def _route(
        self, update: ReplayUpdate, at: float | None, shown: bool, wav: SessionWav | None
    ) -> None:
        if isinstance(update, AudioChunk):
            if wav is not None:
                wav.tutor(at, update.item_id, update.pcm)
            if shown and self.speaker is not None:
                self.speaker.push(update.item_id, update.pcm)
            return  # audio is for the speaker, not the views
        if isinstance(update, LearnerAudio):
            if wav is not None:
                wav.learner(at, update.pcm)
            if shown and self.speaker is not None:
                self.speaker.push(LEARNER_AUDIO, update.pcm)
            return
        if isinstance(update, TutorTruncated) and wav is not None:
            wav.truncate(update.item_id, update.audio_end_ms)
        if not shown:
            return
        if (
            isinstance(update, ResponseState)
            and update.state == "done"
            and self.speaker is not None
        ):
            self.speaker.flush()
        self.view.show(update, at)

    def _summary(
        self,
        lesson: RecordedLesson,
        info: LessonInfo,
        reader: EventLogReader,
        last_t: float,
        timed: bool,
        wav_seconds: float | None,
    ) -> ReplaySummary:
        model = info.model if info.model != "unknown" else lesson.session_model or "unknown"
        usage = lesson.conversation.usage
        tools = [
            ToolRan(
                t.name,
                t.arguments,
                ToolOutcome(t.name, bool(t.ok), t.output or "", error=t.error()),
            )
            for t in lesson.tools
            if t.ok is not None
        ]
        summary = CallSummary(
            scenario=info.scenario,
            title=info.title,
            engine=info.engine,
            model=model,
            started_at=info.started_at or datetime.fromtimestamp(0, UTC),
            duration_s=last_t,
            learner_turns=lesson.learner_turns,
            tutor_turns=lesson.tutor_turns,
            tools=tools,
            grade=lesson.grade(),
            quiz=lesson.quiz(),
            usage=usage,
            cost_usd=cost_usd(model, usage),
            log_path=self.log,
        )
        return ReplaySummary(
            summary,
            lesson.tools,
            reader.events,
            reader.bad_lines,
            reader.first_bad_line,
            timed,
            self.start_at,
            wav_seconds,
        )
