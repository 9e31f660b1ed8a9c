"""What one mic frame (40 ms) costs each stage it passes through, in µs, in this process.

An idle voice call sends 25 frames a second for as long as it lasts, so these stages are what
an idle call's CPU is mostly made of (with the websocket and the event loop around them, which
`idle_cpu.py` measures whole). The frames are a quiet room's noise floor (about -70 dBFS),
never digital zeros, which no real microphone gives. Each stage runs on `--frames` frames,
`--runs` times; the best run is printed, per frame.

Client: building the `input_audio_buffer.append` event (base64), its JSON text for the socket,
its event-log line. Engine: parsing the frame, checking its shape, decoding the base64, the
input buffer with turn detection, and the whole of `EngineProtocol.receive`.

    uv run python benchmarks/frame_cost.py [--frames 5000] [--runs 5]
"""

from __future__ import annotations

import argparse
import base64
import json
import tempfile
import timeit
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tutor_cli.audio.pcm import FRAME_MS, FRAME_SAMPLES
from tutor_cli.engine.client_events import parse_frame
from tutor_cli.engine.client_shapes import check_client_event
from tutor_cli.engine.input_audio import InputAudio
from tutor_cli.engine.protocol import EngineProtocol
from tutor_cli.engine.vad import TurnDetector
from tutor_cli.realtime.events import DEFAULT_SERVER_VAD, input_audio_append
from tutor_cli.storage.eventlog import EventLogWriter


def per_frame(fn: Callable[[Any], object], items: Sequence[Any], runs: int) -> float:
    """Microseconds per item of the best of `runs` passes over `items`."""
    best = min(timeit.repeat(lambda: [fn(item) for item in items], number=1, repeat=runs))
    return 1e6 * best / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    floor = rng.normal(0, 10, FRAME_SAMPLES * args.frames).astype("<i2")  # ~-70 dBFS
    size = FRAME_SAMPLES
    frames = [floor[i * size : (i + 1) * size].tobytes() for i in range(args.frames)]
    events = [input_audio_append(frame) for frame in frames]
    texts = [json.dumps(event, ensure_ascii=False) for event in events]
    parsed = [json.loads(text) for text in texts]
    protocol = EngineProtocol(None, "gpt-realtime")
    vad = {"type": "realtime", "audio": {"input": {"turn_detection": DEFAULT_SERVER_VAD}}}
    protocol.receive(json.dumps({"type": "session.update", "session": vad}))
    buffer = InputAudio()

    with tempfile.TemporaryDirectory() as folder:
        log = EventLogWriter(Path(folder) / "frames.jsonl", {"scenario": "benchmark"})
        stages: list[tuple[str, Callable[[Any], object], Sequence[Any]]] = [
            ("client: append event (base64)", input_audio_append, frames),
            (
                "client: JSON text for the socket",
                lambda e: json.dumps(e, ensure_ascii=False),
                events,
            ),
            ("client: event-log line", lambda e: log.write("client", e), events),
            ("engine: parse_frame", parse_frame, texts),
            ("engine: check_client_event", check_client_event, parsed),
            (
                "engine: base64 decode",
                lambda e: base64.b64decode(e["audio"], validate=True),
                parsed,
            ),
            ("engine: TurnDetector.feed", TurnDetector().feed, frames),
            ("engine: InputAudio.append", lambda f: buffer.append(f, DEFAULT_SERVER_VAD), frames),
            ("engine: EngineProtocol.receive", protocol.receive, texts),
        ]
        print(f"µs per {FRAME_MS} ms frame, best of {args.runs} runs over {args.frames} frames")
        for name, fn, items in stages:
            print(f"  {name:36s} {per_frame(fn, items, args.runs):6.1f}")
        log.close()


if __name__ == "__main__":
    main()
