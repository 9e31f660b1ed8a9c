"""Offline speech recognition, where a recogniser for the language ships on PyPI.

Only US English does (pocketsphinx, the optional `english` extra), so only English scenarios
get transcripts offline; for every other language the engine reports the transcription as
failed and the spoken turn counts as an attempt.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from tutor_cli.realtime.events import RATE

_lock = threading.Lock()  # one decoder, used by one utterance at a time


@functools.cache
def _decoder() -> Any | None:
    try:
        from pocketsphinx import Decoder
    except ImportError:
        return None
    return Decoder(samprate=16000, logfn="/dev/null")


def can_transcribe(language: str) -> bool:
    """Whether spoken turns in `language` (BCP-47) can be transcribed offline here."""
    return language.split("-")[0].lower() == "en" and _decoder() is not None


def transcribe(pcm24k: bytes) -> str:
    """The words in 24 kHz mono PCM16 speech (blocking: run it in a worker thread)."""
    decoder = _decoder()
    if decoder is None:
        raise RuntimeError("pocketsphinx is not installed (install the 'english' extra)")
    # Here, not at the top: the engine imports this module, and a text-only session must not
    # load numpy for speech it never hears.
    import numpy as np
    import soxr

    samples = np.frombuffer(pcm24k[: len(pcm24k) // 2 * 2], dtype="<i2")
    audio = soxr.resample(samples, RATE, 16000).astype("<i2").tobytes()
    with _lock:
        decoder.start_utt()
        decoder.process_raw(audio, full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
    return hypothesis.hypstr if hypothesis else ""
