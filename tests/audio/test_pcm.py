"""Format conversions: resampling lengths, WAV reading, levels, the echo gate."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from tests.cli_runner import tutor
from tutor_cli.audio.echo import EchoGate
from tutor_cli.audio.mic import read_wav
from tutor_cli.audio.pcm import FRAME_MS, FRAME_SAMPLES, FrameLevel, ToProtocol, frame_rms
from tutor_cli.errors import BadInput


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 24000, 44100, 48000])
def test_any_rate_becomes_mic_frames_of_24_khz(rate: int) -> None:
    convert = ToProtocol(rate)
    samples = (np.sin(np.arange(rate) * 440 * 2 * np.pi / rate) * 8000).astype(np.int16)
    frames = []
    for start in range(0, rate, 333):  # odd chunk sizes, as callbacks deliver them
        frames += convert.frames(samples[start : start + 333])
    frames += convert.frames(np.zeros(0, dtype=np.int16), last=True)
    assert all(len(f) == FRAME_SAMPLES * 2 for f in frames)
    assert FRAME_MS == 40 and FRAME_SAMPLES == 960
    assert abs(len(frames) - 25) <= 1  # one second is twenty-five 40 ms frames


def write_wav(path: Path, data: np.ndarray, rate: int, width: int, channels: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(data.tobytes())


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_wav_files_of_any_width_and_channels(tmp_path: Path, width: int) -> None:
    mono = (np.sin(np.arange(4410) / 10) * 0.5 * 32767).astype(np.int16)
    stereo = np.repeat(mono[:, None], 2, axis=1)
    if width == 1:
        data = ((stereo >> 8) + 128).astype(np.uint8)
    elif width == 2:
        data = stereo.astype("<i2")
    elif width == 3:
        wide = stereo.astype(np.int32) << 8
        data = np.stack([(wide >> s) & 0xFF for s in (0, 8, 16)], axis=-1).astype(np.uint8)
    else:
        data = (stereo.astype(np.int32) << 16).astype("<i4")
    path = tmp_path / "in.wav"
    write_wav(path, data, 44100, width, 2)
    samples, rate = read_wav(path)
    assert rate == 44100 and samples.shape == (4410,)
    assert np.abs(samples.astype(int) - mono).max() <= 256


def test_bad_wav_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "x.wav").write_bytes(b"not a wav")
    with pytest.raises(BadInput, match="not a PCM WAV file"):
        read_wav(tmp_path / "x.wav")
    with pytest.raises(BadInput, match="no such file"):
        read_wav(tmp_path / "missing.wav")


def test_levels_in_dbfs() -> None:
    level = FrameLevel()
    silence = np.zeros(480, dtype="<i2").tobytes()
    assert frame_rms(silence) == 0.0
    level.add(silence)
    assert level.frames == 1
    assert level.take() == (-100.0, -100.0) and level.frames == 0
    assert level.take() == (-100.0, -100.0)  # nothing since: silence, not an error
    full = np.full(480, 32767, dtype="<i2")
    tenth = (full // 10).astype("<i2")
    assert frame_rms(tenth.tobytes()) == pytest.approx(0.1, abs=1e-3)
    level.add(tenth.tobytes())
    rms, _peak = level.take()
    assert abs(rms + 20) < 0.1  # a tenth of full scale is -20 dBFS
    level.add(tenth.tobytes())
    level.add(full.tobytes())  # the loudest frame of the run is what the meter shows
    rms, peak = level.take()
    assert abs(rms) < 0.01 and abs(peak) < 0.01
    level.add(tenth.tobytes()[:480])  # frames of different sizes are measured one by one
    level.add(full.tobytes())
    assert level.take() == (rms, peak)


def test_echo_gate_decisions() -> None:
    gate = EchoGate(enabled=True)
    assert gate.allow(mic_rms=0.01, playback_rms=0.0)  # tutor silent: everything passes
    assert not gate.allow(mic_rms=0.05, playback_rms=0.2)  # the tutor's echo at the mic
    assert gate.allow(mic_rms=0.3, playback_rms=0.2)  # the learner talking over the tutor
    assert not gate.allow(mic_rms=0.05, playback_rms=0.0)  # just after: the release holds
    assert gate.dropped == 2
    for _ in range(40):
        gate.allow(mic_rms=0.0, playback_rms=0.0)
    assert gate.allow(mic_rms=0.05, playback_rms=0.0)  # reverberation over: open again
    off = EchoGate(enabled=False)
    assert off.allow(mic_rms=0.0, playback_rms=1.0)


def test_devices_and_doctor_on_a_machine_without_sound(tmp_path: Path) -> None:
    # This machine (and CI's) has no sound card; with PortAudio missing the answers differ
    # but must be just as clear.
    env = {"OPENAI_API_KEY": "", "ALSA_CONFIG_PATH": None}
    devices = tutor("devices", env=env)
    assert devices.returncode == 0, devices.stderr
    assert "no sound devices" in devices.stdout.lower() or "PortAudio" in devices.stdout
    doctor = tutor("doctor", env=env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    # the engine checked as a call runs it: in this process, no port
    assert "engine: offline (in this process, model offline): reachable" in doctor.stdout
    assert "A call can run." in doctor.stdout
    assert "OPENAI_API_KEY: not set" in doctor.stdout
    unknown = tutor(
        "call", "a1_taxi_bogota", "--headless", "--input-device", "no-such-mic", env=env
    )
    if "PortAudio is not available" not in unknown.stdout:
        assert unknown.returncode == 2
        assert unknown.stderr.startswith("tutor: --input-device:")
    fallback = tutor("call", "a1_taxi_bogota", "--headless", "--say", "Hola, muy bien", env=env)
    assert fallback.returncode == 0, fallback.stderr
    assert "text-only call:" in fallback.stdout  # the banner says why
    assert "¿Para dónde lo llevo?" in fallback.stdout
