"""A replay's pass over a log, and the headless loop that paces it.

`Playback` streams the log (never loaded whole) through a `RecordedLesson` and yields each
record with its updates; a driver decides when to hand them on. Two drivers share it: `Replay`
below (a plain loop that sleeps, for `--headless`, `--json` and the WAV export) and the call
screen's async worker (`tui.replay_screen`). Both pace with one `Pacer`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tutor_cli.datatypes import datatype
from tutor_cli.errors import BadInput
from tutor_cli.lesson.updates import (
    AudioChunk,
    LearnerAudio,
    ReplayUpdate,
    ResponseState,
    TutorTruncated,
)
from tutor_cli.realtime.pricing import engine_bills
from tutor_cli.replay.lesson import (
    LessonInfo,
    RecordedLesson,
    ReplaySummary,
    clock_time,
    count_of,
    lesson_info,
)
from tutor_cli.replay.pacer import Pacer
from tutor_cli.storage.eventlog import EventLogReader, Record, read_record
from tutor_cli.storage.log_lines import BadLine, parse_line

if TYPE_CHECKING:
    from tutor_cli.replay.wav import SessionWav

TAIL_BYTES = 65536  # how much of a log's end `log_duration` reads
LEARNER_AUDIO = "learner"  # the item id recorded microphone audio is pushed to a speaker under


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


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall time."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@datatype
class Step:
    """One record of the log and the updates it stands for."""

    record: Record
    updates: list[ReplayUpdate]

    @property
    def at(self) -> float | None:
        return self.record.t


def check_not_empty(log: Path) -> None:
    """`BadInput` for an empty file, before any reader opens it."""
    try:
        empty = log.is_file() and log.stat().st_size == 0
    except OSError:
        empty = False  # the reader names the problem
    if empty:
        raise BadInput(f"{log}: empty file, no events to replay")


class Playback:
    """One pass over a log. Iterate `steps()`, then ask for the `summary`."""

    def __init__(self, log: Path, *, strict: bool = False, keep_audio: bool = False) -> None:
        check_not_empty(log)
        self.log = log
        self.keep_audio = keep_audio
        self.reader = EventLogReader(log, strict=strict)
        self.lesson: RecordedLesson | None = None
        self.info: LessonInfo | None = None
        self.last_t = 0.0
        self.timed = True  # every record so far had an offset

    def steps(self) -> Iterator[Step]:
        """The records in order, each with its updates; `BadInput` for a log with no events
        (after reading it), and in strict mode at the first bad line."""
        for record in self.reader:
            if self.lesson is None:
                self.info = lesson_info(self.log, self.reader.header)
                self.lesson = RecordedLesson(
                    self.info.model,
                    keep_audio=self.keep_audio,
                    billed=engine_bills(self.info.engine),
                )
            if record.t is None:
                self.timed = False
            else:
                self.last_t = max(self.last_t, record.t)
            yield Step(record, self.lesson.feed(record))
        if self.lesson is None or self.reader.events == 0:
            bad = self.reader.bad_lines
            skipped = f" ({count_of(bad, 'bad line')} skipped)" if bad else ""
            raise BadInput(f"{self.log}: no events to replay{skipped}")

    def summary(self, start_at: float, wav_seconds: float | None = None) -> ReplaySummary:
        """The lesson's figures, once `steps()` has run to the end."""
        assert self.lesson is not None and self.info is not None
        lesson, tools = self.lesson.summary(self.info, self.last_t)
        lesson.log_path = self.log
        return ReplaySummary(
            lesson,
            tools,
            self.reader.events,
            self.reader.bad_lines,
            self.reader.first_bad_line,
            self.timed,
            start_at,
            wav_seconds,
        )


