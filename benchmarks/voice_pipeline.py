"""The voice path under load: the offline engine streams a 60-second reply while the mic runs.

Measures, with device callbacks driven by a real-time clock thread (as PortAudio drives them):
- capture-to-send latency: mic callback to websocket send, p50 and p99;
- playback start latency: first audio delta received to first sample written to the device;
- underruns in steady state;
- CPU seconds per audio second of the playback path (pushing each delta, and the device
  callback filling each block), fed the deltas the live call received on the schedule they
  arrived, at equal block sizes (20, 40 and 50 ms), for our jitter buffer (with the echo
  gate's level tracking on, as with a sound card) and for re-implementations, written for
  this benchmark, of the players two public clients ship:
  - `openai-python`: `AudioPlayerAsync` of openai-python's `examples/realtime/audio_util.py`
    (commit 04448952, the example the SDK's realtime docs point to): a list of numpy chunks
    under a lock, `pop(0)` and `np.concatenate` per chunk, the remainder put back with
    `insert(0, ...)`, zeros concatenated to pad, `outdata[:] = data.reshape(-1, 1)`;
  - `openai-agents`: `NoUIDemo._output_callback` of openai-agents-python's
    `examples/realtime/cli/demo.py` (commit 46020b55): a `queue.Queue` of (samples, item id,
    content index), `outdata.fill(0)`, slices copied in, and each slice reported to a
    `RealtimePlaybackTracker` (`on_play_bytes`, which turns the slice's `tobytes()` into
    milliseconds, as `agents.realtime.model` does).
  Neither package's player is imported: openai-python's lives in its examples, not in the
  package, and openai-agents is not a dependency here; both were re-implemented from the
  files above as read in their public repositories. Every player gets the same preallocated
  `outdata` array, as a sound card's callback would.

    uv run python benchmarks/voice_pipeline.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import queue
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


class OurPlayer:
    """Our jitter buffer, as the sound-card speaker drives it."""

    def __init__(self) -> None:
        self.buffer = JitterBuffer(40, track_level=True)

    def push(self, item_id: str, pcm: bytes) -> None:
        self.buffer.push(item_id, pcm)

    def callback(self, outdata: np.ndarray, frames: int) -> None:
        outdata[:, 0] = self.buffer.read(frames)

    @property
    def underruns(self) -> int:
        return self.buffer.underruns


class OpenAIExamplePlayer:
    """openai-python `examples/realtime/audio_util.py` `AudioPlayerAsync`, re-implemented."""

    def __init__(self) -> None:
        self.queue: list[np.ndarray] = []
        self.lock = threading.Lock()
        self.frame_count = 0
        self.underruns = 0  # it does not count them

    def push(self, item_id: str, pcm: bytes) -> None:  # add_data
        with self.lock:
            self.queue.append(np.frombuffer(pcm, dtype=np.int16))

    def callback(self, outdata: np.ndarray, frames: int) -> None:
        with self.lock:
            data = np.empty(0, dtype=np.int16)
            while len(data) < frames and len(self.queue) > 0:
                item = self.queue.pop(0)
                needed = frames - len(data)
                data = np.concatenate((data, item[:needed]))
                if len(item) > needed:
                    self.queue.insert(0, item[needed:])
            self.frame_count += len(data)
            if len(data) < frames:
                data = np.concatenate((data, np.zeros(frames - len(data), dtype=np.int16)))
        outdata[:] = data.reshape(-1, 1)


class PlaybackTracker:
    """openai-agents `agents.realtime.model.RealtimePlaybackTracker`, re-implemented."""

    def __init__(self) -> None:
        self.current: tuple[str, int] | None = None
        self.elapsed_ms: float | None = None

    def on_play_bytes(self, item_id: str, content_index: int, data: bytes) -> None:
        self.on_play_ms(item_id, content_index, (len(data) / 24 / 2) * 1000)

    def on_play_ms(self, item_id: str, content_index: int, ms: float) -> None:
        if self.current != (item_id, content_index):
            self.current, self.elapsed_ms = (item_id, content_index), ms
        else:
            assert self.elapsed_ms is not None
            self.elapsed_ms += ms


class AgentsDemoPlayer:
    """openai-agents `examples/realtime/cli/demo.py` output callback, re-implemented."""

    def __init__(self) -> None:
        self.output_queue: queue.Queue[tuple[np.ndarray, str, int]] = queue.Queue(maxsize=100)
        self.interrupt_event = threading.Event()
        self.current: tuple[np.ndarray, str, int] | None = None
        self.position = 0
        self.tracker = PlaybackTracker()
        self.underruns = 0  # it does not count them

    def push(self, item_id: str, pcm: bytes) -> None:  # the "audio" session event
        samples = np.frombuffer(pcm, dtype=np.int16)
        try:
            self.output_queue.put_nowait((samples, item_id, 0))
        except queue.Full:
            if self.output_queue.qsize() > 8:
                with contextlib.suppress(queue.Empty):
                    self.output_queue.get_nowait()
                    self.output_queue.put_nowait((samples, item_id, 0))

    def callback(self, outdata: np.ndarray, frames: int) -> None:
        if self.interrupt_event.is_set():
            while not self.output_queue.empty():
                try:
                    self.output_queue.get_nowait()
                except queue.Empty:
                    break
            self.current, self.position = None, 0
            self.interrupt_event.clear()
            outdata.fill(0)
            return
        outdata.fill(0)
        filled = 0
        while filled < len(outdata):
            if self.current is None:
                try:
                    self.current = self.output_queue.get_nowait()
                    self.position = 0
                except queue.Empty:
                    break
            samples, item_id, content_index = self.current
            count = min(len(outdata) - filled, len(samples) - self.position)
            if count > 0:
                chunk = samples[self.position : self.position + count]
                outdata[filled : filled + count, 0] = chunk
                filled += count
                self.position += count
                with contextlib.suppress(Exception):
                    self.tracker.on_play_bytes(item_id, content_index, chunk.tobytes())
                if self.position >= len(samples):
                    self.current, self.position = None, 0


PLAYERS: dict[str, Any] = {
    "jitter buffer (ours)": OurPlayer,
    "openai-python example": OpenAIExamplePlayer,
    "openai-agents demo": AgentsDemoPlayer,
}


def player_cpu(
    make: Any, arrivals: list[tuple[float, str, bytes]], block_ms: int
) -> tuple[float, float]:
    """CPU seconds (pushes and device callbacks) per audio second, and underruns."""
    player = make()
    frames = block_ms * 24
    outdata = np.zeros((frames, 1), dtype=np.int16)
    clock = Clock(block_ms / 1000, lambda: player.callback(outdata, frames))
    cpu, audio = _replay(arrivals, player.push, clock, [False])
    return cpu / audio, player.underruns


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
    print("playback CPU, the same deltas on the same schedule (pushes and device callbacks),")
    print("ms of CPU per second of audio; ratio to ours at the same block size:")
    for block_ms in (20, 40, 50):
        figures = {name: player_cpu(make, arrivals, block_ms) for name, make in PLAYERS.items()}
        ours = figures["jitter buffer (ours)"][0]
        for name, (cpu, underruns) in figures.items():
            counted = f", {underruns} underruns" if name.endswith("(ours)") else ""
            print(
                f"  {block_ms} ms blocks  {name:22s} {cpu * 1000:6.3f} ms/s, "
                f"ratio {cpu / ours:4.2f}{counted}"
            )


if __name__ == "__main__":
    main()
