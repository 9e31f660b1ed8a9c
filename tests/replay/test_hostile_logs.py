"""Logs a replay must survive without a traceback, a hang or unbounded memory: lines of a
gigabyte, runs of zeros, numbers JSON allows but nothing can use, deep nesting, and events
whose fields have the wrong types. Bad lines are skipped and counted (reported once);
`--strict` stops at the first, with its line number."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.replay.test_replay import Watcher, run_replay, text_reply, typed, write_log
from tutor_cli.lesson.updates import LearnerTurn, TutorFinal
from tutor_cli.replay.playback import Replay, log_duration

HEADER = {"format": "tutor-eventlog", "version": 1, "scenario": "a1_taxi_bogota"}
MIB = 1 << 20
AUDIO_DELTA = "response.output_audio.delta"

# Runs `tutor replay ARGS` as a child of a child, so that RUSAGE_CHILDREN is the replay's
# own peak (this test process has other children: calls, engines).
MEASURE = """
import json, resource, subprocess, sys
run = subprocess.run([sys.executable, "-m", "tutor_cli", "replay", *sys.argv[1:]],
                     capture_output=True, text=True)
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": run.returncode, "out": run.stdout, "err": run.stderr,
                  "peak_mib": peak_kib / 1024}))
"""


def replay_measured(*args: str) -> dict[str, Any]:
    """`tutor replay ARGS` in a child process: exit code, output and peak resident memory."""
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    measured: dict[str, Any] = json.loads(result.stdout)
    return measured


def record(t: float, event: dict[str, Any]) -> bytes:
    return json.dumps({"t": t, "dir": "server", "event": event}).encode() + b"\n"


def test_a_huge_line_and_a_run_of_zeros_are_skipped_in_bounded_memory(tmp_path: Path) -> None:
    """A 256 MiB line in a 1 MB gzip, then a 256 MiB run of zeros with no newline: each is
    one bad line, read past in chunks (the issue saw 2.1 GB for a 1 GiB line)."""
    log = tmp_path / "huge.jsonl.gz"
    where = {"response_id": "r1", "item_id": "i1", "output_index": 0, "content_index": 0}
    chunk = b"A" * MIB
    with gzip.open(log, "wb", compresslevel=1) as out:
        out.write(json.dumps(HEADER).encode() + b"\n")
        for line in text_reply(1.0, "i1", "Hola."):
            out.write(record(line[0], line[2]))
        start = {"t": 2.0, "dir": "server", "event": {"type": AUDIO_DELTA, **where, "delta": ""}}
        out.write(json.dumps(start).encode()[: -len('""}}')] + b'"')  # an audio delta...
        for _ in range(256):
            out.write(chunk)  # ...of 256 MiB
        out.write(b'"}}\n')
        for line in text_reply(3.0, "i2", "Chao."):
            out.write(record(line[0], line[2]))
        zeros = bytes(MIB)
        for _ in range(256):
            out.write(zeros)
    assert log.stat().st_size < 4 * MIB

    run = replay_measured(str(log), "--headless", "--instant")
    assert run["code"] == 0, run["err"]
    assert "Tutor: Hola." in run["out"] or "Jairo: Hola." in run["out"]
    assert "Chao." in run["out"]
    assert run["err"] == "tutor: 2 bad lines skipped (the first is line 6)\n"
    assert run["peak_mib"] < 100, f"replay peaked at {run['peak_mib']:.0f} MiB"

    strict = replay_measured(str(log), "--headless", "--instant", "--strict")
    assert strict["code"] == 2
    assert strict["err"].startswith(f"tutor: {log}: line 6: longer than ")
    assert strict["err"].count("\n") == 1 and strict["peak_mib"] < 100


ODD = [
    '{"t": 1e400, "dir": "server", "event": {"type": "response.created"}}',
    '{"t": NaN, "dir": "server", "event": {"type": "response.created"}}',
    '{"t": -3, "dir": "server", "event": {"type": "response.created"}}',
    '{"t": 1' + "0" * 400 + ', "dir": "server", "event": {"type": "response.created"}}',
    '{"t": 2.5, "dir": "server", "event": {"type": "conversation.item.truncated", '
    '"item_id": "i1", "content_index": 0, "audio_end_ms": 1e400}}',
    '{"t": 2.5, "dir": "server", "event": {"type": "x", "a": ' + "[" * 20_000 + "]" * 20_000 + "}}",
]


def odd_log(path: Path) -> tuple[Path, int]:
    """A good lesson with the odd lines after its first reply; the first odd line's number."""
    good = write_log(path, [*text_reply(1.0, "i1", "Hola."), *text_reply(3.0, "i2", "Chao.")])
    lines = good.read_text(encoding="utf-8").splitlines()
    lines[5:5] = ODD
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, 6


@pytest.mark.parametrize("screen", ["--headless", "--json"])
def test_numeric_oddities_and_deep_nesting_are_counted_bad_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], screen: str
) -> None:
    log, first = odd_log(tmp_path / "odd.jsonl")
    code, out, err = run_replay(capsys, str(log), "--instant" if screen != "--json" else screen)
    assert code == 0, err
    assert err == f"tutor: {len(ODD)} bad lines skipped (the first is line {first})\n"
    if screen == "--json":
        summary = json.loads(out)["summary"]
        assert summary["duration_s"] == 3.2 and summary["bad_lines"] == len(ODD)
    else:
        assert "Jairo: Hola." in out and "Jairo: Chao." in out

    code, _out, err = run_replay(capsys, str(log), "--headless", "--instant", "--strict")
    assert code == 2
    assert err.startswith(f"tutor: {log}: line {first}: ") and err.count("\n") == 1


