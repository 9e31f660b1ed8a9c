"""How fast `tutor replay --headless --instant` gets through a one-hour lesson, and its memory.

Generates an event log in our format in a temporary folder: an hour of lesson with the tutor
speaking in 40 ms PCM16 deltas (25 a second of speech, base64, as the Realtime API sends them)
with transcript deltas between, typed and spoken learner turns (mic frames left out of the log,
as by default), responses with usage, tool calls with their logged outcomes. Then replays it in
a child process through the command's own entry point and prints events per second, seconds per
hour of log, and the child's peak memory. Targets: under 7.2 s an hour (500x real time) and
under 150 MB.

The child runs with the benchmarks' own bytecode caches (`terminal.PYCACHE`), so its start
does not depend on the caller's PYTHONDONTWRITEBYTECODE; a warm-up replay fills them first.

    uv run python benchmarks/replay_speed.py [--minutes 60] [--runs 3] [--export-wav] [--keep]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from terminal import child_env

RATE = 24000
DELTA_S = 0.04  # one audio delta: 40 ms, 960 samples
WORDS = [
    *("claro", "que", "sí", "sumercé", "vamos", "por", "la", "avenida", "el", "tráfico"),
    *("está", "pesado", "hoy", "pero", "llegamos", "a", "tiempo", "al", "hotel", "usted"),
    *("de", "dónde", "viene", "cuánto", "se", "queda", "en", "Bogotá"),
]

# The command as the CLI runs it: `tutor replay`.
RUNNER = """
import sys
from tutor_cli.cli import main
sys.exit(main(["replay", *sys.argv[1:]]))
"""


def audio_deltas() -> list[str]:
    """One second of a voice-like tone, cut into 40 ms base64 deltas (reused round the log)."""
    import numpy as np

    n = int(RATE * DELTA_S)
    t = np.arange(RATE) / RATE
    wave = 6000 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    pcm = wave.astype("<i2").tobytes()
    return [base64.b64encode(pcm[i * 2 * n : (i + 1) * 2 * n]).decode() for i in range(25)]


class LogWriter:
    """Writes records as the EventLogWriter does, with made-up but realistic times and ids."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.t = 0.0
        self.events = 0
        self._ids = 0

    def id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}_{self._ids:06d}"

    def write(self, direction: str, event: dict[str, Any] | str, dt: float = 0.001) -> None:
        self.t += dt
        record = {"t": round(self.t, 3), "dir": direction, "event": event}
        self.out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self.events += 1

    def server(self, type_: str, dt: float = 0.001, **fields: Any) -> None:
        self.write("server", {"event_id": self.id("event"), "type": type_, **fields}, dt)

    def client(self, type_: str, dt: float = 0.001, **fields: Any) -> None:
        self.write("client", {"type": type_, "event_id": self.id("evt_tutor"), **fields}, dt)


def usage(text_in: int, audio_in: int, text_out: int, audio_out: int) -> dict[str, Any]:
    return {
        "total_tokens": text_in + audio_in + text_out + audio_out,
        "input_tokens": text_in + audio_in,
        "output_tokens": text_out + audio_out,
        "input_token_details": {
            "text_tokens": text_in,
            "audio_tokens": audio_in,
            "cached_tokens": 0,
            "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0},
        },
        "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
    }


