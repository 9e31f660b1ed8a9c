"""The voice path under load: the offline engine streams a 60-second reply while the mic runs.

Measures, with device callbacks driven by a real-time clock thread (as PortAudio drives them):
- capture-to-send latency: mic callback to websocket send, p50 and p99;
- playback start latency: first audio delta received to first sample written to the device;
- underruns in steady state;
- CPU seconds per audio second of the playback path, against a reference player built the
  simple way (a Python list of byte chunks popped in 50 ms blocks), fed the same deltas on the
  same schedule in the same run.

    uv run python benchmarks/voice_pipeline.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from tutor_cli.audio.devices import Device
from tutor_cli.audio.echo import EchoGate
from tutor_cli.audio.jitter_buffer import JitterBuffer
from tutor_cli.audio.mic import SoundCardMic
from tutor_cli.audio.voice import Voice
from tutor_cli.call.controller import Call
from tutor_cli.call.settings import CallSettings
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.storage.store import ProgressStore

ROOT = Path(__file__).resolve().parent.parent
FAKE = Device(0, "clocked", 1, 1, 48000.0, "benchmark", True, True)


class Clock(threading.Thread):
    """Calls `tick` every `period` seconds, on time, like an audio device's callback thread."""

    def __init__(self, period: float, tick: Any) -> None:
        super().__init__(daemon=True)
        self.period, self.tick = period, tick
        self.stopped = threading.Event()
        self.cpu = 0.0  # thread CPU spent in tick

    def run(self) -> None:
        started, count = time.monotonic(), 0
        while not self.stopped.is_set():
            before = time.thread_time()
            self.tick()
            self.cpu += time.thread_time() - before
            count += 1
            delay = started + count * self.period - time.monotonic()
            if delay > 0:
                time.sleep(delay)


class ClockedSpeaker:
    """The jitter buffer read every 20 ms, as a sound card's callback would."""

    def __init__(self, buffer: JitterBuffer) -> None:
        self.clock = Clock(0.02, lambda: buffer.read(480))

    async def start(self) -> None:
        self.clock.start()

    async def stop(self) -> None:
        self.clock.stopped.set()


class ClockedMic(SoundCardMic):
    """A 48 kHz microphone whose callback runs on a clock thread (room noise, quiet)."""

    async def start(self) -> None:
        block = np.zeros((960, 1), dtype=np.int16)
        noise = np.random.default_rng(0)

        def tick() -> None:
            block[:, 0] = noise.integers(-30, 30, 960)
            self._callback(block, 960, None, None)

        self._clock = Clock(0.02, tick)
        self._clock.start()

    async def stop(self) -> None:
        self._clock.stopped.set()


class Quiet:
    def show(self, update: object) -> None: ...

    async def ask_quiz(self, quiz: object) -> list[str]:
        return []


class RecordingBuffer(JitterBuffer):
    """A jitter buffer that keeps the arrival time of every audio delta, for the player
    comparison."""

    def __init__(self, prebuffer_ms: int) -> None:
        super().__init__(prebuffer_ms)
        self.arrivals: list[tuple[float, str, bytes]] = []

    def push(self, item_id: str, pcm: bytes) -> None:
        self.arrivals.append((time.perf_counter(), item_id, pcm))
        super().push(item_id, pcm)


async def live(seconds: float) -> tuple[Voice, list[tuple[float, str, bytes]]]:
    scenario = load_scenario(ROOT / "scenarios" / "a1_taxi_bogota.json")
    sentence = "Mire, esta es la carrera séptima y allá está el centro de la ciudad. "
    words_per_second = 2.4
    text = sentence * max(1, round(seconds * words_per_second / len(sentence.split())))
    buffer = RecordingBuffer(40)
    voice = Voice(ClockedMic(FAKE), ClockedSpeaker(buffer), buffer, EchoGate(False))
    await voice.speaker.start()
    await voice.mic.start()
    with ProgressStore.open_default() as store:
        settings = CallSettings(engine="offline", pace=1.0)
        call = Call(scenario, settings, Quiet(), store=store, voice=voice)
        await call.start()
        await call.wait_idle()  # the opening
        voice.buffer.underruns = 0
        voice.send_latency.clear()
        arrivals_before = len(buffer.arrivals)
        await call.request_reply(instructions=f'Say: "{text}"')
        await asyncio.sleep(0.5)
        await call.wait_idle(seconds * 2)
        while not voice.buffer.idle:
            await asyncio.sleep(0.1)
        await call.end()
    return voice, buffer.arrivals[arrivals_before:]


