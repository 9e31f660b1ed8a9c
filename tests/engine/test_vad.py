"""Turn detection on synthetic speech: no sound card, no recordings, numpy only."""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np
import pytest
import soxr
import webrtcvad

from tutor_cli.engine.turns import SpeechStarted, SpeechStopped
from tutor_cli.engine.vad import TurnDetector

RATE = 24000
THRESHOLDS = (0.0, 0.25, 0.5, 0.75, 1.0)

# First three formants (Hz) of a few vowels, and their bandwidths.
_VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480))
_BANDWIDTHS = (90, 110, 170)
_SYLLABLE_S = 0.25  # ~4 syllables a second


def _vowel_response(formants: tuple[int, int, int], length: int = 480) -> np.ndarray:
    """Impulse response of parallel two-pole resonators, in closed form.

    A resonator's response is a damped sinusoid, so convolving with it does what a per-sample
    IIR loop would, at numpy speed; 20 ms is long enough for the narrowest band to die out.
    """
    n = np.arange(length)
    response = np.zeros(length)
    for freq, bandwidth in zip(formants, _BANDWIDTHS, strict=True):
        response += np.exp(-np.pi * bandwidth / RATE) ** n * np.sin(2 * np.pi * freq / RATE * n)
    return response


def speech(seconds: float, level_dbfs: float = -20.0, seed: int = 0) -> np.ndarray:
    """A voiced, speech-like signal: a ~120 Hz glottal pulse train through vowel formants."""
    rng = np.random.default_rng(seed)
    count = int(seconds * RATE)
    t = np.arange(count) / RATE
    pitch = 120.0 * (1 + 0.08 * np.sin(2 * np.pi * 0.7 * t))  # a slow intonation contour
    cycles = np.floor(np.cumsum(pitch / RATE))
    pulses = np.zeros(count)
    pulses[1:][np.diff(cycles) > 0] = 1.0
    # The glottal pulse's decay gives the source its falling spectrum; a breath of aspiration.
    source = np.convolve(pulses, np.exp(-np.arange(48) / 6.0))[:count]
    source += 0.02 * rng.standard_normal(count)
    out = np.zeros(count)
    step = int(_SYLLABLE_S * RATE)
    for begin in range(0, count, step):
        segment = source[begin : begin + step]
        vowel = _VOWELS[rng.integers(len(_VOWELS))]
        voiced = np.convolve(segment, _vowel_response(vowel))[: len(segment)]
        envelope = np.sin(np.pi * np.linspace(0, 1, len(segment))) ** 0.6
        out[begin : begin + len(segment)] = voiced * envelope
    return out / np.sqrt(np.mean(out**2)) * 10 ** (level_dbfs / 20)