def reply(log: LogWriter, rng: random.Random, deltas: list[str], seconds: float) -> None:
    """One spoken tutor reply: ~25 audio deltas a second, a transcript delta every ~0.35 s."""
    response, item = log.id("resp"), log.id("item")
    where = {"response_id": response, "item_id": item, "output_index": 0, "content_index": 0}
    message = {"id": item, "type": "message", "role": "assistant", "object": "realtime.item"}
    log.server("response.created", response={"id": response, "status": "in_progress"})
    log.server(
        "response.output_item.added",
        response_id=response,
        output_index=0,
        item={**message, "status": "in_progress", "content": []},
    )
    log.server("conversation.item.added", item={**message, "status": "in_progress", "content": []})
    log.server("response.content_part.added", **where, part={"type": "audio", "transcript": ""})
    words: list[str] = []
    count = int(seconds / DELTA_S)
    for n in range(count):
        log.server("response.output_audio.delta", DELTA_S, **where, delta=deltas[n % 25])
        if n % 9 == 0:
            word = rng.choice(WORDS) + " "
            words.append(word)
            log.server("response.output_audio_transcript.delta", 0.0, **where, delta=word)
    transcript = "".join(words).strip()
    part = {"type": "output_audio", "transcript": transcript}
    log.server("response.output_audio.done", **where)
    log.server("response.output_audio_transcript.done", **where, transcript=transcript)
    log.server("response.content_part.done", **where, part=part)
    done_item = {**message, "status": "completed", "content": [part]}
    log.server("response.output_item.done", response_id=response, output_index=0, item=done_item)
    log.server("conversation.item.done", item=done_item)
    log.server(
        "response.done",
        response={
            "id": response,
            "status": "completed",
            "output": [done_item],
            "usage": usage(900, 300, len(words), int(seconds * 20)),
        },
    )


def tool_call(log: LogWriter, name: str, arguments: dict[str, Any], stored: dict) -> None:
    response, item, call = log.id("resp"), log.id("item"), log.id("call")
    args = json.dumps(arguments, ensure_ascii=False)
    function = {"id": item, "type": "function_call", "call_id": call, "name": name}
    log.server("response.created", response={"id": response, "status": "in_progress"})
    log.server(
        "response.function_call_arguments.delta",
        response_id=response,
        item_id=item,
        output_index=0,
        call_id=call,
        delta=args,
    )
    done = {**function, "status": "completed", "arguments": args}
    log.server("response.output_item.done", response_id=response, output_index=0, item=done)
    output = json.dumps({"ok": True, "stored": stored}, ensure_ascii=False)
    log.write(
        "local", {"type": "tutor.tool", "name": name, "call_id": call, "ok": True, "output": output}
    )
    log.client(
        "conversation.item.create",
        item={"type": "function_call_output", "call_id": call, "output": output},
    )
    log.server(
        "response.done",
        response={"id": response, "status": "completed", "usage": usage(1200, 0, 60, 0)},
    )
    log.client("response.create")


def learner_turn(log: LogWriter, rng: random.Random, spoken: bool) -> None:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))
    if not spoken:
        log.client(
            "conversation.item.create",
            rng.uniform(2.0, 4.0),
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            },
        )
        log.client("response.create")
        log.server("conversation.item.added", item={"id": log.id("item"), "role": "user"})
        return
    # Mic frames as the log keeps them by default: the audio left out, its size kept.
    item = log.id("item")
    log.server(
        "input_audio_buffer.speech_started",
        rng.uniform(1.0, 2.0),
        item_id=item,
        audio_start_ms=int(log.t * 1000),
    )
    seconds = rng.uniform(2.0, 4.0)
    for _ in range(int(seconds / 0.02)):
        log.client("input_audio_buffer.append", 0.02, audio="", audio_bytes=960)
    log.server("input_audio_buffer.speech_stopped", item_id=item, audio_end_ms=int(log.t * 1000))
    log.server("input_audio_buffer.committed", item_id=item)
    log.server(
        "conversation.item.added",
        item={
            "id": item,
            "type": "message",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        },
    )
    log.server(
        "conversation.item.input_audio_transcription.completed",
        0.3,
        item_id=item,
        content_index=0,
        transcript=text,
    )