def reference_cpu(arrivals: list[tuple[float, str, bytes]]) -> tuple[float, float, int]:
    """The simple player: list.append on arrival, pop and join 50 ms blocks on a clock."""
    chunks: list[bytes] = []
    pending = b""
    underruns = 0
    block = 50 * 48

    def tick() -> None:
        nonlocal pending, underruns
        while len(pending) < block and chunks:
            pending += chunks.pop(0)
        if len(pending) < block and chunks == [] and started[0]:
            underruns += 1
        out, pending = pending[:block], pending[block:]
        np.frombuffer(out.ljust(block, b"\0"), dtype="<i2")

    started = [False]
    cpu, audio = _replay(arrivals, lambda item, pcm: chunks.append(pcm), Clock(0.05, tick), started)
    return cpu, audio, underruns


def ours_cpu(arrivals: list[tuple[float, str, bytes]], block_ms: int) -> tuple[float, float, int]:
    buffer = JitterBuffer(40)
    started = [False]
    frames = block_ms * 24
    clock = Clock(block_ms / 1000, lambda: buffer.read(frames))
    cpu, audio = _replay(arrivals, buffer.push, clock, started)
    return cpu, audio, buffer.underruns


def _replay(arrivals: list, push: Any, clock: Clock, started: list[bool]) -> tuple[float, float]:
    """Feed the recorded deltas on their schedule; CPU of pushes plus the device thread."""
    push_cpu = 0.0
    begin = arrivals[0][0]
    clock.start()
    t0 = time.perf_counter()
    for at, item, pcm in arrivals:
        delay = t0 + (at - begin) - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        before = time.thread_time()
        push(item, pcm)
        push_cpu += time.thread_time() - before
        started[0] = True
    audio_s = sum(len(pcm) for _, _, pcm in arrivals) / 48000
    time.sleep(max(0.0, audio_s - (time.perf_counter() - t0)) + 0.3)
    clock.stopped.set()
    clock.join()
    return push_cpu + clock.cpu, audio_s


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    voice, arrivals = asyncio.run(live(args.seconds))
    latency = [s * 1000 for s in voice.send_latency]
    start_ms = (voice.buffer.first_sound_at - voice.buffer.first_push_at) * 1000
    audio_s = sum(len(p) for _, _, p in arrivals) / 48000
    print(f"reply: {audio_s:.1f} s of audio in {len(arrivals)} deltas, engine paced at real time")
    print(
        f"capture to send: p50 {statistics.median(latency):.2f} ms, p99 {pct(latency, 0.99):.2f} ms"
        f" over {len(latency)} frames (target: p99 within one 20 ms block)"
    )
    print(
        f"playback start: {start_ms:.1f} ms from the first delta to the first sample (target < 40)"
    )
    print(f"underruns in steady state: {voice.buffer.underruns} (target 0)")
    print("playback CPU, same deltas on the same schedule (CPU of pushes and device reads):")
    ref, ref_audio, ref_under = reference_cpu(arrivals)
    for block_ms in (20, 50):
        ours, ours_audio, ours_under = ours_cpu(arrivals, block_ms)
        print(
            f"  jitter buffer, {block_ms} ms reads:  {ours / ours_audio * 1000:.3f} ms CPU per"
            f" audio second, {ours_under} underruns, ratio to reference {ours / ref:.2f}"
        )
    print(
        f"  reference list, 50 ms pops:  {ref / ref_audio * 1000:.3f} ms CPU per audio second,"
        f" {ref_under} underruns"
    )


if __name__ == "__main__":
    main()