def noise(seconds: float, level_dbfs: float, seed: int = 1) -> np.ndarray:
    """White noise at an RMS level."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(int(seconds * RATE)) * 10 ** (level_dbfs / 20)


def silence(seconds: float, seed: int = 2) -> np.ndarray:
    """A quiet room: zeros plus very low white noise."""
    return noise(seconds, -70.0, seed)


def pcm(*parts: np.ndarray) -> bytes:
    """Concatenate float signals into 24 kHz PCM16 little-endian bytes."""
    signal = np.concatenate(parts)
    return np.clip(np.round(signal * 32767), -32768, 32767).astype("<i2").tobytes()


def run(audio: bytes, chunk_sizes: tuple[int, ...] = (960,), **params: Any) -> list:
    """Feed `audio` in chunks cycling through `chunk_sizes`; collect every event."""
    detector = TurnDetector(**params)
    events: list = []
    offset = 0
    sizes = itertools.cycle(chunk_sizes)
    while offset < len(audio):
        size = next(sizes)
        events += detector.feed(audio[offset : offset + size])
        offset += size
    return events


@functools.cache
def one_utterance() -> bytes:
    """1 s of silence, 1 s of speech, 1.5 s of silence."""
    return pcm(silence(1.0), speech(1.0), silence(1.5))


@functools.cache
def two_turns() -> bytes:
    """Two utterances at two quieter levels, far enough apart to be two turns."""
    return pcm(
        silence(0.7),
        speech(0.8, -30, seed=3),
        silence(1.1),
        speech(1.2, -25, seed=4),
        silence(0.9),
    )


def test_synthetic_speech_is_speech_to_webrtcvad() -> None:
    voiced = soxr.resample(speech(2.0).astype(np.float32), RATE, 16000)
    frames = np.clip(np.round(voiced * 32768), -32768, 32767).astype("<i2")
    vad = webrtcvad.Vad(3)  # the strictest mode: the test signal must not need leniency
    decisions = [
        vad.is_speech(frames[i : i + 320].tobytes(), 16000)
        for i in range(0, len(frames) - 319, 320)
    ]
    assert sum(decisions) / len(decisions) > 0.85


@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_silence_gives_no_events(threshold: float) -> None:
    assert run(pcm(silence(3.0)), threshold=threshold) == []
    assert run(bytes(48000), threshold=threshold) == []


def test_steady_room_noise_from_the_first_sample_is_not_a_turn() -> None:
    # webrtcvad calls the first ~100 ms of any sound speech until its noise model settles.
    assert run(pcm(noise(3.0, -48.0, seed=11)), threshold=0.0) == []


def test_one_utterance_is_one_turn() -> None:
    detector = TurnDetector()
    audio = one_utterance()
    events: list = []
    speaking_seen = False
    for offset in range(0, len(audio), 960):
        events += detector.feed(audio[offset : offset + 960])
        speaking_seen |= detector.speaking
    assert speaking_seen
    assert not detector.speaking
    assert detector.position_ms == 3500
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped]
    assert abs(events[0].audio_start_ms - (1000 - 300)) <= 40
    # The end includes the silence the detector waited for (500 ms), as the SDK documents.
    assert abs(events[1].audio_end_ms - (2000 + 500)) <= 60


@pytest.mark.parametrize("prefix_padding_ms", [0, 100, 500])
def test_prefix_padding_moves_the_start_back(prefix_padding_ms: int) -> None:
    events = run(one_utterance(), prefix_padding_ms=prefix_padding_ms)
    assert abs(events[0].audio_start_ms - (1000 - prefix_padding_ms)) <= 40


def test_start_is_not_before_the_session() -> None:
    events = run(pcm(silence(0.1), speech(1.0), silence(1.0)), prefix_padding_ms=300)
    assert events[0] == SpeechStarted(audio_start_ms=0)


def test_a_short_pause_stays_in_the_turn() -> None:
    audio = pcm(silence(0.8), speech(0.6, seed=5), silence(0.3), speech(0.6, seed=6), silence(1.0))
    events = run(audio, silence_duration_ms=500)
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped]
    assert abs(events[1].audio_end_ms - (2300 + 500)) <= 60


def test_a_long_pause_ends_the_turn() -> None:
    audio = pcm(silence(0.8), speech(0.6, seed=5), silence(0.7), speech(0.6, seed=6), silence(1.0))
    events = run(audio, silence_duration_ms=500, prefix_padding_ms=300)
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped] * 2
    first_end, second_start = events[1].audio_end_ms, events[2].audio_start_ms
    assert abs(first_end - (1400 + 500)) <= 60
    assert abs(events[3].audio_end_ms - (2700 + 500)) <= 60
    # Onset (2100) minus padding would reach into the first turn's silence, which was already
    # committed with the first turn: the start is clamped to where that turn ended.
    assert second_start == first_end


def test_silence_duration_is_honoured() -> None:
    audio = pcm(silence(0.8), speech(0.6, seed=5), silence(0.7), speech(0.6, seed=6), silence(1.5))
    assert len(run(audio, silence_duration_ms=1000)) == 2
    assert len(run(audio, silence_duration_ms=200)) == 4


def test_a_click_is_not_a_turn() -> None:
    click = noise(0.01, -6.0, seed=9)
    assert run(pcm(silence(1.0), click, silence(1.0))) == []


def test_events_do_not_depend_on_chunking() -> None:
    audio = two_turns()
    by_frames = run(audio, (960,))
    assert [type(e) for e in by_frames] == [SpeechStarted, SpeechStopped] * 2
    # Odd sizes leave half a sample behind almost every time; 1 keeps a lone carry byte.
    assert run(audio, (1, 961, 7, 4801, 1, 333)) == by_frames
    assert run(audio, (len(audio),)) == by_frames
    assert run(audio[:-1], (len(audio) - 1,)) == by_frames


def test_position_counts_whole_samples() -> None:
    detector = TurnDetector()
    detector.feed(b"\x00" * 47)
    assert detector.position_ms == 0
    detector.feed(b"\x00")
    assert detector.position_ms == 1
    detector.feed(b"\x00" * 48 * 999)
    assert detector.position_ms == 1000


def test_quiet_noise_does_not_trigger_at_the_default_threshold() -> None:
    audio = pcm(silence(1.0), noise(1.0, -45.0, seed=7), silence(1.0))
    assert run(audio, threshold=0.5) == []
    assert run(audio, threshold=0.0) != []  # so it is the threshold that holds it back


def test_threshold_decides_how_quiet_speech_may_be() -> None:
    audio = pcm(silence(1.0), speech(1.0, -45.0), silence(1.0))
    assert len(run(audio, threshold=0.0)) == 2
    assert run(audio, threshold=1.0) == []


@functools.cache
def _threshold_inputs() -> tuple[bytes, ...]:
    quiet_room = silence(1.0)
    in_noise = noise(4.0, -38.0, seed=8)
    in_noise[RATE : 3 * RATE] += speech(2.0, -30.0, seed=8)
    return (
        *(pcm(quiet_room, speech(1.2, level), quiet_room) for level in (-20, -35, -42, -48)),
        *(pcm(quiet_room, noise(1.0, level, seed=7), quiet_room) for level in (-30, -40, -48)),
        pcm(in_noise),
    )


@pytest.mark.parametrize("lower, higher", list(itertools.pairwise(THRESHOLDS)))
def test_a_higher_threshold_is_never_more_sensitive(lower: float, higher: float) -> None:
    for audio in _threshold_inputs():
        strict = [e for e in run(audio, threshold=higher) if isinstance(e, SpeechStarted)]
        lenient = [e for e in run(audio, threshold=lower) if isinstance(e, SpeechStarted)]
        if strict:
            assert lenient
            assert lenient[0].audio_start_ms <= strict[0].audio_start_ms


def test_reset_drops_a_pending_turn() -> None:
    detector = TurnDetector()
    events = detector.feed(pcm(silence(0.8), speech(0.6)))
    assert [type(e) for e in events] == [SpeechStarted]
    assert detector.speaking
    detector.reset()
    assert not detector.speaking
    assert detector.feed(pcm(silence(1.5))) == []
    # The next turn starts after the reset point, padding or not.
    events = detector.feed(pcm(speech(0.6, seed=1), silence(1.0)))
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped]
    assert abs(events[0].audio_start_ms - (2900 - 300)) <= 40


def test_reset_clamps_the_next_start() -> None:
    detector = TurnDetector(prefix_padding_ms=300)
    detector.feed(pcm(silence(1.0)))
    detector.reset()
    events = detector.feed(pcm(speech(0.6), silence(1.0)))
    assert events[0] == SpeechStarted(audio_start_ms=1000)


@pytest.mark.parametrize(
    "params",
    [
        {"threshold": -0.1},
        {"threshold": 1.5},
        {"prefix_padding_ms": -1},
        {"silence_duration_ms": -5},
    ],
)
def test_bad_parameters_are_refused(params: dict) -> None:
    with pytest.raises(ValueError):
        TurnDetector(**params)
