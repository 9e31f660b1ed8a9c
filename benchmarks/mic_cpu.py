"""What streaming the microphone costs the client: CPU seconds per minute of mic audio.

A real `Call` streams a minute of mic frames of silence (1500 of 40 ms) through the whole
client path: the mic pump and its level meter, `Conversation.append_audio`, the one send path,
the event log (mic audio left out, as by default), the websocket. The frames are sent as fast as
the path takes them, so the figure is the path's own cost, not a real-time wait. The engine at
the other end is a websocket sink in a child process that reads and drops every frame; its CPU
is printed too (what the engine's side pays to receive them, decompression included when
permessage-deflate is on). Each run streams the minute twice, alternating: through the path as
it is now (no permessage-deflate, the log counting each frame's bytes from its base64 length)
and as it was before (the socket offering permessage-deflate, as websockets does by default,
and the log decoding each frame to count them). Both sides run `--runs` times; the medians
are printed.

Then a whole lesson with a spoken turn from a WAV file (espeak-ng's voice, as the offline
engine speaks), `tutor call a1_taxi_bogota --headless --mic-file turn.wav --speaker-file
out.wav`, once with `--mic-speed realtime` and once with `fast`: each process's CPU seconds,
the mic frames its log holds, and the log's size. Target: fast <= 1.5x the CPU of realtime.

    uv run python benchmarks/mic_cpu.py [--minutes 1] [--runs 5] [--no-lesson]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from terminal import ROOT, child_env, cpu_seconds, tutor_command

from tutor_cli.audio.echo import EchoGate
from tutor_cli.audio.jitter_buffer import JitterBuffer
from tutor_cli.audio.pcm import FRAME_MS, FRAME_SAMPLES
from tutor_cli.audio.voice import Voice
from tutor_cli.call.controller import Call
from tutor_cli.call.settings import CallSettings
from tutor_cli.lesson.scenario import load_scenario

FRAME = bytes(2 * FRAME_SAMPLES)  # a mic frame of 24 kHz PCM16 silence
SINK = """
import asyncio, sys
from websockets.asyncio.server import serve

async def drop(socket):
    async for _ in socket:
        pass

