"""The event log pane: every frame both ways, one short line each, with a filter.

Deltas (tutor audio and text, mic audio, argument and transcription deltas) are folded into
one line per item that counts them and says how much audio or text they carried, so a reply
is a handful of lines rather than hundreds. Only the line is kept, never the event: audio
frames are large. At most `max_records` lines are kept; older ones are forgotten.

Drawing is coalesced: a new line appears `FLUSH_S` after the first frame of a burst; a folded
line already on screen that only grew (the mic's 50 appends a second, a reply's audio) is
redrawn at most once every `GROWN_S`, or when the owner calls `flush_grown` (the call screen
does it with the clock, so both cost one repaint). No timer runs while no frames arrive, and a
hidden pane draws nothing until it is shown.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Input

from tutor_cli.datatypes import datatype
from tutor_cli.realtime.events import BYTES_PER_MS, base64_size, object_field
from tutor_cli.tui.lines import LineList
from tutor_cli.views.literal import printable

AUDIO_DELTAS = frozenset({"response.output_audio.delta", "input_audio_buffer.append"})
# A new mic-audio line starts when the server has taken a turn from the buffer.
MIC_TURN_ENDS = frozenset(
    {
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "input_audio_buffer.cleared",
        "input_audio_buffer.commit",
        "input_audio_buffer.clear",
    }
)
FLUSH_S = 0.1  # new lines appear within this
GROWN_S = 1.0  # a folded line that only grew is redrawn at most this often
ARROWS = {"client": "→", "server": "←", "local": "·"}
STYLES = {"client": "green", "server": "cyan", "local": "dim"}


def _snippet(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _b64_bytes(data: Any) -> int:
    return base64_size(data) if isinstance(data, str) else 0


def _item_text(item: dict[str, Any]) -> str:
    parts = []
    for part in item.get("content") or []:
        if isinstance(part, dict):
            value = part.get("text") or part.get("transcript")
            parts.append(value if isinstance(value, str) else f"<{part.get('type', '?')}>")
    return " ".join(parts)


def brief_event(event: dict[str, Any]) -> str:
    """What an event says, in a few words."""
    type_ = str(event.get("type") or "")
    if type_.startswith("session."):
        session = object_field(event, "session")
        bits = [f"{key} {session[key]}" for key in ("model", "voice") if session.get(key)]
        if session.get("output_modalities"):
            bits.append("out " + "+".join(map(str, session["output_modalities"])))
        if isinstance(session.get("instructions"), str):
            bits.append(f"instructions {len(session['instructions'])} chars")
        if isinstance(session.get("tools"), list):
            bits.append(f"{len(session['tools'])} tools")
        return ", ".join(bits)
    if type_ == "error":
        error = object_field(event, "error")
        return f"{error.get('code') or error.get('type') or ''}: {error.get('message') or ''}"
    if isinstance(event.get("item"), dict):
        item = event["item"]
        kind = item.get("type", "")
        if kind == "function_call":
            return f"{item.get('name', '')} {_snippet(item.get('arguments') or '', 60)}".strip()
        if kind == "function_call_output":
            return f"output {_snippet(item.get('output') or '', 60)}"
        return f"{item.get('role') or kind} {_snippet(_item_text(item), 60)}".strip()
    if type_ in ("response.create", "response.created", "response.done"):
        response = object_field(event, "response")
        bits = [str(response[key]) for key in ("id", "status") if response.get(key)]
        if response.get("tool_choice"):
            bits.append(f"tool_choice {_snippet(response['tool_choice'], 40)}")
        usage = response.get("usage")
        if isinstance(usage, dict) and usage.get("total_tokens") is not None:
            bits.append(f"{usage['total_tokens']} tokens")
        return ", ".join(bits)
    for key in ("transcript", "text", "arguments", "delta", "state", "note", "name"):
        if isinstance(event.get(key), str):
            return _snippet(event[key])
    ids = [f"{key} {event[key]}" for key in ("item_id", "response_id", "call_id") if key in event]
    return ", ".join(map(str, ids))


@datatype(frozen=False)
class EventRecord:
    """One line of the pane: an event, or a run of deltas folded together."""

    seq: int
    t: float
    direction: str
    type: str
    summary: str
    count: int = 1
    t_last: float = 0.0
    audio_bytes: int = 0
    chars: int = 0

    @property
    def folded(self) -> bool:
        return self.type.endswith(".delta") or self.type in AUDIO_DELTAS

    def detail(self) -> str:
        if not self.folded:
            return self.summary
        if self.audio_bytes or self.type in AUDIO_DELTAS:
            amount = f"{self.audio_bytes / BYTES_PER_MS / 1000:.1f} s audio"
        else:
            amount = f"{self.chars} chars in {self.t_last - self.t:.1f} s"
        return f"×{self.count}, {amount} {self.summary}".rstrip()  # noqa: RUF001

    def search_text(self) -> str:
        return f"{self.direction} {self.type} {self.detail()}".casefold()

    def line(self) -> Text:
        style = STYLES.get(self.direction, "")
        type_style = "bold red" if self.type == "error" else f"bold {style}"
        return Text.assemble(
            (f"{self.t:8.3f} ", "dim"),
            (f"{ARROWS.get(self.direction, '?')} ", style),
            (printable(self.type), type_style),
            " ",
            printable(self.detail()),
        )


class EventRecords:
    """The pane's lines, folding deltas and forgetting the oldest past `max_records`."""

    def __init__(self, max_records: int = 2000) -> None:
        self.max_records = max_records
        self.records: deque[EventRecord] = deque()
        self._open: dict[tuple[str, str, str], EventRecord] = {}
        self._seq = 0
        self._mic_turn = 0

    def add(self, t: float, direction: str, event: dict[str, Any] | str) -> EventRecord:
        """Record one frame; returns its line's record (new, or a folded one grown)."""
        if not isinstance(event, dict):
            return self._new(t, direction, "frame", printable(_snippet(str(event))))
        type_ = str(event.get("type") or "?")
        if type_ in MIC_TURN_ENDS:
            self._mic_turn += 1
        if not (type_.endswith(".delta") or type_ in AUDIO_DELTAS):
            return self._new(t, direction, type_, brief_event(event))
        scope = str(event.get("item_id") or event.get("response_id") or "")
        if type_ == "input_audio_buffer.append":
            scope = f"turn {self._mic_turn}"
        key = (direction, type_, scope)
        record = self._open.get(key)
        if record is None:
            record = self._new(t, direction, type_, scope if type_ in AUDIO_DELTAS else "")
            record.count = 0
            self._open[key] = record
        record.count += 1
        record.t_last = t
        if type_ in AUDIO_DELTAS:
            field = "audio" if type_ == "input_audio_buffer.append" else "delta"
            record.audio_bytes += event.get("audio_bytes") or _b64_bytes(event.get(field))
        else:
            delta = event.get("delta")
            record.chars += len(delta) if isinstance(delta, str) else 0
            if not record.summary and scope:
                record.summary = scope
        return record

    def _new(self, t: float, direction: str, type_: str, summary: str) -> EventRecord:
        self._seq += 1
        record = EventRecord(self._seq, t, direction, type_, summary, t_last=t)
        self.records.append(record)
        while len(self.records) > self.max_records:
            old = self.records.popleft()
            if old.folded:
                for key, open_record in list(self._open.items()):
                    if open_record is old:
                        del self._open[key]
        return record


