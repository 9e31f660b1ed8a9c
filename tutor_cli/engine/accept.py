"""Whether a learner turn meets a step: its `accept` patterns, run in time linear in the turn.

Patterns come from scenario files anyone can write, and turns from any client. Python's `re`
backtracks: `^(a+)+$` takes seconds on 27 characters, four times longer with every two more, and
the tutor matches on the engine's event loop, so one such turn would stall every session. RE2
never backtracks, and a turn is looked at up to `MAX_TURN_CHARS` characters, so a match costs at
most a few milliseconds whatever the pattern or the turn.

RE2 runs Python's pattern syntax except lookaround, backreferences and possessive or atomic
groups; the engine refuses a scenario that uses them when it loads it (`check_patterns`), so a
lesson never meets a step it cannot check. RE2's `\\b`, `\\w` and `\\d` know ASCII only; that is
why turns are matched in their folded form (lower case, accents dropped, `ß`, `œ`, `æ`, `ø`
spelt in ASCII), where Latin-script words are ASCII, and patterns written with other letters
(`¿cuánto`) are also matched against the turn as written.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import re2

from tutor_cli.lesson.folding import fold

MAX_TURN_CHARS = 4000  # far beyond a spoken or typed turn; the rest is not looked at

# Letters that have no accent to drop: spelt out, so that `\b` (ASCII in RE2) sees a word.
_SPELT_OUT = str.maketrans(
    {"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th"}
)


class PatternUnsupported(ValueError):
    """A pattern RE2 cannot run (lookaround, a backreference...): the message says why."""


def check_patterns(patterns: Iterable[str]) -> None:
    """Raise PatternUnsupported for the first pattern the engine cannot run in linear time."""
    for pattern in patterns:
        _compiled(pattern)


def matches(patterns: Iterable[str], text: str) -> bool:
    """Whether a learner turn meets a step: any pattern found in the turn, case-insensitively,
    folded or (for patterns with non-ASCII letters) as written."""
    turn = text[:MAX_TURN_CHARS]
    folded = fold(turn).translate(_SPELT_OUT)
    for pattern in patterns:
        compiled = _compiled(pattern)
        if compiled.search(folded) or (not pattern.isascii() and compiled.search(turn)):
            return True
    return False


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re2._Regexp:
    # Python writes the end of the text `\Z`; RE2 writes it `\z`.
    translated = pattern.replace(r"\Z", r"\z")
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # a refused pattern is reported once, as a value
    try:
        return re2.compile(translated, options)
    except re2.error as exc:
        raise PatternUnsupported(
            f"{pattern!r} uses what the offline engine cannot match in linear time "
            f"(lookaround, a backreference, a possessive or atomic group): {exc}"
        ) from None