async def main():
    async with serve(drop, "127.0.0.1", 0, max_size=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()

asyncio.run(main())
"""


class FastMic:
    """`frames` silent frames, each as soon as the path has taken the one before."""

    def __init__(self, frames: int) -> None:
        self.count = frames
        self.dropped = 0
        self.finished = asyncio.Event()
        self.cpu_start = 0.0

    async def start(self) -> None:
        return None

    async def frames(self) -> AsyncIterator[tuple[bytes, float]]:
        self.cpu_start = time.process_time()
        for _ in range(self.count):
            yield FRAME, time.perf_counter()
            await asyncio.sleep(0)  # let the socket's writer run, as the real pacing would
        self.finished.set()
        await asyncio.Future()  # a microphone does not run out

    async def stop(self) -> None:
        return None


class NoSpeaker:
    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class Quiet:
    def show(self, update: object) -> None: ...

    async def ask_quiz(self, quiz: object) -> list[str]:
        return []


@contextlib.contextmanager
def as_before() -> Iterator[None]:
    """The mic path as it was: the socket offering permessage-deflate (the websockets
    default, which the sink accepts), and the event log decoding each frame's base64 to count
    its bytes."""
    import websockets.asyncio.client as client

    from tutor_cli.storage import eventlog

    connect, size = client.connect, eventlog.base64_size

    def deflating(*args: Any, **kwargs: Any) -> Any:
        return connect(*args, **{**kwargs, "compression": "deflate"})

    client.connect = deflating
    eventlog.base64_size = lambda text: len(base64.b64decode(text))
    try:
        yield
    finally:
        client.connect = connect
        eventlog.base64_size = size


async def one_run(port: int, frames: int) -> float:
    """Client CPU seconds for `frames` mic frames."""
    scenario = load_scenario(ROOT / "scenarios" / "a1_taxi_bogota.json")
    mic = FastMic(frames)
    buffer = JitterBuffer()
    voice = Voice(mic, NoSpeaker(), buffer, EchoGate(False))  # type: ignore[arg-type]
    settings = CallSettings(engine=f"ws://127.0.0.1:{port}/v1/realtime", reply_timeout=3600)
    call = Call(scenario, settings, Quiet(), voice=voice, env={})
    await call.start()
    await mic.finished.wait()
    used = time.process_time() - mic.cpu_start
    call.hurry()
    await call.close()
    return used


def spoken_turn(path: Path) -> Path:
    """Half a second of room, a learner's answer in espeak-ng's voice, a second and a half of
    room: the turn the tutor waits for."""
    from tutor_cli.engine.tts import Synthesizer

    speech = b"".join(Synthesizer().synthesize("Buenas tardes. Muy bien, gracias.", "es-CO"))
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(24000)
        wav.writeframes(bytes(24000) + speech + bytes(72000))
    return path


def lesson(turn: Path, speed: str, folder: Path) -> tuple[float, int, int]:
    """CPU seconds of a headless lesson with `turn` as the mic, the mic frames its log holds
    and the log's size in bytes."""
    home = folder / speed
    command = [
        *tutor_command(),
        *("call", "a1_taxi_bogota", "--headless", "--mic-file", str(turn)),
        *("--speaker-file", str(folder / f"{speed}.wav"), "--mic-speed", speed),
    ]
    child = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=child_env(TUTOR_HOME=str(home)),
        cwd=ROOT,
    )
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"--mic-speed {speed}: the lesson exited {child.returncode}")
    (log,) = (home / "sessions").glob("*.jsonl")
    text = log.read_text(encoding="utf-8")
    return usage.ru_utime + usage.ru_stime, text.count('"input_audio_buffer.append"'), len(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-lesson", action="store_true", help="skip the mic-file lessons")
    args = parser.parse_args()
    frames = int(args.minutes * 60_000 / FRAME_MS)
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True, env=child_env()
    )
    assert sink.stdout is not None
    port = int(sink.stdout.readline())
    paths = {"now": contextlib.nullcontext, "as before": as_before}
    client: dict[str, list[float]] = {name: [] for name in paths}
    server: dict[str, list[float]] = {name: [] for name in paths}
    try:
        with tempfile.TemporaryDirectory() as home:
            os.environ["TUTOR_HOME"] = home
            asyncio.run(one_run(port, 100))  # warm up: imports, caches, the sink's first socket
            for _ in range(args.runs):
                for name, path in paths.items():  # alternating, so noise hits both alike
                    before = cpu_seconds(sink.pid)
                    with path():
                        client[name].append(asyncio.run(one_run(port, frames)))
                    time.sleep(0.2)  # the sink reads what is still in flight
                    server[name].append(cpu_seconds(sink.pid) - before)
    finally:
        sink.kill()
        sink.wait()
    per_minute = 1 / args.minutes
    print(
        f"{frames} mic frames ({FRAME_MS} ms of silence each) per run, {args.runs} runs, medians,"
    )
    print("CPU s per minute of mic audio (as before: permessage-deflate, the log decoding):")
    for name in paths:
        print(
            f"  {name:10s} client {statistics.median(client[name]) * per_minute:.3f}, "
            f"engine side (receive only) {statistics.median(server[name]) * per_minute:.3f}"
        )
    if args.no_lesson:
        return
    with tempfile.TemporaryDirectory() as folder:
        turn = spoken_turn(Path(folder) / "turn.wav")
        figures = {speed: lesson(turn, speed, Path(folder)) for speed in ("realtime", "fast")}
    print("a lesson with one spoken turn from a WAV file (headless, offline engine):")
    for speed, (cpu, frames, size) in figures.items():
        print(
            f"  --mic-speed {speed:8s} {cpu:5.2f} CPU s, {frames:6d} mic frames logged, "
            f"log {size / 1e6:.2f} MB"
        )
    ratio = figures["fast"][0] / figures["realtime"][0]
    print(f"  fast / realtime CPU: {ratio:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