class Replay:
    """Plays an event log back to a view, paced like the call or as fast as possible.

    Records before `start_at` (seconds) still go through the lesson, so its state is right,
    but are not shown or played. The WAV export, if asked for, covers the whole session
    whatever `start_at` says.
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
        playback = Playback(
            self.log,
            strict=self.strict,
            keep_audio=self.export_wav is not None or self.speaker is not None,
        )
        wav: SessionWav | None = None
        if self.export_wav is not None:
            from tutor_cli.replay.wav import SessionWav

            wav = SessionWav(self.export_wav)
        try:
            return self._play(playback, wav)
        except BadInput:
            if wav is not None:
                wav.close()
                wav.path.unlink(missing_ok=True)
            raise
        finally:
            if wav is not None:
                wav.close()

    def _play(self, playback: Playback, wav: SessionWav | None) -> ReplaySummary:
        pacer = Pacer(self.start_at, speed=self.speed)
        begun = bare = False
        for step in playback.steps():
            if not begun:
                assert playback.info is not None
                self.view.begin(playback.info)
                begun = True
            at = step.at
            if at is None and not bare:
                bare = True
                if self.start_at:
                    raise BadInput(f"--from: {self.log} has no time offsets (a bare event log)")
                if not self.instant:
                    self.notify("the log has no time offsets (bare events): replaying at once")
            shown = at is None or at >= self.start_at
            if shown and step.updates and at is not None and not self.instant:
                now = self.clock.monotonic()
                pacer.release(now)
                wait = pacer.delay(at, now)
                if wait > 0.001:
                    self.clock.sleep(wait)
            for update in step.updates:
                self._route(update, at, shown, wav)
        if self.speaker is not None:
            self.speaker.flush()
        if playback.timed and self.start_at > playback.last_t:
            raise BadInput(
                f"--from: {clock_time(self.start_at)} is past the end of {self.log} "
                f"({clock_time(playback.last_t)})"
            )
        end = playback.last_t if playback.timed else None
        wav_seconds = wav.close(end) if wav is not None else None
        return playback.summary(self.start_at, wav_seconds)

    def _route(
        self, update: ReplayUpdate, at: float | None, shown: bool, wav: SessionWav | None
    ) -> None:
        match update:
            case AudioChunk():
                if wav is not None:
                    wav.tutor(at, update.item_id, update.pcm)
                if shown and self.speaker is not None:
                    self.speaker.push(update.item_id, update.pcm)
                return  # audio is for the speaker, not the views
            case LearnerAudio():
                if wav is not None:
                    wav.learner(at, update.pcm)
                if shown and self.speaker is not None:
                    self.speaker.push(LEARNER_AUDIO, update.pcm)
                return
            case TutorTruncated():
                if wav is not None:
                    wav.truncate(update.item_id, update.audio_end_ms)
            case ResponseState(state="done"):
                if shown and self.speaker is not None:
                    self.speaker.flush()
            case _:
                pass  # every other update is only shown
        if shown:
            self.view.show(update, at)


def peek_info(log: Path) -> LessonInfo:
    """The lesson's details from the log's first lines; `BadInput` for a log with nothing."""
    check_not_empty(log)
    reader = EventLogReader(log)
    records = iter(reader)
    try:
        first = next(records, None)
    finally:
        records.close()
    if first is None:
        raise BadInput(f"{log}: no events to replay")
    return lesson_info(log, reader.header)


def log_duration(path: Path) -> float | None:
    """The offset of a plain log's last record, read from its end: None for a gzip log (whose
    end cannot be read without reading it all) or a log without offsets. Lines the reader
    would skip are skipped here too, so the length is the one the replay reaches."""
    with path.open("rb") as file:
        if file.read(2) == b"\x1f\x8b":
            return None
        size = file.seek(0, 2)
        file.seek(max(0, size - TAIL_BYTES))
        tail = file.read()
    for line in reversed(tail.split(b"\n")):
        try:
            record = read_record(0, parse_line(line))
        except BadLine:
            continue  # junk, a cut-off line, or the tail's first line, read from its middle
        return record.t  # None for a bare event: a bare log has no offsets
    return None
