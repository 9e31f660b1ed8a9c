"""The offline engine's voice: espeak-ng speech, streamed as 24 kHz mono PCM16.

espeak-ng comes from the `espeakng-loader` wheel (library and voice data in one package) and is
driven through ctypes: no system binary, no subprocess. Its C API keeps global state and is not
thread-safe, so every call into it happens under one module-level lock; `Synthesizer.synthesize`
may still be called from any worker thread.
"""

from __future__ import annotations

import ctypes
import queue
import threading
from collections.abc import Callable, Generator

import espeakng_loader
import numpy as np
import soxr

from tutor_cli.realtime.events import RATE

_NORMAL_WPM = 175  # espeak-ng's default rate
_MIN_WPM, _MAX_WPM = 80, 450  # the range espeak_SetParameter accepts for espeakRATE

# From espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # report bad data as an error instead of calling exit()
_POS_CHARACTER = 1
_CHARS_UTF8 = 1  # and no espeakSSML: the text is spoken as written, never parsed as markup
_RATE = 1

# int callback(short *wav, int numsamples, espeak_EVENT *events); returning 1 aborts synthesis.
_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _Voice(ctypes.Structure):
    """espeak_VOICE: `languages` is a run of (priority byte, NUL-terminated code) ending in 0."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


class SpeechUnavailable(RuntimeError):
    """espeak-ng could not be loaded or failed to speak."""


class _Espeak:
    """The loaded, initialised library: one per process.

    `speak` runs only under `_lock`; the attributes never change after construction, so they
    may be read without it.
    """

    def __init__(self) -> None:
        try:
            lib = ctypes.CDLL(espeakng_loader.get_library_path())
            data_path = espeakng_loader.get_data_path()
        except (OSError, RuntimeError) as exc:
            raise SpeechUnavailable(f"cannot load espeak-ng from espeakng-loader: {exc}") from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        lib.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(_Voice)]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), _INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise SpeechUnavailable(f"espeak-ng failed to initialise with data in {data_path}")
        self.lib = lib
        self.sample_rate: int = rate
        self.languages = self._list_languages()

    def _list_languages(self) -> frozenset[str]:
        """Every language code some installed voice speaks, lower-cased ("es-419", "en-gb"...)."""
        codes: set[str] = set()
        voices = self.lib.espeak_ListVoices(None)
        index = 0
        while voices[index]:
            cursor = voices[index].contents.languages
            while ctypes.string_at(cursor, 1) != b"\0":
                code = ctypes.string_at(cursor + 1)
                codes.add(code.decode("ascii", "replace").lower())
                cursor += len(code) + 2  # priority byte, code, NUL
            index += 1
        return frozenset(codes)

    def speak(
        self, text: str, language: str, words_per_minute: int, on_audio: Callable[[bytes], bool]
    ) -> None:
        """Synthesise `text`, handing each buffer of 22050 Hz PCM16 to `on_audio` as it is made.

        `on_audio` returns False to abort the rest of the synthesis.
        """
        code = ctypes.create_string_buffer(language.encode())  # outlives the call that reads it
        voice = _Voice(languages=ctypes.addressof(code))
        if self.lib.espeak_SetVoiceByProperties(ctypes.byref(voice)) != 0:
            raise SpeechUnavailable(f"espeak-ng has no voice for {language!r}")
        self.lib.espeak_SetParameter(_RATE, words_per_minute, 0)

        def callback(wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None) -> int:
            if not wav or count <= 0:  # the end-of-text call carries events only
                return 0
            return 0 if on_audio(ctypes.string_at(wav, count * 2)) else 1

        # Kept in a local for the whole espeak_Synth call so ctypes doesn't free the trampoline.
        trampoline = _SynthCallback(callback)
        self.lib.espeak_SetSynthCallback(trampoline)
        encoded = text.encode("utf-8")
        status = self.lib.espeak_Synth(
            encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        if status != 0:
            raise SpeechUnavailable(f"espeak-ng failed to speak (error {status:#x})")


_lock = threading.Lock()
_espeak: _Espeak | None = None


def _library() -> _Espeak:
    """The process's espeak-ng, loaded on first use."""
    global _espeak
    if _espeak is not None:  # no lock needed, and none wanted: a synthesis may be holding it
        return _espeak
    with _lock:
        if _espeak is None:
            _espeak = _Espeak()
        return _espeak


