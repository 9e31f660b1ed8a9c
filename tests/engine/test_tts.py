from __future__ import annotations

import threading
import time
from collections.abc import Callable

import espeakng_loader
import numpy as np
import pytest

from tutor_cli.engine import tts
from tutor_cli.engine.tts import SpeechUnavailable, Synthesizer, espeak_voice
from tutor_cli.realtime.events import RATE

SENTENCE = "Buenas tardes, señor, ¿me lleva al centro histórico de Bogotá, por favor?"


def samples(chunks: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(chunks), dtype="<i2")


def seconds(chunks: list[bytes]) -> float:
    return len(samples(chunks)) / RATE


def in_thread(work: Callable[[], list[bytes]], timeout: float = 10.0) -> list[bytes]:
    """Run `work` on a worker thread, failing instead of hanging if the lock was never freed."""
    result: list[list[bytes]] = []
    worker = threading.Thread(target=lambda: result.append(work()), daemon=True)
    worker.start()
    worker.join(timeout)
    assert result, "synthesis did not finish: is the espeak lock still held?"
    return result[0]


def test_spanish_is_audible_pcm16_at_24khz() -> None:
    chunks = list(Synthesizer().synthesize(SENTENCE, "es-CO"))
    assert all(len(chunk) % 2 == 0 for chunk in chunks)
    audio = samples(chunks).astype(np.float64)
    assert seconds(chunks) > 0.5
    assert np.sqrt(np.mean(audio**2)) > 500


def test_audio_is_streamed_before_synthesis_ends() -> None:
    started = time.perf_counter()
    first_at = None
    count = 0
    for _chunk in Synthesizer().synthesize(" ".join([SENTENCE] * 30), "es-CO"):
        first_at = first_at or time.perf_counter() - started
        count += 1
    total = time.perf_counter() - started
    assert count > 10
    assert first_at is not None and first_at < total / 5


def test_slower_speed_gives_longer_audio() -> None:
    synthesizer = Synthesizer()
    slow = seconds(list(synthesizer.synthesize(SENTENCE, "es-CO", speed=0.5)))
    fast = seconds(list(synthesizer.synthesize(SENTENCE, "es-CO", speed=1.5)))
    assert slow > 2 * fast


@pytest.mark.parametrize(
    ("tag", "voice"),
    [
        ("es-CO", "es-419"),
        ("es-MX", "es-mx"),  # espeak's own alias for its Latin-American voice
        ("es-ES", "es"),
        ("es", "es"),
        ("pt-BR", "pt-br"),
        ("en-GB", "en-gb"),
        ("fr-FR", "fr-fr"),
        ("de-DE", "de"),
        ("it-IT", "it"),
        ("ja", "ja"),
        ("pt_PT", "pt-pt"),
        ("de-CH", "de"),  # no Swiss voice: the primary language
        ("xx-YY", "en"),  # unknown: English
        ("", "en"),
    ],
)
def test_espeak_voice(tag: str, voice: str) -> None:
    assert espeak_voice(tag) == voice


def test_text_is_not_read_as_ssml() -> None:
    plain = seconds(list(Synthesizer().synthesize("hola", "es")))
    marked_up = seconds(list(Synthesizer().synthesize("<speak>hola</speak>", "es")))
    assert marked_up > plain + 0.3  # the brackets and "speak" are spoken, not obeyed


@pytest.mark.parametrize("abandon", ["close", "drop"])
def test_abandoned_synthesis_stops_and_frees_espeak(abandon: str) -> None:
    synthesizer = Synthesizer()
    # Minutes of speech: if it were not aborted, the next synthesis would wait for all of it.
    stream = synthesizer.synthesize(" ".join([SENTENCE] * 1000), "es-CO")
    assert next(stream)
    if abandon == "close":
        stream.close()
    else:
        del stream
    started = time.perf_counter()
    again = in_thread(lambda: list(synthesizer.synthesize(SENTENCE, "es-CO")))
    assert time.perf_counter() - started < 1.0
    assert seconds(again) > 0.5


def test_concurrent_syntheses_each_get_their_own_audio() -> None:
    synthesizer = Synthesizer()
    texts = {"short": "Hola.", "long": " ".join([SENTENCE] * 3)}
    alone = {name: seconds(list(synthesizer.synthesize(texts[name], "es"))) for name in texts}
    together: dict[str, float] = {}
    barrier = threading.Barrier(len(texts))

    def speak(name: str) -> None:
        barrier.wait()
        together[name] = seconds(list(synthesizer.synthesize(texts[name], "es")))

    workers = [threading.Thread(target=speak, args=(name,)) for name in texts]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    # espeak jitters an utterance's length by up to ~15 ms from run to run; mixed-up audio
    # would be off by seconds.
    assert together == pytest.approx(alone, rel=0.02, abs=0.05)


def test_missing_library_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tts, "_espeak", None)
    monkeypatch.setattr(espeakng_loader, "get_library_path", lambda: "/nonexistent/libespeak.so")
    with pytest.raises(SpeechUnavailable, match="cannot load espeak-ng"):
        next(Synthesizer().synthesize("hola", "es"))