def test_log_duration_skips_odd_last_lines(tmp_path: Path) -> None:
    """The call screen reads a plain log's length from its last lines."""
    for n, odd in enumerate(ODD):
        log, _first = odd_log(tmp_path / f"odd{n}.jsonl")
        with log.open("a", encoding="utf-8") as out:
            out.write(odd + "\n")
        assert log_duration(log) == 3.2, odd[:40]


# --- events whose fields have the wrong types -----------------------------------------------------

CLIENT_AND_LOCAL = [
    (1.5, "client", {"type": "conversation.item.create", "item": "Buenas"}),
    (1.5, "client", {"type": "conversation.item.create", "event_id": ["e"], "item": {}}),
    (1.5, "client", {"type": "conversation.item.create", "item": {"role": "user", "content": "x"}}),
    (
        1.5,
        "client",
        {
            "type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text"}, 5]},
        },
    ),
    (
        1.5,
        "client",
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": ["c"], "output": {"a": [1]}},
        },
    ),
    (1.5, "client", {"type": "input_audio_buffer.append", "audio": 12}),
    (1.5, "client", {"type": 7}),
    (1.6, "local", {"type": "tutor.tool", "ok": "yes", "call_id": 3}),
    (1.6, "local", {"type": "tutor.tool", "ok": True, "call_id": {}, "name": [], "output": 1}),
    (1.6, "local", {"type": "tutor.history_restored", "event_ids": "evt_1"}),
    (1.6, "local", {"type": "tutor.state", "state": ["connected"]}),
    (1.6, "local", {"type": "tutor.connection", "note": {}, "detail": [1, 2]}),
    (1.6, "local", {"type": "tutor.call_ended", "failure": 5}),
    (1.6, "local", {"no": "type"}),
]

SERVER = [
    {"type": "session.created", "session": "s"},
    {"type": "session.updated", "session": ["s"]},
    {"type": "response.created", "response": "r"},
    {"type": "response.output_text.delta", "item_id": ["i"], "delta": 5},
    {"type": "response.output_audio.delta", "item_id": "i9", "delta": {"b": 1}},
    {"type": "response.output_audio_transcript.done", "item_id": {}, "transcript": 5},
    {"type": "conversation.item.added", "item": "x"},
    {"type": "conversation.item.added", "item": {"role": "user", "id": [], "content": 5}},
    {"type": "conversation.item.created", "item": ["x"]},
    {"type": "conversation.item.truncated", "item_id": "i1", "audio_end_ms": "soon"},
    {"type": "conversation.item.input_audio_transcription.completed", "transcript": {}},
    {"type": "conversation.item.input_audio_transcription.failed", "error": "bad"},
    {"type": "input_audio_buffer.speech_started", "audio_start_ms": "x"},
    {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": [1]},
    {"type": "response.output_item.done", "item": []},
    {
        "type": "response.output_item.done",
        "item": {
            "type": "function_call",
            "status": "completed",
            "call_id": {},
            "name": 5,
            "arguments": [1],
        },
    },
    {"type": "response.done", "response": "oops"},
    {"type": "response.done", "response": {"status_details": [], "usage": {"input_tokens": "9"}}},
    {"type": "error", "error": "str"},
    {"type": "error", "error": {"code": [1], "message": {"m": 1}, "event_id": []}},
    {"type": ["x"]},
]


def lesson_around(bad: list[tuple[float, str, Any]]) -> list[tuple[float, str, Any]]:
    """A short lesson (reply, typed turn, reply) with `bad` records in the middle."""
    return [
        *text_reply(1.0, "i1", "Hola."),
        *bad,
        typed(2.0, "Buenas."),
        *text_reply(3.0, "i2", "Chao."),
    ]


def assert_lesson_survives(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    watcher = Watcher()
    summary = Replay(log, watcher, instant=True).run()
    finals = [u.text for _at, u, _w in watcher.seen if isinstance(u, TutorFinal)]
    turns = [u.text for _at, u, _w in watcher.seen if isinstance(u, LearnerTurn) and u.text]
    assert finals[0] == "Hola." and finals[-1] == "Chao." and "Buenas." in turns
    assert summary.bad_lines == 0 and summary.lesson.duration_s == 3.2
    for screen in (["--headless", "--instant"], ["--json"]):
        code, out, err = run_replay(capsys, str(log), *screen)
        assert code == 0, err
        assert "Traceback" not in out + err and "Chao." in out


def test_client_and_local_records_of_the_wrong_shape_replay_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_log(tmp_path / "shapes.jsonl", lesson_around(CLIENT_AND_LOCAL))
    assert_lesson_survives(log, capsys)


def test_server_events_of_the_wrong_shape_replay_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_log(tmp_path / "shapes.jsonl", lesson_around([(1.5, "server", e) for e in SERVER]))
    assert_lesson_survives(log, capsys)