class EventPane(Vertical):
    """The filter box over the list of event lines."""

    def __init__(
        self,
        *,
        max_records: int = 2000,
        clock: Callable[[], float],
        grown_timer: bool = True,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.records = EventRecords(max_records)
        self.clock = clock
        self.grown_timer = grown_timer  # False: the owner calls `flush_grown`
        self.started: float | None = None
        self._query = ""
        self._dirty: dict[int, EventRecord] = {}  # lines not drawn yet
        self._grown: dict[int, EventRecord] = {}  # folded lines drawn, grown since
        self._keys: dict[int, int] = {}  # record seq -> line key
        self._draws: dict[str, Timer] = {}  # "new" / "grown": a draw asked for, not done

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter events (type, text, client/server)", id="event-filter")
        yield LineList(max_entries=self.records.max_records, wrap=False, id="event-lines")

    @property
    def lines(self) -> LineList:
        return self.query_one("#event-lines", LineList)

    def record(self, direction: str, event: dict[str, Any] | str, at: float | None = None) -> None:
        """One frame: cheap here, drawn at the next flush. `at`: its offset when known (a
        replay's record), else the time since the first frame."""
        if at is None:
            now = self.clock()
            if self.started is None:
                self.started = now
            at = now - self.started
        record = self.records.add(at, direction, event)
        if not self.display or not self._matches(record):
            return  # drawn, if ever, when the pane is shown again or the filter changes
        if record.seq in self._keys and record.seq not in self._dirty:
            self._grown[record.seq] = record
            if self.grown_timer:
                self._later("grown", GROWN_S)
        else:
            self._dirty[record.seq] = record
            self._later("new", FLUSH_S)

    def _later(self, kind: str, delay: float) -> None:
        if kind not in self._draws and self.is_attached:
            self._draws[kind] = self.set_timer(delay, lambda: self._draw(kind))

    def _matches(self, record: EventRecord) -> bool:
        return not self._query or self._query in record.search_text()

    def flush(self) -> None:
        """Draw every line waiting, new or grown, now."""
        self._draw("new")
        self._draw("grown")

    def flush_grown(self) -> None:
        """Redraw the folded lines that grew since they were drawn."""
        self._draw("grown")

    def _draw(self, kind: str) -> None:
        timer = self._draws.pop(kind, None)
        if timer is not None:
            timer.stop()
        if kind == "new":
            waiting, self._dirty = self._dirty, {}
        else:
            waiting, self._grown = self._grown, {}
        if not waiting or not self.display:
            return
        lines = self.lines
        for seq, record in waiting.items():
            key = self._keys.get(seq)
            if key is not None and lines.has(key):
                lines.replace(key, record.line())
            elif self._matches(record):
                self._keys[seq] = lines.append(record.line())
        if len(self._keys) > 2 * self.records.max_records:
            self._keys = {s: k for s, k in self._keys.items() if lines.has(k)}

    def clear(self) -> None:
        """Forget every line (a replay seeking back)."""
        self.records = EventRecords(self.records.max_records)
        self.redraw()

    def redraw(self) -> None:
        """Show every kept line that passes the filter."""
        self._dirty.clear()
        self._grown.clear()
        lines = self.lines
        lines.clear()
        self._keys = {}
        for record in self.records.records:
            if self._matches(record):
                self._keys[record.seq] = lines.append(record.line())

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._query = event.value.strip().casefold()
        self.redraw()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()  # Enter in the filter box is not a learner turn
