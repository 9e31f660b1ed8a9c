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

import base64
import binascii
import gzip
import io
import json
import os
import time
import zlib
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal, cast

from tutor_cli import __version__
from tutor_cli.errors import BadInput
from tutor_cli.realtime.events import is_client_event_type
from tutor_cli.storage.local_records import LocalRecord
from tutor_cli.storage.log_lines import (
    MAX_LINE_BYTES,
    BadLine,
    capped_lines,
    parse_line,
    size_text,
)
from tutor_cli.storage.redact import Redactor

FORMAT = "tutor-eventlog"
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
    try:
        size = len(base64.b64decode(audio, validate=True))
    except (binascii.Error, ValueError):
        size = len(audio) * 3 // 4
    # `audio: ""` keeps the event a valid client event; the count keeps its size on record.
    return {**event, "audio": "", "audio_bytes": size}


class EventLogWriter:
    """Appends events to a new log file, one flushed line each."""

    def __init__(
        self,
        path: Path,
        header: dict[str, Any],
        *,
        secrets: Iterable[str] = (),
        keep_mic_audio: bool = False,
    ) -> None:
        self.path = path
        self._redact = Redactor(secrets)
        self._keep_mic_audio = keep_mic_audio
        self._start = time.monotonic()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file: IO[str] | None = os.fdopen(fd, "w", encoding="utf-8")
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
    ) -> EventLogWriter:
        """A new log in `folder`, named after the start time and the scenario."""
        from tutor_cli.storage.paths import ensure_private_dir

        ensure_private_dir(folder)
        started = datetime.now(UTC)
        stem = f"{started:%Y%m%d-%H%M%S}-{scenario}"
        path = folder / f"{stem}.jsonl"
        suffix = 1
        while path.exists():
            suffix += 1
            path = folder / f"{stem}-{suffix}.jsonl"
        header = {
            "tutor_version": __version__,
            "scenario": scenario,
            "engine": engine,
            "model": model,
            "started_at": started.isoformat(timespec="milliseconds"),
            "mic_audio": keep_mic_audio,
        }
        return cls(path, header, secrets=secrets, keep_mic_audio=keep_mic_audio)

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
        self.write("local", record.event())

    def _write_line(self, record: dict[str, Any]) -> None:
        if self._file is None:
            return
        line = self._redact.text(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        self._file.write(line + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> EventLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
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


@dataclass
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
