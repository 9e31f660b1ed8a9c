"""Voice end to end: WAV files as the microphone and the speaker, the real sound-device path on
ALSA's null device, and a barge-in with exact truncation."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import wave
from collections import deque
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, SCENARIOS
from tutor_cli.audio.settings import VoiceSettings
from tutor_cli.call.controller import Call
from tutor_cli.call.headless import from_lines, lesson
from tutor_cli.call.settings import CallSettings
from tutor_cli.engine.tts import Synthesizer
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.storage.eventlog import read_log
from tutor_cli.storage.store import ProgressStore

BLOCK_MS = 20


def speech_wav(path: Path, text: str, lead_s: float, tail_s: float = 1.5) -> Path:
    pcm = b"".join(Synthesizer().synthesize(text, "es-CO"))
    silence = bytes(48000)  # one second at 24 kHz, 16-bit
    lead = silence * int(lead_s) + silence[: int((lead_s % 1) * 48000) // 2 * 2]
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(24000)
        wav.writeframes(lead + pcm + silence * int(tail_s))
    return path


def wav_segments(path: Path) -> list[tuple[float, float]]:
    """Sounding stretches of a WAV file, in seconds, at 20 ms resolution."""
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(float)
    blocks = samples[: len(samples) // 480 * 480].reshape(-1, 480)
    loud = np.sqrt((blocks**2).mean(axis=1)) > 30
    segments, start = [], None
    for index, on in enumerate(loud):
        if on and start is None:
            start = index
        if not on and start is not None:
            segments.append((start * 0.02, index * 0.02))
            start = None
    if start is not None:
        segments.append((start * 0.02, len(loud) * 0.02))
    return segments


def server_events(home: Path, type_: str) -> list[dict]:
    (log,) = (home / "sessions").glob("*.jsonl")
    return [
        r.event for r in read_log(log) if isinstance(r.event, dict) and r.event.get("type") == type_
    ]


@pytest.mark.slow
def test_wav_mic_and_speaker_on_the_offline_engine(tutor_home: Path, tmp_path: Path) -> None:
    mic = speech_wav(tmp_path / "speech.wav", "Buenas tardes. Muy bien, gracias.", lead_s=0.5)
    out = tmp_path / "out.wav"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tutor_cli",
            "call",
            "a1_taxi_bogota",
            "--headless",
            "--mic-file",
            str(mic),
            "--speaker-file",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    started = server_events(tutor_home, "input_audio_buffer.speech_started")
    stopped = server_events(tutor_home, "input_audio_buffer.speech_stopped")
    assert started and stopped and started[0]["item_id"] == stopped[0]["item_id"]
    assert 0 <= started[0]["audio_start_ms"] <= 500 < stopped[0]["audio_end_ms"]
    assert "You (spoken)" in result.stdout and "¿Para dónde lo llevo?" in result.stdout
    assert out.stat().st_mode & 0o777 == 0o600  # the tutor's voice: owner only
    segments = wav_segments(out)
    # the tutor's reply to the spoken turn is in the file, after the learner stopped speaking
    assert any(start * 1000 > stopped[0]["audio_end_ms"] for start, _ in segments)
    assert sum(end - start for start, end in segments) > 2.0


@pytest.mark.slow
def test_barge_in_stops_the_tutor_and_truncates_exactly(tutor_home: Path, tmp_path: Path) -> None:
    mic = speech_wav(tmp_path / "speech.wav", "Perdón, un momento por favor.", lead_s=1.5)
    out = tmp_path / "out.wav"
    scenario = load_scenario(SCENARIOS / "a1_taxi_bogota.json")

    class Quiet:
        def show(self, update: object) -> None: ...

        async def ask_quiz(self, quiz: object) -> list[str]:
            return []

    async def main() -> None:
        settings = CallSettings(
            engine="offline",
            pace=1.0,  # the engine streams in real time: the reply is still going at barge-in
            voice=VoiceSettings(mic_file=mic, speaker_file=out),
            grade_timeout=5,
        )
        with ProgressStore.open_default() as store:
            call = Call(scenario, settings, Quiet(), store=store)
            await lesson(call, from_lines(deque()))

    asyncio.run(main())
    (truncate,) = [
        r.event
        for r in read_log(next((tutor_home / "sessions").glob("*.jsonl")))
        if r.dir == "client" and r.event.get("type") == "conversation.item.truncate"
    ]
    cancelled = [
        e
        for e in server_events(tutor_home, "response.done")
        if e["response"]["status"] == "cancelled"
    ]
    assert cancelled and cancelled[0]["response"]["status_details"]["reason"] == "turn_detected"
    (log,) = (tutor_home / "sessions").glob("*.jsonl")
    item_audio = b"".join(
        base64.b64decode(r.event["delta"])
        for r in read_log(log)
        if r.dir == "server"
        and r.event.get("type") == "response.output_audio.delta"
        and r.event["item_id"] == truncate["item_id"]
    )
    sent = np.frombuffer(item_audio, dtype="<i2")
    with wave.open(str(out), "rb") as wav:
        heard = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    # align the item's first sound with the file's (the item may begin with silence)
    first = int(np.flatnonzero(heard)[0]) - int(np.flatnonzero(sent)[0])
    window = heard[first : first + sent.size]
    unfaded = int(np.flatnonzero(window != sent[: window.size])[0])  # where the fade begins
    fade = 10 * 24
    # the truncate says exactly what the speaker played: up to the fade, and the fade itself
    assert abs(truncate["audio_end_ms"] - (unfaded + fade) / 24) <= BLOCK_MS
    # after the 10 ms fade the tutor is silent (until the reply to the learner's turn)
    after = heard[first + unfaded + fade : first + unfaded + fade + 300 * 24]
    assert not after.any()
    started = server_events(tutor_home, "input_audio_buffer.speech_started")[0]
    records = list(read_log(log))
    speech_index = next(i for i, r in enumerate(records) if r.event == started)
    truncate_index = next(i for i, r in enumerate(records) if r.event == truncate)
    between = records[speech_index:truncate_index]
    mic_frames = [r for r in between if r.event.get("type") == "input_audio_buffer.append"]
    # the truncate went out at once: at most one more mic frame (40 ms) was sent before it
    assert speech_index < truncate_index and len(mic_frames) <= 1
    assert 1000 < truncate["audio_end_ms"] < 2500  # cut soon after the learner began at 1.5 s


def test_real_sound_device_streams_on_alsa_null(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    probe = subprocess.run(
        [sys.executable, "-c", "import sounddevice"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        pytest.skip(f"PortAudio is not installed here: {probe.stderr.strip().splitlines()[-1]}")
    script = """
import asyncio, json
import numpy as np
from tutor_cli.audio.settings import VoiceSettings
from tutor_cli.audio.voice import Voice

async def main():
    voice = await Voice.open(VoiceSettings(echo_gate="auto"))
    voice.buffer.push("item", np.full(24000, 1000, dtype="<i2").tobytes())
    voice.buffer.end_of_reply()
    frames = 0
    async for frame, at in voice.mic.frames():
        frames += 1
        if frames >= 25:
            break
    await asyncio.sleep(0.2)
    print(json.dumps({"mic_frames": frames, "played": voice.buffer.played.get("item", 0),
                      "gate": voice.gate.enabled, "in": voice.mic.device.name,
                      "out": voice.speaker.device.name}))
    await voice.close()

asyncio.run(main())
"""
    env = {**os.environ, "ALSA_CONFIG_PATH": str(REPO / "tests/data/asound-null.conf")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["mic_frames"] >= 25 and report["played"] > 0
    assert report["gate"] is True  # a sound card: the echo gate is on in auto
