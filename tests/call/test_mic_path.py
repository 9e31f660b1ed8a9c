"""What the mic path costs to keep lean: no permessage-deflate on the socket, silence after a
fast mic file paced by the clock, our own frames' sizes counted without decoding them."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import wave
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request

from tests.call.fake_engine import Collect
from tests.clock import FakeClock
from tests.conftest import SCENARIOS
from tutor_cli.audio import mic as mic_module
from tutor_cli.audio.mic import WavMic
from tutor_cli.audio.settings import VoiceSettings
from tutor_cli.call.controller import Call
from tutor_cli.call.settings import CallSettings
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.realtime.events import base64_size, input_audio_append


def test_the_realtime_socket_asks_for_no_compression(tutor_home: Path) -> None:
    offered: list[str | None] = []

    def remember(_connection: ServerConnection, request: Request) -> None:
        offered.append(request.headers.get("Sec-WebSocket-Extensions"))

    async def handler(ws: ServerConnection) -> None:
        async for _ in ws:
            pass

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, process_request=remember) as server:
            port = server.sockets[0].getsockname()[1]
            settings = CallSettings(engine=f"ws://127.0.0.1:{port}/v1/realtime", text_only=True)
            scenario = load_scenario(SCENARIOS / "a1_taxi_bogota.json")
            call = Call(scenario, settings, Collect(), env={})
            await call.start()
            call.hurry()
            await call.close()

    asyncio.run(main())
    assert offered == [None]  # no permessage-deflate (nor any extension) offered


@pytest.mark.parametrize("size", [0, 1, 2, 3, 959, 960, 961])
def test_base64_size_counts_without_decoding(size: int) -> None:
    assert base64_size(base64.b64encode(bytes(size)).decode()) == size
    assert base64_size(input_audio_append(bytes(size))["audio"]) == size


def test_a_fast_mic_file_is_followed_by_silence_in_real_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "half_second.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(24000)
        wav.writeframes(b"\x10\x00" * 12000)  # 0.5 s: 12.5 frames of 40 ms, the last padded
    clock = FakeClock(100.0)
    fake_time = SimpleNamespace(monotonic=clock.monotonic, perf_counter=time.perf_counter)
    monkeypatch.setattr(mic_module, "time", fake_time)
    monkeypatch.setattr(
        mic_module, "asyncio", SimpleNamespace(sleep=clock.asleep, Event=asyncio.Event)
    )

    async def first(count: int) -> list[Any]:
        mic = WavMic(path, realtime=False)
        frames = mic.frames()
        taken = [(await anext(frames))[0] for _ in range(count)]
        assert mic.finished.is_set()
        return taken

    frames = asyncio.run(first(13 + 25))
    silence = bytes(1920)
    assert all(frame != silence for frame in frames[:13])
    assert frames[13:] == [silence] * 25
    # The file went as fast as it could (no waiting); the second of silence after it took a
    # second of the clock, a frame every 40 ms.
    assert sum(clock.slept[:13]) == 0
    assert clock.now - 100.0 == pytest.approx(24 * 0.04)
    assert [round(seconds, 6) for seconds in clock.slept[13:]] == [0.04] * 24


def test_each_mic_frame_is_encoded_once_and_never_decoded(
    tutor_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frame is base64-encoded once, for the socket; the event log counts its size from
    the text without decoding it, and keeps no audio."""
    mic_file = tmp_path / "speech.wav"
    with wave.open(str(mic_file), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(24000)
        wav.writeframes(b"\x10\x00" * 48000)  # 2 s: 50 frames
    counts = {"encoded": 0, "decoded": 0}
    encode, decode = base64.b64encode, base64.b64decode

    def counting_encode(data: bytes, *args: Any) -> bytes:
        counts["encoded"] += len(data) == 1920  # a mic frame, not a handshake key
        return encode(data, *args)

    def counting_decode(data: Any, *args: Any, **kwargs: Any) -> bytes:
        counts["decoded"] += len(data) == 2560  # a mic frame, not a handshake key
        return decode(data, *args, **kwargs)

    received: list[dict[str, Any]] = []
    enough = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            event = json.loads(message)
            if event.get("type") == "input_audio_buffer.append":
                received.append(event)
                if len(received) >= 60:
                    enough.set()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            voice = VoiceSettings(
                mic_file=mic_file, mic_realtime=False, speaker_file=tmp_path / "out.wav"
            )
            settings = CallSettings(engine=f"ws://127.0.0.1:{port}/v1/realtime", voice=voice)
            scenario = load_scenario(SCENARIOS / "a1_taxi_bogota.json")
            call = Call(scenario, settings, Collect(), env={})
            monkeypatch.setattr(base64, "b64encode", counting_encode)
            monkeypatch.setattr(base64, "b64decode", counting_decode)
            await call.start()
            await asyncio.wait_for(enough.wait(), 30)
            call.hurry()
            await call.close()
            monkeypatch.undo()

    asyncio.run(main())
    sent = [event for event in received if event["audio"]]
    assert len(sent) >= 60 and counts["decoded"] == 0
    # One encoding a frame sent (and perhaps one for a frame still queued at the end).
    assert len(sent) <= counts["encoded"] <= len(sent) + 1
    (log,) = (tutor_home / "sessions").glob("*.jsonl")
    logged = [
        json.loads(line)["event"]
        for line in log.read_text(encoding="utf-8").splitlines()[1:]
        if '"input_audio_buffer.append"' in line
    ]
    assert len(logged) >= 60
    assert all(event["audio"] == "" and event["audio_bytes"] == 1920 for event in logged)
