"""The offline engine's voice: espeak-ng speech, streamed as 24 kHz mono PCM16.

espeak-ng comes from the `espeakng-loader` wheel (library and voice data in one package) and is
driven through ctypes: no system binary, no subprocess. Its C API keeps global state and is not
thread-safe, so one utterance speaks at a time. Held for a whole sentence, the voice made the
fiftieth of fifty sessions wait for forty-nine sentences before its first sound; so an utterance
is spoken in pieces (a clause, or a few words of a long one) and the voice is handed over between
pieces, the first piece of an utterance going ahead of every later piece (`VoiceTurns`). Each
utterance has one resampler stream across its pieces, and a piece that ends a clause keeps the
pause espeak makes there, so pieces join as the whole sentence would.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import heapq
import itertools
import queue
import re
import threading
from collections.abc import AsyncGenerator, Callable, Generator, Iterator

import espeakng_loader
import numpy as np
import soxr

from tutor_cli.datatypes import datatype
from tutor_cli.realtime.events import RATE

_NORMAL_WPM = 175  # espeak-ng's default rate
_MIN_WPM, _MAX_WPM = 80, 450  # the range espeak_SetParameter accepts for espeakRATE

# From espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # report bad data as an error instead of calling exit()
_POS_CHARACTER = 1
_CHARS_UTF8 = 1  # and no espeakSSML: the text is spoken as written, never parsed as markup
_END_PAUSE = 0x1000  # espeakENDPAUSE: the pause of the text's last clause, which is otherwise cut
_RATE = 1

# How long one utterance holds the voice: ~1 ms a word. The first piece is kept shortest, since
# every waiting utterance's first piece goes before it; a longer clause is cut into near-equal runs.
FIRST_PIECE_WORDS = 4
PIECE_WORDS = 10
_CLAUSE_MARKS = (",", ";", ":", ".", "!", "?", "…", "\u2014", "\u2013")  # em and en dashes
_CLAUSE_END = re.compile(r"(?<=[,;:.!?…\u2014\u2013])\s+")

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

    `speak` runs only in a turn of `_turns`; the other attributes never change after
    construction, so they may be read without one.
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
        self._voice: str | None = None  # the voice espeak has loaded, so a piece can skip it

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
        self,
        text: str,
        language: str,
        words_per_minute: int,
        on_audio: Callable[[bytes], bool],
        *,
        end_pause: bool = False,
    ) -> None:
        """Synthesise `text`, handing each buffer of 22050 Hz PCM16 to `on_audio` as it is made.

        `on_audio` returns False to abort the rest of the synthesis. `end_pause`: end with the
        pause of the text's last clause (a piece cut at a comma), which is otherwise left out.
        """
        if language != self._voice:
            self._voice = None
            code = ctypes.create_string_buffer(language.encode())  # outlives the call reading it
            voice = _Voice(languages=ctypes.addressof(code))
            if self.lib.espeak_SetVoiceByProperties(ctypes.byref(voice)) != 0:
                raise SpeechUnavailable(f"espeak-ng has no voice for {language!r}")
            self._voice = language
        self.lib.espeak_SetParameter(_RATE, words_per_minute, 0)

        def callback(wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None) -> int:
            if not wav or count <= 0:  # the end-of-text call carries events only
                return 0
            return 0 if on_audio(ctypes.string_at(wav, count * 2)) else 1

        # Kept in a local for the whole espeak_Synth call so ctypes doesn't free the trampoline.
        trampoline = _SynthCallback(callback)
        self.lib.espeak_SetSynthCallback(trampoline)
        encoded = text.encode("utf-8")
        flags = _CHARS_UTF8 | (_END_PAUSE if end_pause else 0)
        status = self.lib.espeak_Synth(
            encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, flags, None, None
        )
        if status != 0:
            raise SpeechUnavailable(f"espeak-ng failed to speak (error {status:#x})")


class VoiceTurns:
    """Whose piece espeak-ng speaks next: the first piece of an utterance before any later
    piece, and otherwise first come, first served. A reply's first words so wait for one
    piece in progress and the first pieces asked for before them, never for whole sentences."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._speaking = False
        self._queue: list[tuple[int, int, threading.Event]] = []  # (later?, ticket, wake-up)
        self._tickets = itertools.count()

    @contextlib.contextmanager
    def turn(self, *, opening: bool) -> Iterator[None]:
        """Hold the voice for one piece (`opening`: the first of its utterance)."""
        with self._mutex:
            wake = None
            if self._speaking:
                wake = threading.Event()
                heapq.heappush(self._queue, (0 if opening else 1, next(self._tickets), wake))
            self._speaking = True
        if wake is not None:
            wake.wait()  # handed over by the piece before, still marked as speaking
        try:
            yield
        finally:
            with self._mutex:
                if self._queue:
                    heapq.heappop(self._queue)[2].set()
                else:
                    self._speaking = False

    @property
    def waiting(self) -> int:
        """How many pieces are waiting for the voice."""
        with self._mutex:
            return len(self._queue)


_turns = VoiceTurns()
_loading = threading.Lock()
_espeak: _Espeak | None = None


