"""The JSONL event log every call leaves behind, and the reader replay uses.

Format (version 1):
- line 1, a header: `{"format": "tutor-eventlog", "version": 1, "tutor_version", "scenario",
  "engine", "model", "started_at"}`;
- then one line per event: `{"t": seconds since start, "dir": "client"|"server"|"local",
  "event": {...}}`. `local` records are the app's own (`local_records`: tool results, state
  changes, a reconnect's restored history, the end); a frame from a server that was not JSON
  is a `local` record whose event is the raw text.

Lines are flushed as they are written, so a crash loses at most the line in flight. The file is
created readable by its owner only. Secrets handed to the writer never reach the file, and
microphone audio is replaced by its byte count unless recording was asked for.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import time
import zlib
from collections.abc import Callable, Generator, Iterable
from dataclasses import field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal, cast

from tutor_cli import __version__
from tutor_cli.datatypes import datatype
from tutor_cli.errors import BadInput
from tutor_cli.realtime.events import base64_size, is_client_event_type
from tutor_cli.storage.local_records import CallEnded, LocalRecord
from tutor_cli.storage.log_lines import (
    MAX_LINE_BYTES,
    BadLine,
    capped_lines,
    parse_line,
    size_text,
)
from tutor_cli.storage.redact import Redactor

FORMAT = "tutor-eventlog"
MAX_SAME_NAME = 1000  # logs with one name (same second, same scenario) before giving up
VERSION = 1
Direction = Literal["client", "server", "local"]
DIRECTIONS: tuple[Direction, ...] = ("client", "server", "local")


def _direction(value: Any) -> Direction | None:
    for direction in DIRECTIONS:
        if value == direction:
            return direction
    return None


def _without_mic_audio(event: dict[str, Any]) -> dict[str, Any]:
    audio = event.get("audio")
    if event.get("type") != "input_audio_buffer.append" or not isinstance(audio, str):
        return event
    # `audio: ""` keeps the event a valid client event; the count keeps its size on record.
    return {**event, "audio": "", "audio_bytes": base64_size(audio)}


class EventLogWriter:
    """Appends events to a new log file, one line each, on disk as soon as it is written.

    A write that fails (a full disk, a lost drive) does not stop the call: the line cut short
    is taken back so the file holds whole lines only, `on_failure` hears about it once, and
    later events are dropped, but for the end record, which is still tried so that a replay
    knows where and why the log stops.
    """

    def __init__(
        self,
        path: Path,
        header: dict[str, Any],
        *,
        secrets: Iterable[str] = (),
        keep_mic_audio: bool = False,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self._redact = Redactor(secrets)
        self._keep_mic_audio = keep_mic_audio
        self._on_failure = on_failure
        self.failure: str | None = None  # why the log stopped short, once it has
        self._start = time.monotonic()
        # O_EXCL: two calls never share a file, whatever their names (see `create`).
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._size = 0  # bytes of whole lines on disk
        self._write_line({"format": FORMAT, "version": VERSION, **header})

    @classmethod
    def create(
        cls,
        folder: Path,
        *,
        scenario: str,
        engine: str,
        model: str,
        secrets: Iterable[str] = (),
        keep_mic_audio: bool = False,
        on_failure: Callable[[str], None] | None = None,
    ) -> EventLogWriter:
        """A new log in `folder`, named after the start time and the scenario.

        Calls started in the same second (or scripted sessions run in parallel) get `-2`,
        `-3`, … : each name is claimed by creating the file, so two cannot both take one.
        Raises BadInput, naming the folder, when it cannot be created or written.
        """
        from tutor_cli.storage.paths import ensure_private_dir

        try:
            ensure_private_dir(folder)
        except OSError as exc:
            raise BadInput(f"{folder}: cannot write the event log: {_why(exc)}") from None
        started = datetime.now(UTC)
        stem = f"{started:%Y%m%d-%H%M%S}-{scenario}"
        header = {
            "tutor_version": __version__,
            "scenario": scenario,
            "engine": engine,
            "model": model,
            "started_at": started.isoformat(timespec="milliseconds"),
            "mic_audio": keep_mic_audio,
        }
        for number in range(1, MAX_SAME_NAME + 1):
            path = folder / (f"{stem}.jsonl" if number == 1 else f"{stem}-{number}.jsonl")
            try:
                return cls(
                    path,
                    header,
                    secrets=secrets,
                    keep_mic_audio=keep_mic_audio,
                    on_failure=on_failure,
                )
            except FileExistsError:
                continue
            except OSError as exc:
                raise BadInput(f"{folder}: cannot write the event log: {_why(exc)}") from None
        raise BadInput(f"{folder}: {MAX_SAME_NAME} logs named {stem}: too many calls at once")

    def elapsed(self) -> float:
        """Seconds since the log started, the `t` of the next record."""
        return time.monotonic() - self._start

    def write(self, direction: Direction, event: dict[str, Any] | str) -> None:
        """Record one event (or, for a non-JSON frame, its raw text)."""
        if direction == "client" and isinstance(event, dict) and not self._keep_mic_audio:
            event = _without_mic_audio(event)
        self._write_line({"t": round(self.elapsed(), 3), "dir": direction, "event": event})

    def note(self, record: LocalRecord) -> None:
        """Record something the app itself knows (see `local_records`)."""
        line = {"t": round(self.elapsed(), 3), "dir": "local", "event": record.event()}
        # After a failed write, only the end record is tried: a gap followed by more events
        # would pass for a complete log.
        self._write_line(line, after_failure=isinstance(record, CallEnded))

    def _write_line(self, record: dict[str, Any], *, after_failure: bool = False) -> None:
        if self._fd is None or (self.failure is not None and not after_failure):
            return
        data = self._line(record, ascii_only=False)
        if data is None:  # a lone surrogate, which UTF-8 cannot encode: JSON escapes it
            data = self._line(record, ascii_only=True) or b""
        try:
            written = 0
            while written < len(data):  # the kernel may take a long line in parts
                written += os.write(self._fd, data[written:])
        except OSError as exc:
            self._take_back()
            self._failed(exc)
            return
        self._size += len(data)

    def _line(self, record: dict[str, Any], *, ascii_only: bool) -> bytes | None:
        text = json.dumps(record, ensure_ascii=ascii_only, separators=(",", ":"))
        try:
            return (self._redact.text(text) + "\n").encode("utf-8")
        except UnicodeEncodeError:
            return None

    def _take_back(self) -> None:
        """Cut a line the disk took only part of, so the file ends with a whole line."""
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, self._size)
            os.lseek(self._fd, self._size, os.SEEK_SET)
        except OSError:
            pass  # a reader skips a cut-off last line anyway

    def _failed(self, exc: OSError) -> None:
        if self.failure is not None:
            return
        self.failure = f"cannot save the event log {self.path}: {_why(exc)}"
        if self._on_failure is not None:
            self._on_failure(self.failure)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> EventLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


@datatype
class Record:
    """One event read back: `t` is None for bare logs, which carry no timing."""

    line: int
    t: float | None
    dir: Direction
    event: dict[str, Any] | str


# No lesson reaches a day, and a day of 24 kHz PCM16 is just under the 4 GiB a WAV file can
# describe: a later offset is a corrupt line, not a long pause to sleep through or export.
MAX_OFFSET_S = 24 * 3600.0


def read_record(number: int, data: Any) -> Record:
    """The record a parsed line (number `number`) holds: ours (`t`, `dir`, `event`) or a bare
    event; `BadLine` saying why it is neither."""
    if not isinstance(data, dict):
        raise BadLine("not a JSON object")
    if "dir" in data and "event" in data:
        direction = _direction(data["dir"])
        event, t = data["event"], data.get("t")
        if direction is None or not isinstance(event, dict | str):
            raise BadLine("not an event record")
        if not isinstance(t, int | float) or isinstance(t, bool):
            raise BadLine("record without a time offset 't'")
        if not 0 <= t <= MAX_OFFSET_S:
            raise BadLine(f"time offset 't' {t!r} is not between 0 and {MAX_OFFSET_S:.0f} s")
        return Record(number, float(t), direction, event)
    if isinstance(data.get("type"), str):
        sender: Direction = "client" if is_client_event_type(data["type"]) else "server"
        return Record(number, None, sender, data)
    raise BadLine("neither an event record nor an event")


@datatype(frozen=False)
class EventLogReader:
    """Streams the records of a log without loading the file.

    Reads our format (`.jsonl`, gzip-compressed or not) and bare JSONL where each line is just
    an event. Lines that are not records (junk, a truncated last line, a line over
    `max_line_bytes`, odd numbers or deep nesting: see `log_lines`) are skipped and counted;
    with `strict`, the first one raises `BadInput` naming its line number. Memory stays
    bounded by `max_line_bytes`, whatever the file holds.
    """

    path: Path
    strict: bool = False
    header: dict[str, Any] | None = None
    bad_lines: int = 0
    first_bad_line: int | None = None
    events: int = 0
    max_line_bytes: int = MAX_LINE_BYTES
    _started: bool = field(default=False, repr=False)

    def _open(self) -> IO[bytes]:
        try:
            raw = self.path.open("rb")
        except FileNotFoundError:
            raise BadInput(f"{self.path}: no such file") from None
        except IsADirectoryError:
            raise BadInput(f"{self.path}: is a folder, not a log file") from None
        except OSError as exc:
            raise BadInput(f"{self.path}: cannot read: {exc.strerror or exc}") from None
        magic = raw.peek(2)[:2] if isinstance(raw, io.BufferedReader) else b""
        if magic == b"\x1f\x8b":
            return cast(IO[bytes], gzip.GzipFile(fileobj=raw))
        return raw

    def _bad(self, number: int, why: str) -> None:
        if self.strict:
            raise BadInput(f"{self.path}: line {number}: {why}")
        self.bad_lines += 1
        if self.first_bad_line is None:
            self.first_bad_line = number

    def _header(self, data: Any) -> bool:
        """Whether the first line is the log's header (kept); `BadInput` for another version."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return False
        if data.get("version") != VERSION:
            raise BadInput(
                f"{self.path}: log format version {data.get('version')!r} "
                f"is not supported (this tutor reads version {VERSION})"
            )
        self.header = data
        return True

    def __iter__(self) -> Generator[Record, None, None]:
        if self._started:
            raise RuntimeError("an EventLogReader is read once")
        self._started = True
        number = 0
        with self._open() as stream:
            try:
                for number, line in enumerate(capped_lines(stream, self.max_line_bytes), 1):
                    if line is None:
                        self._bad(number, f"longer than {size_text(self.max_line_bytes)}")
                        continue
                    if line.isspace():
                        continue  # a blank line (isspace, unlike strip, copies nothing)
                    try:
                        data = parse_line(line)
                        if number == 1 and self._header(data):
                            continue
                        record = read_record(number, data)
                    except BadLine as bad:
                        self._bad(number, str(bad))
                        continue
                    self.events += 1
                    yield record
            except (EOFError, OSError, zlib.error) as exc:
                # A gzip log cut short (the call was killed) or damaged: keep what was read.
                self._bad(number + 1, f"compressed data ends early or is damaged ({exc})")


def read_log(path: Path, strict: bool = False) -> EventLogReader:
    """A reader for `path`; iterate it for records, then look at `bad_lines`."""
    return EventLogReader(path, strict=strict)
