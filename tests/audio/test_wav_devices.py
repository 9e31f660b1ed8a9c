"""WAV files as the microphone and the speaker need no sound card and no PortAudio: a call
with them runs with the real sounddevice module unimportable, as on a machine without it."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from tests.audio.test_voice_calls import speech_wav
from tests.cli_runner import tutor
from tests.conftest import REPO

NO_PORTAUDIO = {"PYTHONPATH": str(REPO / "tests/data/no_portaudio")}


def pcm(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


def test_the_stand_in_really_hides_portaudio() -> None:
    devices = tutor("devices", env=NO_PORTAUDIO)
    assert devices.returncode == 0, devices.stderr
    assert "PortAudio is not available (PortAudio library not found)" in devices.stdout


def test_a_speaker_file_gets_the_tutors_voice_without_portaudio(tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    result = tutor(
        "call", "a1_taxi_bogota", "--headless", "--say", "Buenas tardes, muy bien",
        "--speaker-file", str(out), env=NO_PORTAUDIO,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "text-only call" not in result.stdout
    assert "no microphone" in result.stdout  # said once, with why: typed turns only
    samples = pcm(out)
    assert len(samples) > 24000  # more than a second of the call's timeline
    assert np.sqrt((samples.astype(float) ** 2).mean()) > 30  # the tutor's voice, not silence


def test_a_mic_file_is_heard_without_portaudio(tmp_path: Path) -> None:
    mic = speech_wav(tmp_path / "in.wav", "Buenas tardes, muy bien, gracias", lead_s=0.5)
    result = tutor(
        "call", "a1_taxi_bogota", "--headless", "--mic-file", str(mic), "--mic-speed", "fast",
        env=NO_PORTAUDIO,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "text-only call" not in result.stdout
    assert "You (spoken)" in result.stdout
