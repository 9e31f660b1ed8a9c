"""The offline engine's memory over one long session, measured against `tutor serve`.

One session over loopback; the engine's resident memory (RSS, from `ps`) is read:
1. after a warm-up (a reply, a few seconds of audio: the voice, the VAD and the resampler are
   loaded);
2. after 10 minutes of silence appended in 20 ms frames, as fast as the engine takes them (an
   open microphone in a quiet room);
3. after 10 minutes of the tutor's speech in the same session (replies asked for one after
   another, each read to its end).
Target: each figure within 5 MB of the one before it.

    uv run python benchmarks/engine_memory.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import subprocess
import time

from terminal import ROOT, listening
from websockets.asyncio.client import ClientConnection, connect

from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.lesson.session_config import session_config
from tutor_cli.realtime import events
from tutor_cli.realtime.events import BYTES_PER_MS

SCENARIO = "a1_taxi_bogota"
FRAME_MS = 20
SENTENCE = "Muy bien, sumercé, vamos despacio por la carrera séptima hasta el centro. "


def rss_mb(pid: int) -> float:
    """The process's resident memory, in MB, as `ps` reports it."""
    kib = subprocess.run(
        ["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True, check=True
    ).stdout
    return int(kib.strip()) / 1024


async def until(ws: ClientConnection, type_: str) -> int:
    """Read up to the first event of `type_`; the bytes of tutor audio seen on the way."""
    audio = 0
    while True:
        event = json.loads(await ws.recv())
        if event["type"] == "response.output_audio.delta":
            audio += len(base64.b64decode(event["delta"]))
        elif event["type"] == "error":
            raise RuntimeError(f"the engine refused something: {event['error']}")
        if event["type"] == type_:
            return audio


async def append_silence(ws: ClientConnection, minutes: float) -> None:
    frame = json.dumps(events.input_audio_append(bytes(FRAME_MS * BYTES_PER_MS)))
    for _ in range(round(minutes * 60_000 / FRAME_MS)):
        await ws.send(frame)
    # A frame the engine answers (with an error: no such item) once it has taken every
    # append before it.
    await ws.send(json.dumps(events.item_retrieve("no_such_item")))
    while json.loads(await ws.recv())["type"] != "error":
        pass


async def speak(ws: ClientConnection, minutes: float) -> float:
    """Ask for replies until the tutor has said `minutes` of audio; the minutes said."""
    said = 0
    goal = minutes * 60_000 * BYTES_PER_MS
    while said < goal:
        await ws.send(json.dumps(events.response_create(instructions=f'Say: "{SENTENCE * 8}"')))
        said += await until(ws, "response.done")
    return said / BYTES_PER_MS / 60_000


async def measure(url: str, pid: int, minutes: float) -> None:
    async with connect(f"{url}?scenario={SCENARIO}", max_size=None) as ws:
        scenario = load_scenario(ROOT / "scenarios" / f"{SCENARIO}.json")
        await ws.send(json.dumps(events.session_update(session_config(scenario))))
        await until(ws, "session.updated")
        await speak(ws, 0.1)
        await append_silence(ws, 0.1)
        start = rss_mb(pid)
        print(f"{'after warm-up':40} {start:7.1f} MB")
        began = time.perf_counter()
        await append_silence(ws, minutes)
        silent = rss_mb(pid)
        print(
            f"{f'after {minutes:g} min of appended silence':40} {silent:7.1f} MB  "
            f"({silent - start:+.1f} MB; {time.perf_counter() - began:.1f} s to append)"
        )
        began = time.perf_counter()
        said = await speak(ws, minutes)
        spoken = rss_mb(pid)
        print(
            f"{f'after {said:.1f} min of tutor speech':40} {spoken:7.1f} MB  "
            f"({spoken - silent:+.1f} MB; {time.perf_counter() - began:.1f} s to stream)"
        )
        worst = max(silent - start, spoken - silent)
        print(f"largest growth: {worst:+.1f} MB   (target: within 5 MB)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    server, url = listening(["-m", "tutor_cli", "serve", "--port", "0", "--pace", "0"], "offline")
    try:
        await measure(url, server.pid, args.minutes)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    asyncio.run(main())
