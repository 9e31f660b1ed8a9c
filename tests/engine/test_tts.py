from __future__ import annotations

import threading
import time
from collections.abc import Callable

import espeakng_loader
import numpy as np
import pytest

from tutor_cli.engine import tts
from tutor_cli.engine.tts import (
    FIRST_PIECE_WORDS,
    PIECE_WORDS,
    SpeechUnavailable,
    Synthesizer,
    VoiceTurns,
    espeak_voice,
    pieces,
)
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


LONGEST = (  # the catalogue's longest first sentence (b1_apartment_rome), 31 words
    "Allora, le spese condominiali sono comprese, mentre le bollette di luce, gas e internet si "
    "dividono tra i tre inquilini: di solito sono una cinquantina di euro a testa al mese."
)


def test_speech_is_made_in_short_pieces_clause_by_clause() -> None:
    parts = pieces(LONGEST)
    assert " ".join(p.text for p in parts) == " ".join(LONGEST.split())
    assert parts[0].text == "Allora,"  # the first clause is short: it is the first piece
    assert all(len(p.text.split()) <= PIECE_WORDS for p in parts)
    assert all(p.pause == p.text.endswith((",", ":")) for p in parts[:-1])
    assert not parts[-1].pause  # the end of the text: whoever speaks next decides
    unpunctuated = pieces(" ".join(w.strip(",:.") for w in LONGEST.split()))
    assert len(unpunctuated[0].text.split()) <= FIRST_PIECE_WORDS  # a long first clause is cut
    assert all(len(p.text.split()) <= PIECE_WORDS and not p.pause for p in unpunctuated)


def test_the_opening_piece_of_an_utterance_speaks_before_later_pieces() -> None:
    turns = VoiceTurns()
    order: list[str] = []

    def speak(name: str, opening: bool) -> None:
        with turns.turn(opening=opening):
            order.append(name)

    def waiting_for(count: int) -> None:
        while turns.waiting < count:  # each thread below is queued before the next starts
            time.sleep(0.001)

    with turns.turn(opening=True):  # someone is speaking
        workers = []
        for count, (name, opening) in enumerate(
            [("later 1", False), ("opening 1", True), ("later 2", False), ("opening 2", True)], 1
        ):
            workers.append(threading.Thread(target=speak, args=(name, opening)))
            workers[-1].start()
            waiting_for(count)
    for worker in workers:
        worker.join(10)
    assert order == ["opening 1", "opening 2", "later 1", "later 2"]
    with turns.turn(opening=False):  # and the voice is free again
        assert turns.waiting == 0


def test_pieces_keep_the_clause_pauses() -> None:
    said = seconds(list(Synthesizer().synthesize(LONGEST, "it-IT")))
    run_on = seconds(list(Synthesizer().synthesize(LONGEST.replace(",", ""), "it-IT")))
    # Three commas: espeak pauses at each (over 200 ms at this speed) whether it speaks the
    # sentence whole or clause by clause.
    assert said - run_on > 3 * 0.15
