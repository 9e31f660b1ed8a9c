"""`tutor replay`: logs from real calls on the offline engine, and crafted ones (beta names,
bare events, gzip, corrupt lines, known audio), through `tutor replay` itself."""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.cli_runner import tutor
from tests.clock import FakeClock
from tests.conftest import REPO, SCENARIOS
from tutor_cli.audio.pcm import FRAME_SAMPLES
from tutor_cli.cli import main
from tutor_cli.cli.replay import parse_offset
from tutor_cli.lesson.updates import (
    ConnectionState,
    LearnerAudio,
    LearnerTurn,
    ReplayUpdate,
    ResponseState,
    TutorFinal,
)
from tutor_cli.realtime.events import RATE
from tutor_cli.replay.lesson import clock_time
from tutor_cli.replay.playback import Replay
from tutor_cli.replay.wav import SessionWav
from tutor_cli.storage.eventlog import read_log

RUNNER = """
import sys
from tutor_cli.cli import main
sys.exit(main(["replay", *sys.argv[1:]]))
"""
STAMP = re.compile(r"^\[\d\d:\d\d\.\d\] ")


def run_replay(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`tutor replay ARGS` in this process: exit code, stdout, stderr."""
    capsys.readouterr()
    code = main(["replay", *args])
    out, err = capsys.readouterr()
    return code, out, err


def said_lines(text: str, tutor_name: str = "Jairo") -> list[str]:
    """The tutor's and learner's lines of a printed lesson, time stamps removed."""
    lines = [STAMP.sub("", line) for line in text.splitlines()]
    return [
        line for line in lines if line.startswith((f"{tutor_name}: ", "You: ", "You (spoken): "))
    ]


# --- a log from a real call ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A text-only headless call on the offline engine: its log and what it printed."""
    home = tmp_path_factory.mktemp("call-home")
    result = tutor(
        "call",
        "a1_taxi_bogota",
        "--headless",
        "--text-only",
        "--say",
        "Buenas tardes, muy bien.",
        "--say",
        "Al hotel Tequendama, por favor.",
        home=home,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (log,) = (home / "sessions").glob("*.jsonl")
    return log, result.stdout


def rewrite(log: Path, target: Path, change: Any) -> Path:
    """A copy of `log` with each record passed through `change` (None drops it)."""
    lines = log.read_text(encoding="utf-8").splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        record = change(json.loads(line))
        if record is not None:
            out.append(json.dumps(record, ensure_ascii=False))
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    return target


def test_a_real_call_replays_to_the_transcript_it_printed(
    recorded: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    log, printed = recorded
    expected = said_lines(printed)
    assert len(expected) >= 5 and "You: Buenas tardes, muy bien." in expected
    code, out, err = run_replay(capsys, str(log), "--headless", "--instant")
    assert code == 0, err
    assert said_lines(out) == expected
    assert re.search(r"^\[00:00\.\d\] Jairo: ", out, re.M)
    assert re.search(r"⚙ grade_lesson \{\"score\": \d+", out)
    summary = out.split("── lesson summary ──")[1]
    score = re.search(r"score  unfinished \(graded (\d+/100)", printed)
    assert score and f"score  {score.group(1)}" in summary
    assert "turns  2 yours, 4 the tutor's" in summary
    assert re.search(r"tool  \[00:0\d\.\d\] grade_lesson \{\"score\"", summary)
    # the offline engine bills nothing: no cost
    assert re.search(r"tokens  [\d,]+ in, [\d,]+ out\n", summary)
    assert err == ""  # headless, nothing skipped: nothing on stderr


def test_without_a_terminal_the_screen_falls_back_to_headless(
    recorded: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_replay(capsys, str(recorded[0]), "--instant")
    assert code == 0
    assert said_lines(out) == said_lines(recorded[1])
    assert err == ""


def test_json_output_shape(recorded: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run_replay(capsys, str(recorded[0]), "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"transcript", "summary"}
    lines = data["transcript"]
    assert all(set(line) == {"t", "speaker", "text"} for line in lines)
    assert {line["speaker"] for line in lines} == {"tutor", "learner"}
    assert [line["t"] for line in lines] == sorted(line["t"] for line in lines)
    expected = [
        ("Jairo" if line["speaker"] == "tutor" else "You") + ": " + line["text"] for line in lines
    ]
    assert expected == said_lines(recorded[1])
    summary = data["summary"]
    for key in ("scenario", "duration_s", "learner_turns", "tutor_turns", "grade", "usage"):
        assert key in summary
    assert summary["scenario"] == "a1_taxi_bogota" and summary["cost_usd"] is None  # not billed
    (tool,) = summary["tools"]
    assert tool["name"] == "grade_lesson" and tool["ok"] is True
    assert tool["arguments"]["score"] == summary["grade"]["score"]
    assert summary["usage"]["total_tokens"] > 0 and summary["bad_lines"] == 0


def test_beta_event_names_replay_the_same(
    recorded: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    to_beta = {
        "response.output_text.delta": "response.text.delta",
        "response.output_text.done": "response.text.done",
        "conversation.item.added": "conversation.item.created",
    }

    def beta(record: dict) -> dict | None:
        event = record["event"]
        if record["dir"] != "server" or not isinstance(event, dict):
            return record
        if event["type"] == "conversation.item.done":
            return None  # a beta server sends `conversation.item.created` alone
        event["type"] = to_beta.get(event["type"], event["type"])
        return record

    log = rewrite(recorded[0], tmp_path / "beta.jsonl", beta)
    where = {"response_id": "rb", "item_id": "ib", "output_index": 0, "content_index": 0}
    spoken = [
        {"type": "response.created", "response": {"id": "rb"}},
        {"type": "response.audio_transcript.delta", **where, "delta": "Hasta "},
        {"type": "response.audio.delta", **where, "delta": base64.b64encode(bytes(4800)).decode()},
        {"type": "response.audio_transcript.delta", **where, "delta": "luego."},
        {"type": "response.audio_transcript.done", **where, "transcript": "Hasta luego."},
        {"type": "response.done", "response": {"id": "rb", "status": "completed"}},
    ]
    with log.open("a", encoding="utf-8") as out:
        for event in spoken:
            out.write(json.dumps({"t": 9.0, "dir": "server", "event": event}) + "\n")
    text = log.read_text(encoding="utf-8")
    assert "response.text.delta" in text and "response.output_text" not in text
    code, out, _err = run_replay(capsys, str(log), "--instant", "--headless")
    assert code == 0
    assert said_lines(out) == [*said_lines(recorded[1]), "Jairo: Hasta luego."]


def test_bare_event_logs_replay_without_timing(
    recorded: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [r.event for r in read_log(recorded[0]) if isinstance(r.event, dict)]
    bare = tmp_path / "bare.jsonl"
    bare.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), "utf-8")
    code, out, err = run_replay(capsys, str(bare), "--headless", "--speed", "1")
    assert code == 0
    assert said_lines(out, "Tutor") == [
        line.replace("Jairo: ", "Tutor: ") for line in said_lines(recorded[1])
    ]  # no header: the lesson and its tutor are unknown
    assert not re.search(r"^\[\d", out, re.M)  # no time offsets to show
    assert "duration  unknown (the log has no time offsets)" in out
    assert re.search(r"score  \d+/100", out)  # the grade, from the logged tool output
    assert err.count("no time offsets") == 1

    # Dumped by another tool: only Realtime events, no `tutor.*` records; the grade then
    # comes from the function_call_output the client sent.
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text(
        "".join(
            json.dumps(e, ensure_ascii=False) + "\n"
            for e in events
            if not e["type"].startswith("tutor.")
        ),
        "utf-8",
    )
    code, out, _err = run_replay(capsys, str(foreign), "--instant", "--json")
    summary = json.loads(out)["summary"]
    assert code == 0 and summary["grade"]["score"] >= 0 and summary["duration_s"] is None
    assert summary["timed"] is False and summary["tools"][0]["ok"] is True


def server_only(recorded: tuple[Path, str], target: Path, beta: bool = False) -> Path:
    """The call's log as a tool that records only what the server sent would dump it: bare
    server events (beta: `conversation.item.created` alone, not `.added` then `.done`)."""
    events = [r.event for r in read_log(recorded[0]) if r.dir == "server"]
    if beta:
        events = [e for e in events if e["type"] != "conversation.item.done"]
        for event in events:
            if event["type"] == "conversation.item.added":
                event["type"] = "conversation.item.created"
    target.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), "utf-8")
    return target


@pytest.mark.parametrize("beta", [False, True], ids=["ga", "beta"])
def test_typed_turns_of_a_server_only_log_come_from_the_server_items(
    recorded: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], beta: bool
) -> None:
    log = server_only(recorded, tmp_path / "server-only.jsonl", beta)
    code, out, _err = run_replay(capsys, str(log), "--headless")
    assert code == 0
    assert said_lines(out, "Tutor") == [
        line.replace("Jairo: ", "Tutor: ") for line in said_lines(recorded[1])
    ]
    assert "turns  2 yours, 4 the tutor's" in out


def test_typed_turns_are_counted_once_when_the_server_echoes_them(tmp_path: Path) -> None:
    """Our logs hold the client's create and the server's echo of it (`.added`, `.done`):
    one turn. A user item the client did not log (typed elsewhere) is a turn of its own."""

    def echo(t: float, item_id: str, text: str) -> list[tuple[float, str, Any]]:
        content = [{"type": "input_text", "text": text}]
        item = {"id": item_id, "type": "message", "role": "user", "content": content}
        return [
            (t, "server", {"type": "conversation.item.added", "item": item}),
            (t, "server", {"type": "conversation.item.done", "item": item}),
        ]

    log = write_log(
        tmp_path / "log.jsonl",
        [
            *text_reply(1.0, "i1", "Hola."),
            typed(2.0, "Buenas."),
            *echo(2.1, "u1", "Buenas."),
            *text_reply(3.0, "i2", "¿Para dónde?"),
            typed(4.0, "Al hotel."),
            typed(4.5, "Al hotel."),  # said twice, echoed twice
            *echo(4.6, "u2", "Al hotel."),
            *echo(4.7, "u3", "Al hotel."),
            *echo(5.0, "u4", "Por favor."),  # sent by another client of the same session
            *text_reply(6.0, "i3", "Listo."),
        ],
    )
    watcher = Watcher()
    summary = Replay(log, watcher, instant=True).run()
    turns = [u.text for _at, u, _w in watcher.seen if isinstance(u, LearnerTurn)]
    assert turns == ["Buenas.", "Al hotel.", "Al hotel.", "Por favor."]
    assert summary.lesson.learner_turns == 4


def test_gzip_logs_replay_the_same(
    recorded: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packed = tmp_path / "call.jsonl.gz"
    packed.write_bytes(gzip.compress(recorded[0].read_bytes()))
    code, out, _err = run_replay(capsys, str(packed), "--instant")
    assert code == 0 and said_lines(out) == said_lines(recorded[1])


def corrupt(log: Path, target: Path) -> tuple[Path, int]:
    """Junk lines in the middle and a truncated last line; returns the first bad line's number."""
    lines = log.read_text(encoding="utf-8").splitlines()
    junk = ["this is not json", '{"t": 1.0, "dir": "sideways", "event": {}}', "[1, 2, 3]"]
    middle = len(lines) // 2
    lines[middle:middle] = junk
    lines[-1] = lines[-1][: len(lines[-1]) // 2]  # the call was killed mid-line
    target.write_text("\n".join(lines), encoding="utf-8")
    return target, middle + 1


def test_corrupt_logs_skip_bad_lines_and_count_them_once(
    recorded: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, first_bad = corrupt(recorded[0], tmp_path / "corrupt.jsonl")
    code, out, err = run_replay(capsys, str(log), "--instant", "--headless")
    assert code == 0
    assert said_lines(out) == said_lines(recorded[1])
    assert err.strip() == f"tutor: 4 bad lines skipped (the first is line {first_bad})"

    packed = tmp_path / "corrupt.jsonl.gz"
    packed.write_bytes(gzip.compress(log.read_bytes()))
    code, out, _err = run_replay(capsys, str(packed), "--json")
    assert code == 0 and json.loads(out)["summary"]["bad_lines"] == 4


def test_strict_fails_at_the_first_bad_line(
    recorded: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, first_bad = corrupt(recorded[0], tmp_path / "corrupt.jsonl")
    code, _out, err = run_replay(capsys, str(log), "--instant", "--headless", "--strict")
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith(f"tutor: {log}: line {first_bad}: not JSON")


def test_replay_stores_nothing_and_opens_no_socket(
    recorded: tuple[Path, str], tmp_path: Path
) -> None:
    home = tmp_path / "replay-home"
    before = recorded[0].read_bytes()
    code = f"""
import socket, sys
def refuse(*args, **kwargs):
    raise AssertionError("replay opened a socket")
socket.socket.connect = socket.socket.connect_ex = socket.create_connection = refuse
sys.argv = ["", {str(recorded[0])!r}, "--headless", "--instant"]
try:
    exec({RUNNER!r})
finally:
    loaded = [m for m in ("websockets", "textual", "sounddevice") if m in sys.modules]
    print("LOADED", loaded, file=sys.stderr)
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "TUTOR_HOME": str(home)},
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "⚙ grade_lesson" in result.stdout and "(shown, not run)" in result.stdout
    assert "LOADED []" in result.stderr
    assert not home.exists()  # no progress.db, no session log, nothing
    assert recorded[0].read_bytes() == before


def test_importing_the_command_stays_light() -> None:
    code = (
        "import sys, tutor_cli.cli.replay;"
        "print([m for m in ('textual', 'sounddevice', 'websockets', 'numpy', 'rich')"
        " if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "empty file, no events to replay"),
        (
            b'{"format": "tutor-eventlog", "version": 1, "scenario": "x"}\n',
            "no events to replay",
        ),
        (b"junk\nmore junk\n", "no events to replay (2 bad lines skipped)"),
        (gzip.compress(b""), "no events to replay"),
    ],
)
def test_nothing_to_replay_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    log = tmp_path / "log.jsonl"
    if content is not None:
        log.write_bytes(content)
    wav = tmp_path / "out.wav"
    code, out, err = run_replay(capsys, str(log), "--headless", "--export-wav", str(wav))
    assert code == 2
    assert err == f"tutor: {log}: {message}\n"
    assert out == "" and not wav.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--speed", "0"], "--speed: 0 must be a number more than 0"),
        (["--speed", "-2"], "--speed: -2 must be a number more than 0"),
        (["--speed", "2", "--instant"], "--speed and --instant cannot be used together"),
        (["--instant", "--speed", "1"], "--speed and --instant cannot be used together"),
        (["--from", "soon"], "--from: 'soon' is not a time (MM:SS or seconds, e.g. 1:30 or 90)"),
        (["--from", "1:75"], "--from: '1:75': the seconds of MM:SS must be under 60"),
        (["--from", "10:00"], "--from: 10:00.0 is past the end of LOG (00:0"),
        (["--export-wav", "."], "--export-wav: . is a folder; name a .wav file"),
        (["--export-wav", "no/such/dir/a.wav"], "--export-wav: no/such/dir: no such folder"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    recorded: tuple[Path, str],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    log = str(recorded[0])
    code, _out, err = run_replay(capsys, log, "--headless", *args)
    assert code == 2
    assert err.startswith("tutor: " + message.replace("LOG", log)), err
    assert err.count("\n") == 1


def test_offsets() -> None:
    assert parse_offset("1:30") == 90 and parse_offset("90") == 90 and parse_offset("0:02.5") == 2.5
    assert parse_offset("75:00") == 4500
    assert clock_time(12.44) == "00:12.4" and clock_time(3725.0) == "1:02:05.0"


# --- timing, seeking, audio ----------------------------------------------------------------------


def write_log(path: Path, records: list[tuple[float, str, Any]], model: str = "offline") -> Path:
    header = {
        "format": "tutor-eventlog",
        "version": 1,
        "tutor_version": "0.1.0",
        "scenario": "a1_taxi_bogota",
        "engine": "offline",
        "model": model,
        "started_at": "2025-09-01T10:00:00.000+00:00",
    }
    lines = [json.dumps(header)]
    lines += [json.dumps({"t": t, "dir": d, "event": e}, ensure_ascii=False) for t, d, e in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def text_reply(t: float, item: str, text: str) -> list[tuple[float, str, Any]]:
    where = {"response_id": f"r_{item}", "item_id": item, "output_index": 0, "content_index": 0}
    return [
        (t, "server", {"type": "response.created", "response": {"id": f"r_{item}"}}),
        (t + 0.1, "server", {"type": "response.output_text.delta", **where, "delta": text}),
        (t + 0.2, "server", {"type": "response.output_text.done", **where, "text": text}),
        (t + 0.2, "server", {"type": "response.done", "response": {"id": f"r_{item}"}}),
    ]


def typed(t: float, text: str) -> tuple[float, str, Any]:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return (t, "client", {"type": "conversation.item.create", "item": item})


class Watcher:
    """A view that keeps what it was shown, with the offsets."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock
        self.seen: list[tuple[float | None, ReplayUpdate, float]] = []

    def begin(self, info: object) -> None:
        self.info = info

    def show(self, update: ReplayUpdate, at: float | None) -> None:
        self.seen.append((at, update, self.clock.now if self.clock else 0.0))


def test_speed_and_from_pace_the_replay_and_keep_the_state(tmp_path: Path) -> None:
    log = write_log(
        tmp_path / "log.jsonl",
        [
            *text_reply(1.0, "i1", "Hola."),
            typed(3.0, "Buenas."),
            *text_reply(4.0, "i2", "¿Qué tal?"),
            typed(7.0, "Bien."),
        ],
    )
    clock = FakeClock()
    watcher = Watcher(clock)
    summary = Replay(log, watcher, speed=2.0, start_at=2.0, clock=clock).run()
    # nothing before 2.0 s was shown; what was is on the lesson's clock, twice as fast
    assert min(at for at, _u, _w in watcher.seen if at is not None) >= 2.0
    for at, _update, wall in watcher.seen:
        assert wall == pytest.approx((at - 2.0) / 2.0)
    finals = [u.text for _at, u, _w in watcher.seen if isinstance(u, TutorFinal)]
    typed_turns = [u.text for _at, u, _w in watcher.seen if isinstance(u, LearnerTurn)]
    assert finals == ["¿Qué tal?"] and typed_turns == ["Buenas.", "Bien."]
    # the summary covers the whole lesson, the skipped part included
    assert (summary.lesson.tutor_turns, summary.lesson.learner_turns) == (2, 2)
    assert summary.lesson.duration_s == 7.0 and summary.start_at == 2.0

    instant = FakeClock()
    Replay(log, Watcher(instant), instant=True, clock=instant).run()
    assert instant.slept == []


def test_from_is_shown_in_the_transcript_only_after_the_offset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_log(
        tmp_path / "log.jsonl",
        [*text_reply(1.0, "i1", "Hola."), typed(3.0, "Buenas."), *text_reply(4.0, "i2", "Chao.")],
    )
    code, out, _err = run_replay(capsys, str(log), "--from", "0:02", "--json")
    data = json.loads(out)
    assert code == 0
    assert [(x["t"], x["speaker"], x["text"]) for x in data["transcript"]] == [
        (3.0, "learner", "Buenas."),
        (4.1, "tutor", "Chao."),
    ]
    assert data["summary"]["tutor_turns"] == 2 and data["summary"]["from_s"] == 2.0


def test_history_recreated_after_a_reconnect_is_not_replayed_twice(tmp_path: Path) -> None:
    history = [
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hola."}],
        },
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Buenas."}]},
    ]
    recreated = [
        {"type": "conversation.item.create", "event_id": f"evt_h{n}", "item": item}
        for n, item in enumerate(history)
    ]
    log = write_log(
        tmp_path / "log.jsonl",
        [
            *text_reply(1.0, "i1", "Hola."),
            typed(2.0, "Buenas."),
            (2.5, "local", {"type": "tutor.state", "state": "reconnecting", "detail": "1006"}),
            (2.5, "local", {"type": "tutor.connection_lost"}),
            (3.0, "local", {"type": "tutor.state", "state": "connected", "detail": "again"}),
            (3.0, "client", {"type": "session.update", "session": {}}),
            (3.0, "local", {"type": "tutor.history_restored", "event_ids": ["evt_h0", "evt_h1"]}),
            *[(3.0, "client", event) for event in recreated],
            typed(5.0, "Buenas."),  # said again by the learner: a turn of its own
        ],
    )
    watcher = Watcher()
    summary = Replay(log, watcher, instant=True).run()
    turns = [u.text for _at, u, _w in watcher.seen if isinstance(u, LearnerTurn)]
    assert turns == ["Buenas.", "Buenas."] and summary.lesson.learner_turns == 2
    states = [u.state for _at, u, _w in watcher.seen if isinstance(u, ConnectionState)]
    assert states == ["reconnecting", "connected"]


def test_text_is_printed_literally_and_failed_tools_are_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = "[red]Hola[/red] \x1b[2J\x1b]0;pwned\x07"
    arguments = json.dumps({"score": "lots"})
    call = {
        "type": "function_call",
        "id": "f1",
        "call_id": "c1",
        "name": "grade_lesson",
        "arguments": arguments,
        "status": "completed",
    }
    failed = json.dumps({"ok": False, "error": "field 'score': expected a number"})
    where = {"response_id": "r2", "item_id": "i2", "output_index": 0, "content_index": 0}
    log = write_log(
        tmp_path / "log.jsonl",
        [
            *text_reply(1.0, "i1", hostile),
            (2.0, "server", {"type": "response.output_item.done", "item": call}),
            (
                2.1,
                "local",
                {
                    "type": "tutor.tool",
                    "name": "grade_lesson",
                    "call_id": "c1",
                    "ok": False,
                    "output": failed,
                },
            ),
            (2.2, "server", {"type": "response.output_text.delta", **where, "delta": "Se "}),
            (2.3, "local", {"type": "tutor.state", "state": "reconnecting", "detail": "1006"}),
            (2.4, "local", "<<not json>>"),
        ],
    )
    code, out, _err = run_replay(capsys, str(log), "--instant")
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "Jairo: [red]Hola[/red] ␛[2J␛]0;pwned␇" in out
    assert "✗ grade_lesson → field 'score': expected a number" in out
    assert "score  not graded" in out  # a grade the tool refused is no grade
    assert "→ failed: field 'score'" in out
    # the reply the drop cut off is shown as far as it got, before the reconnect
    assert re.search(r"\[00:02\.2\] Jairo: Se …\n\[00:02\.3\] ● reconnecting: 1006", out)
    assert "! engine error non_json_frame" in out


def pcm(ms: int, value: int) -> bytes:
    return np.full(ms * RATE // 1000, value, dtype="<i2").tobytes()


def audio(t: float, item: str, ms: int, value: int) -> tuple[float, str, Any]:
    where = {"response_id": "r", "item_id": item, "output_index": 0, "content_index": 0}
    delta = base64.b64encode(pcm(ms, value)).decode()
    return (t, "server", {"type": "response.output_audio.delta", **where, "delta": delta})


def mic(t: float, ms: int, value: int) -> tuple[float, str, Any]:
    chunk = base64.b64encode(pcm(ms, value)).decode()
    return (t, "client", {"type": "input_audio_buffer.append", "audio": chunk})


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (RATE, 1, 2)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


def test_export_wav_lays_the_audio_on_the_lesson_timeline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truncated = {
        "type": "conversation.item.truncated",
        "item_id": "A",
        "content_index": 0,
        "audio_end_ms": 250,
    }
    log = write_log(
        tmp_path / "log.jsonl",
        [
            audio(1.0, "A", 100, 1000),
            audio(1.01, "A", 100, 2000),  # arrives while A plays: follows on at 1.1 s
            audio(1.02, "A", 100, 3000),
            (1.2, "server", truncated),  # the learner heard 250 ms of A
            audio(1.3, "A", 100, 3500),  # too late: cut
            audio(2.0, "B", 100, 4000),  # silence between items
            audio(2.01, "B", 200, 5000),
            audio(2.05, "C", 100, 6000),  # another item while B plays: after it
            mic(2.1, 20, 100),  # the learner, mixed over the tutor
            *[mic(3.0 + i * 0.02, 20, 700) for i in range(5)],
            (3.5, "server", {"type": "response.done", "response": {"id": "r"}}),
        ],
    )
    wav = tmp_path / "out.wav"
    code, out, _err = run_replay(capsys, str(log), "--instant", "--export-wav", str(wav))
    assert code == 0 and "audio  3.5 s written" in out
    assert "(interrupted after 0.2 s)" in out
    samples = read_wav(wav)
    assert samples.size == 3.5 * RATE  # the whole lesson, to its last event

    def span(start: float, end: float) -> np.ndarray:
        return samples[round(start * RATE) : round(end * RATE)]

    expected = [
        (0.0, 1.0, 0),
        (1.0, 1.1, 1000),
        (1.1, 1.2, 2000),
        (1.2, 1.25, 3000),
        (1.25, 2.0, 0),
        (2.0, 2.1, 4000),
        (2.1, 2.12, 5100),
        (2.12, 2.3, 5000),
        (2.3, 2.4, 6000),
        (2.4, 3.0, 0),
        (3.0, 3.1, 700),
        (3.1, 3.5, 0),
    ]
    for start, end, value in expected:
        assert (span(start, end) == value).all(), (start, end, value)
    assert os.stat(wav).st_mode & 0o777 == 0o600  # it holds the lesson: owner only


def test_session_wav_holds_only_a_few_seconds(tmp_path: Path) -> None:
    wav = SessionWav(tmp_path / "long.wav")
    chunk = pcm(40, 1000)
    t = 0.0
    for reply in range(60):  # ten minutes: replies of 8 s, 2 s apart
        for _ in range(200):
            wav.tutor(t, f"item{reply}", chunk)
            t += 0.04
        wav.learner(t, pcm(20, 50))
        t += 2.0
        assert wav.held <= 20 * RATE
    assert wav.close(t) == pytest.approx(t, abs=1 / RATE)
    samples = read_wav(tmp_path / "long.wav")
    assert (samples == 1000).sum() == 60 * 200 * 40 * RATE // 1000


class FakeSpeaker:
    def __init__(self) -> None:
        self.pushed: list[tuple[str, bytes]] = []
        self.flushes = 0

    def push(self, item_id: str, pcm: bytes) -> None:
        self.pushed.append((item_id, pcm))

    def flush(self) -> None:
        self.flushes += 1


def test_a_speaker_gets_the_audio_from_the_offset_on(tmp_path: Path) -> None:
    log = write_log(
        tmp_path / "log.jsonl",
        [
            audio(0.5, "A", 40, 1),
            (0.6, "server", {"type": "response.done", "response": {"id": "r"}}),
            audio(1.5, "B", 40, 2),
            mic(1.6, 20, 3),
            audio(1.7, "B", 40, 4),
            (1.8, "server", {"type": "response.done", "response": {"id": "r2"}}),
        ],
    )
    speaker = FakeSpeaker()
    watcher = Watcher()
    Replay(log, watcher, instant=True, start_at=1.0, speaker=speaker).run()
    assert speaker.pushed == [("B", pcm(40, 2)), ("learner", pcm(20, 3)), ("B", pcm(40, 4))]
    assert speaker.flushes == 2  # the reply's end, then the replay's
    assert not any(isinstance(u, LearnerAudio) for _at, u, _w in watcher.seen)
    assert [u.state for _at, u, _w in watcher.seen if isinstance(u, ResponseState)] == ["done"]


@pytest.mark.slow
def test_a_real_voice_call_exports_the_audio_it_logged(
    tutor_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A short lesson (one step, a short opening) keeps the real-time playback short.
    lesson = json.loads((SCENARIOS / "a1_taxi_bogota.json").read_text(encoding="utf-8"))
    lesson.update(id="short_taxi", opening="¡Hola!", tools=["grade_lesson"])
    lesson["steps"] = lesson["steps"][:1]
    lesson["goals"] = lesson["goals"][:1]  # the one the step serves
    lesson["steps"][0]["tutor"] = "¿Cómo está?"
    (tutor_home / "scenarios").mkdir(parents=True)
    (tutor_home / "scenarios" / "short_taxi.json").write_text(json.dumps(lesson), "utf-8")
    quiet = tmp_path / "quiet.wav"
    with wave.open(str(quiet), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(4800))
    call = tutor(
        "call",
        "short_taxi",
        "--headless",
        "--mic-file",
        str(quiet),
        "--speaker-file",
        str(tmp_path / "speaker.wav"),
        "--record-mic",
        "--say",
        "Buenas tardes, muy bien.",
        home=tutor_home,
    )
    assert call.returncode == 0, call.stdout[-2000:] + call.stderr[-2000:]
    (log,) = (tutor_home / "sessions").glob("*.jsonl")
    records = list(read_log(log))
    deltas = [
        r
        for r in records
        if r.dir == "server" and r.event.get("type") == "response.output_audio.delta"
    ]
    assert deltas, "the offline engine sent no audio"
    assert any(r.event.get("audio") for r in records if r.dir == "client")  # mic kept

    wav = tmp_path / "replay.wav"
    code, out, _err = run_replay(capsys, str(log), "--instant", "--export-wav", str(wav))
    assert code == 0
    assert said_lines(out) == said_lines(call.stdout)
    samples = read_wav(wav)
    raw = samples.tobytes()
    # each tutor item's audio is in the file whole, where its first delta came (or right
    # after the item before it), the items one after the other
    items: dict[str, tuple[float, bytearray]] = {}
    for r in deltas:
        first, data = items.setdefault(r.event["item_id"], (r.t, bytearray()))
        data += base64.b64decode(r.event["delta"])
    end = 0
    for first, data in items.values():
        start = max(round(first * RATE), end)
        assert raw[2 * start : 2 * start + len(data)] == bytes(data)
        end = start + len(data) // 2
    # and the file lasts as long as the lesson: to the end of the tutor's audio or the last
    # event, or of the recorded mic's last frame, which may run up to a mic frame past it
    lesson = max(end, round(max(r.t for r in records) * RATE))
    assert lesson <= samples.size <= lesson + FRAME_SAMPLES