def _library() -> _Espeak:
    """The process's espeak-ng, loaded on first use."""
    global _espeak
    if _espeak is not None:
        return _espeak
    with _loading:
        if _espeak is None:
            _espeak = _Espeak()
        return _espeak


@datatype
class Piece:
    """Part of an utterance spoken in one turn of the voice."""

    text: str
    pause: bool  # it ends a clause, not the utterance: keep the clause's pause


def pieces(
    text: str, first_words: int = FIRST_PIECE_WORDS, words: int = PIECE_WORDS
) -> list[Piece]:
    """`text` cut for speaking: clause by clause, a clause longer than `words` words in near-equal
    runs, and the first piece at most `first_words` words."""
    runs: list[list[str]] = []
    for clause in _CLAUSE_END.split(text.strip()):
        tokens = clause.split()
        if not runs and len(tokens) > first_words:
            runs.append(tokens[:first_words])
            tokens = tokens[first_words:]
        count = -(-len(tokens) // words)  # runs of at most `words`, as even as can be
        runs += [
            tokens[i * len(tokens) // count : (i + 1) * len(tokens) // count] for i in range(count)
        ]
    cut = [" ".join(run) for run in runs if run]
    last = len(cut) - 1
    return [Piece(c, pause=i < last and c.endswith(_CLAUSE_MARKS)) for i, c in enumerate(cut)]


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


class _Utterance:
    """One text spoken piece by piece in a thread of its own, its audio handed to `deliver` as
    24 kHz PCM16 chunks (then None, or the exception that stopped it)."""

    def __init__(
        self, text: str, language: str, speed: float, deliver: Callable[[_Chunk], None]
    ) -> None:
        self._parts = pieces(text)
        self._language, self._speed = language, speed
        self._deliver = deliver
        self._abandoned = threading.Event()

    def start(self) -> None:
        # Daemon: an abandoned synthesis must never keep the interpreter from exiting.
        threading.Thread(target=self._speak, name="espeak-synth", daemon=True).start()

    def abandon(self) -> None:
        """Stop at espeak's next buffer; nothing more is delivered."""
        self._abandoned.set()

    def _speak(self) -> None:
        try:
            espeak = _library()
            voice = _best_language(espeak.languages, self._language)
            rate = _words_per_minute(self._speed)
            # One stream for the whole utterance: its filter state carries across chunk and
            # piece boundaries (no clicks).
            resampler = soxr.ResampleStream(espeak.sample_rate, RATE, 1, dtype="int16")
            made: list[bytes] = []

            def on_audio(pcm: bytes) -> bool:
                made.append(pcm)
                return not self._abandoned.is_set()

            for index, piece in enumerate(self._parts):
                made.clear()
                with _turns.turn(opening=index == 0):
                    if self._abandoned.is_set():
                        return
                    espeak.speak(piece.text, voice, rate, on_audio, end_pause=piece.pause)
                # Resampled after the turn: the next utterance's piece need not wait for it.
                pcm = np.frombuffer(b"".join(made), dtype="<i2")
                last = index == len(self._parts) - 1
                self._hand_over(resampler.resample_chunk(pcm, last=last))
        except Exception as exc:  # handed to the consumer, which raises it
            self._deliver(exc)
        finally:
            self._deliver(None)

    def _hand_over(self, samples: np.ndarray) -> None:
        if samples.size and not self._abandoned.is_set():
            self._deliver(samples.astype("<i2", copy=False).tobytes())


_Chunk = bytes | Exception | None


class Synthesizer:
    """Speaks text with espeak-ng. Cheap to create: the library loads on the first synthesis."""

    def synthesize(
        self, text: str, language: str, speed: float = 1.0
    ) -> Generator[bytes, None, None]:
        """Yield 24 kHz mono PCM16 little-endian chunks as espeak produces them.

        `language` is a BCP-47 tag (see `espeak_voice`); `speed` follows the Realtime API's
        `audio.output.speed`. espeak runs in a producer thread, so the first chunk (the first
        piece's audio) comes out long before the whole text is synthesised. Closing the
        generator early (a cancelled response) aborts the synthesis at espeak's next buffer.
        Raises SpeechUnavailable if espeak-ng can't load or fails.
        """
        chunks: queue.Queue[_Chunk] = queue.Queue()
        utterance = _Utterance(text, language, speed, chunks.put)
        utterance.start()
        try:
            while (item := chunks.get()) is not None:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            utterance.abandon()

    async def stream(
        self, text: str, language: str, speed: float = 1.0
    ) -> AsyncGenerator[bytes, None]:
        """`synthesize` for an event loop: each chunk reaches the loop as soon as it is made,
        and waiting for it holds no worker thread (fifty sessions would exhaust the pool)."""
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[_Chunk] = asyncio.Queue()

        def deliver(item: _Chunk) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
                loop.call_soon_threadsafe(chunks.put_nowait, item)

        utterance = _Utterance(text, language, speed, deliver)
        utterance.start()
        try:
            while (item := await chunks.get()) is not None:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            utterance.abandon()
