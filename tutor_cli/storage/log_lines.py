"""An event log's lines, read so that no file can make a reader fail or run out of memory.

A log is read as bytes, a line at a time, and each line is capped: a line over the cap (a
gigabyte of base64, a run of zeros with no newline) is read past in chunks and never held, so a
reader's memory is bounded by the cap whatever the file. A line that is kept is parsed to plain
values or rejected with a reason (`BadLine`): not JSON, nested too deeply for the code that walks
events, or a number nothing downstream can use (NaN, Infinity, a float that overflows, an
integer past the range a double holds exactly). The reader counts such lines; it never stops on
them unless asked to.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

MIB = 1 << 20
# A line holds one event. Events are far smaller than the 16 MiB frame limit REALTIME.md sets
# for a call's socket; the record around one adds a few bytes, so 17 MiB keeps every real line.
MAX_LINE_BYTES = 17 * MIB
SKIP_CHUNK = MIB  # how much of an over-long line is read at a time while skipping it
# Real events nest a handful of levels (a response's output, content parts, usage details);
# the cap keeps recursive code that walks events (printing, dumping) far from Python's limit.
MAX_DEPTH = 64
# I-JSON (RFC 7493): numbers beyond 2**53 are not exact in a double, and no Realtime field
# comes near it; larger ones (1e300, or an integer of 5000 digits) only overflow later.
LARGEST_NUMBER = 2**53 - 1
DIGITS = len(str(LARGEST_NUMBER))


class BadLine(ValueError):
    """Why a line of a log holds no record: the message names the problem, not the line."""


def size_text(size: int) -> str:
    """A byte count as a person reads it: whole MiB, else bytes."""
    return f"{size // MIB} MiB" if size % MIB == 0 else f"{size} bytes"


def capped_lines(stream: IO[bytes], max_bytes: int = MAX_LINE_BYTES) -> Iterator[bytes | None]:
    """The stream's lines as read (newline included: JSON ignores it, and cutting it off would
    copy the line), one at a time; None for a line longer than `max_bytes` without its
    newline, which is read past a chunk at a time and never held whole."""
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        if line.endswith(b"\n") or len(line) <= max_bytes:
            yield line  # without a newline: the last line (often cut short)
            continue
        line = b""  # let the cap's worth go before reading on
        while (rest := stream.readline(SKIP_CHUNK)) and not rest.endswith(b"\n"):
            pass
        yield None


def _constant(name: str) -> Any:
    raise BadLine(f"{name} is not a number")


def _float(text: str) -> float:
    value = float(text)
    if abs(value) > LARGEST_NUMBER:  # inf included: a JSON number too big for a double
        raise BadLine(f"number {_shortened(text)} is out of range")
    return value


def _int(text: str) -> int:
    # Checked on the digits first: int() of a few thousand digits raises ValueError itself,
    # and of a few million takes seconds.
    if len(text) >= DIGITS and (len(text) > DIGITS + 1 or abs(int(text)) > LARGEST_NUMBER):
        raise BadLine(f"number {_shortened(text)} is out of range")
    return int(text)


def _shortened(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:12]}…({len(text)} characters)"


_DECODER = json.JSONDecoder(parse_float=_float, parse_int=_int, parse_constant=_constant)


def _too_deep(value: Any, limit: int) -> bool:
    """Whether `value` nests lists and objects more than `limit` deep (walked without
    recursion, so the walk itself cannot overflow)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def parse_line(line: bytes) -> Any:
    """The JSON value of one line (invalid UTF-8 replaced), or `BadLine` saying why it has
    none that a reader can use."""
    text = line.decode("utf-8", errors="replace")
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise BadLine(f"not JSON ({exc.msg})") from None
    except RecursionError:
        raise BadLine(f"nested more than {MAX_DEPTH} levels deep") from None
    # Counting brackets is quick and over-counts (strings may hold some): only a line with
    # many can nest deeply, and only such a line is walked.
    brackets = text.count("[") + text.count("{")
    if brackets > MAX_DEPTH and isinstance(value, dict | list) and _too_deep(value, MAX_DEPTH):
        raise BadLine(f"nested more than {MAX_DEPTH} levels deep")
    return value
