"""What streaming the microphone costs the client: CPU seconds per minute of mic audio.

A real `Call` streams 3000 frames of 20 ms silence (one minute of microphone) through the whole
client path: the mic pump and its level meter, `Conversation.append_audio`, the one send path,
the event log (mic audio left out, as by default), the websocket. The frames are sent as fast as
the path takes them, so the figure is the path's own cost, not a real-time wait. The engine at
the other end is a websocket sink in a child process that reads and drops every frame; its CPU
is printed too (what the engine's side pays to receive them, decompression included when
permessage-deflate is on). Both sides run `--runs` times; the medians are printed.

    uv run python benchmarks/mic_cpu.py [--minutes 1] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator

from terminal import ROOT, child_env, cpu_seconds

from tutor_cli.audio.echo import EchoGate
from tutor_cli.audio.jitter_buffer import JitterBuffer
from tutor_cli.audio.voice import Voice
from tutor_cli.call.controller import Call
from tutor_cli.call.settings import CallSettings
from tutor_cli.lesson.scenario import load_scenario

FRAME = bytes(960)  # 20 ms of 24 kHz PCM16 silence
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    frames = int(args.minutes * 3000)
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True, env=child_env()
    )
    assert sink.stdout is not None
    port = int(sink.stdout.readline())
    client, server = [], []
    try:
        with tempfile.TemporaryDirectory() as home:
            os.environ["TUTOR_HOME"] = home
            asyncio.run(one_run(port, 100))  # warm up: imports, caches, the sink's first socket
            for _ in range(args.runs):
                before = cpu_seconds(sink.pid)
                client.append(asyncio.run(one_run(port, frames)))
                time.sleep(0.2)  # the sink reads what is still in flight
                server.append(cpu_seconds(sink.pid) - before)
    finally:
        sink.kill()
        sink.wait()
    per_minute = 1 / args.minutes
    print(f"{frames} mic frames (20 ms of silence each) per run, {args.runs} runs, medians:")
    print(f"  client: {statistics.median(client) * per_minute:.3f} CPU s per minute of mic audio")
    print(f"  engine side (receive only): {statistics.median(server) * per_minute:.3f} CPU s")


if __name__ == "__main__":
    main()
