"""Where a step's patterns are found in a learner's turn, without letting a pattern stall the
engine.

Patterns come from scenario files anyone can write, and turns from any client. Python's `re`
backtracks: `^(a+)+$` takes seconds on 27 characters, four times longer with every two more, and
the offline tutor judges turns on the engine's event loop, so one such turn would stall every
session. So a pattern runs on RE2, which never backtracks: a search costs time linear in the
turn, and a turn is looked at up to `MAX_TURN_CHARS` characters. RE2 has no lookaround or
backreferences, and a good lesson needs a few ("je veux" but not "je veux bien"); a pattern
that uses them runs on the `regex` module instead, whose searches are given `SEARCH_TIMEOUT`
seconds: one that runs out counts as not found, and is logged.

RE2's `\\b`, `\\w` and `\\d` know ASCII only; that is why turns are searched in their folded
form (lower case, accents dropped, `ß`, `œ`, `æ`, `ø` spelt in ASCII), where Latin-script words
are ASCII, and also as written (for patterns with other letters, or case-sensitive parts such
as a capitalised name).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import re2

from tutor_cli.lesson.folding import fold

logger = logging.getLogger(__name__)

MAX_TURN_CHARS = 4000  # far beyond a spoken or typed turn; the rest is not looked at
SEARCH_TIMEOUT = 0.05  # seconds, for a pattern RE2 cannot run

Search = Callable[[str], bool]

# Letters that have no accent to drop: spelt out, so that `\b` (ASCII in RE2) sees a word.
_SPELT_OUT = str.maketrans(
    {"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th"}
)


def check_pattern(pattern: str) -> None:
    """Raise ValueError, saying why, for a pattern that cannot be searched."""
    _compiled(pattern)


def found(pattern: str, text: str) -> bool:
    """Whether `pattern` is found in the turn `text`, folded or as written, case-insensitively
    (unless the pattern itself says otherwise, as `(?-i:...)` does)."""
    turn = text[:MAX_TURN_CHARS]
    search, as_written = _compiled(pattern)
    return search(fold(turn).translate(_SPELT_OUT)) or (as_written and search(turn))


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> tuple[Search, bool]:
    """The search for a pattern, and whether it also looks at the turn as written: a pattern
    with letters beyond ASCII (`¿cuánto`), or one run by `regex`, whose `\\b` knows them; in
    RE2 an accented letter would end an ASCII word ("al" in "alérgico")."""
    # Python writes the end of the text `\Z`; RE2 writes it `\z`.
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # a pattern RE2 refuses goes to `regex`, said nowhere
    try:
        linear = re2.compile(pattern.replace(r"\Z", r"\z"), options)
    except re2.error:
        return _bounded(pattern), True
    return (lambda turn: linear.search(turn) is not None), not pattern.isascii()


def _bounded(pattern: str) -> Search:
    """A pattern with lookaround or a backreference: searched with a time limit."""
    # Imported for the few patterns that need it: most lessons never do, and it takes longer
    # to load than RE2.
    import regex

    try:
        compiled = regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)
    except regex.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None

    def search(turn: str) -> bool:
        try:
            return compiled.search(turn, timeout=SEARCH_TIMEOUT, concurrent=True) is not None
        except TimeoutError:
            logger.warning("pattern %r ran out of time on a turn: taken as not found", pattern)
            return False

    return search