# Spanish spoken anywhere but Spain sounds closer to espeak's Latin-American voice (seseo, no
# vosotros) than to its Castilian one.
_LATIN_AMERICAN_SPANISH = "es-419"


def espeak_voice(language: str) -> str:
    """The espeak-ng language code that best speaks the BCP-47 tag `language`.

    Tries the whole tag, then shorter prefixes ("pt-BR" -> "pt-br", "zh-Hant-TW" -> ... "zh");
    Spanish with a region other than Spain prefers "es-419" before plain "es". Falls back to
    "en" when nothing matches. Loads espeak-ng on first use (SpeechUnavailable if it can't).
    """
    return _best_language(_library().languages, language)


def _best_language(available: frozenset[str], language: str) -> str:
    """`espeak_voice`'s choice among the language codes `available`."""
    subtags = language.replace("_", "-").lower().split("-")
    candidates = ["-".join(subtags[:n]) for n in range(len(subtags), 0, -1)]
    region = next((s for s in subtags[1:] if len(s) == 2 or s.isdigit()), None)
    if subtags[0] == "es" and region not in (None, "es"):
        candidates.insert(-1, _LATIN_AMERICAN_SPANISH)
    return next((code for code in candidates if code in available), "en")


def _words_per_minute(speed: float) -> int:
    """Map the Realtime API's speed (1.0 normal, 0.25-1.5) onto espeak's rate.

    espeak can't go below 80 wpm, so speeds under ~0.46 all sound the same.
    """
    return max(_MIN_WPM, min(_MAX_WPM, round(_NORMAL_WPM * speed)))


class Synthesizer:
    """Speaks text with espeak-ng. Cheap to create: the library loads on the first synthesis."""

    def synthesize(
        self, text: str, language: str, speed: float = 1.0
    ) -> Generator[bytes, None, None]:
        """Yield 24 kHz mono PCM16 little-endian chunks as espeak produces them.

        `language` is a BCP-47 tag (see `espeak_voice`); `speed` follows the Realtime API's
        `audio.output.speed`. espeak runs in a producer thread, so the first chunk comes out as
        soon as espeak has made it, long before the whole text is synthesised. Closing the
        generator early (a cancelled response) aborts the synthesis at espeak's next buffer.
        Raises SpeechUnavailable if espeak-ng can't load or fails.
        """
        espeak = _library()
        voice = _best_language(espeak.languages, language)
        chunks: queue.Queue[bytes | Exception | None] = queue.Queue()
        abandoned = threading.Event()

        def on_audio(pcm: bytes) -> bool:
            chunks.put(pcm)
            return not abandoned.is_set()

        def produce() -> None:
            try:
                with _lock:
                    espeak.speak(text, voice, _words_per_minute(speed), on_audio)
            except Exception as exc:  # handed to the consumer, which raises it
                chunks.put(exc)
            finally:
                chunks.put(None)

        # Daemon: an abandoned synthesis must never keep the interpreter from exiting.
        threading.Thread(target=produce, name="espeak-synth", daemon=True).start()
        # One stream per utterance: its filter state carries across chunk boundaries (no clicks).
        resampler = soxr.ResampleStream(espeak.sample_rate, RATE, 1, dtype="int16")
        try:
            while (item := chunks.get()) is not None:
                if isinstance(item, Exception):
                    raise item
                out = resampler.resample_chunk(np.frombuffer(item, dtype="<i2"))
                if out.size:
                    yield out.astype("<i2", copy=False).tobytes()
            tail = resampler.resample_chunk(np.zeros(0, dtype="<i2"), last=True)
            if tail.size:
                yield tail.astype("<i2", copy=False).tobytes()
        finally:
            abandoned.set()