def generate(path: Path, minutes: float) -> tuple[int, float]:
    """Write the log; returns its event count and duration in seconds."""
    rng = random.Random(7)
    deltas = audio_deltas()
    end = minutes * 60
    with path.open("w", encoding="utf-8") as out:
        header = {
            "format": "tutor-eventlog",
            "version": 1,
            "tutor_version": "0.1.0",
            "scenario": "a1_taxi_bogota",
            "engine": "openai",
            "model": "gpt-realtime",
            "started_at": "2025-09-01T10:00:00.000+00:00",
            "mic_audio": False,
        }
        out.write(json.dumps(header) + "\n")
        log = LogWriter(out)
        log.write("local", {"type": "tutor.state", "state": "connected", "detail": "benchmark"})
        log.client("session.update", session={"type": "realtime", "instructions": "…"})
        log.server("session.created", session={"type": "realtime", "model": "gpt-realtime"})
        log.server("session.updated", session={"type": "realtime", "model": "gpt-realtime"})
        log.client("response.create")
        turns = 0
        next_quiz = 600.0
        while log.t < end - 20:
            reply(log, rng, deltas, rng.uniform(6.0, 16.0))
            if log.t >= next_quiz:
                next_quiz += 600
                tool_call(
                    log,
                    "trigger_quiz",
                    {"topic": "directions", "questions": 2},
                    {"correct": 1, "questions": 2},
                )
                reply(log, rng, deltas, rng.uniform(3.0, 6.0))
            turns += 1
            learner_turn(log, rng, spoken=turns % 3 == 0)
        grade = {
            "score": 82,
            "goals_achieved": ["Greet"],
            "errors": [],
            "feedback": "Bien.",
            "next_steps": ["Practise prices"],
        }
        tool_call(log, "grade_lesson", grade, grade)
        reply(log, rng, deltas, 4.0)
        log.write("local", {"type": "tutor.call_ended", "failure": None})
    return log.events, log.t


def replay_once(log: Path, extra: list[str], home: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) of the child, and the tail of its output."""
    out_path = home / "replay-out.txt"
    # Start-up is part of the time: the child gets the benchmarks' own bytecode caches (warm
    # after the first run), whatever PYTHONDONTWRITEBYTECODE says here.
    env = child_env(TUTOR_HOME=str(home), COLUMNS="120")
    with out_path.open("w") as out:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(log), "--headless", "--instant", *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        _pid, status, rusage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    text = out_path.read_text(encoding="utf-8")
    if child.returncode != 0:
        raise SystemExit(f"replay failed ({child.returncode}):\n{text[-2000:]}")
    peak_mb = rusage.ru_maxrss / 1024  # kilobytes on Linux
    return wall, peak_mb, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the lesson")
    parser.add_argument("--runs", type=int, default=3, help="replays to time (median shown)")
    parser.add_argument("--export-wav", action="store_true", help="also time --export-wav")
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tutor-replay-bench-"))
    log = folder / "one-hour.jsonl"
    started = time.perf_counter()
    events, duration = generate(log, args.minutes)
    made = time.perf_counter() - started
    size_mb = log.stat().st_size / 1e6
    print(f"log: {events} events, {duration / 60:.1f} min, {size_mb:.0f} MB (made in {made:.1f} s)")
    modes = [("--headless --instant", [])]
    if args.export_wav:
        modes.append(("--headless --instant --export-wav", ["--export-wav", str(folder / "a.wav")]))
    try:
        replay_once(log, [], folder)  # warm-up: the bytecode caches are written
        for label, extra in modes:
            walls, peaks = [], []
            for _ in range(args.runs):
                wall, peak, text = replay_once(log, extra, folder)
                walls.append(wall)
                peaks.append(peak)
            wall = statistics.median(walls)
            per_hour = wall * 3600 / duration
            print(f"\ntutor replay {label}  ({args.runs} runs, median)")
            runs = ", ".join(f"{w:.2f}" for w in walls)
            print(f"  wall time           {wall:6.2f} s   (runs: {runs})")
            print(f"  events per second   {events / wall:8.0f}")
            print(f"  seconds per hour    {per_hour:6.2f} s   (target < 7.2)")
            print(f"  real-time factor    {duration / wall:6.0f}x   (target >= 500x)")
            print(f"  peak memory (RSS)   {max(peaks):6.1f} MB  (target < 150)")
            if "lesson summary" not in text:
                raise SystemExit("the replay printed no summary:\n" + text[-2000:])
    finally:
        if args.keep:
            print(f"\nkept: {log}")
        else:
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()


if __name__ == "__main__":
    main()
