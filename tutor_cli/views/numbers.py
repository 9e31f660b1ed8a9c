"""Numbers as every view prints them: whole counts with a thousands comma (`19,456`), so a
token count, an event count and an attempt count read the same wherever they appear."""

from __future__ import annotations


def count(number: int) -> str:
    """A whole count: `19,456`."""
    return f"{number:,}"


def count_of(number: int, noun: str) -> str:
    """A count and its noun, plural unless one: `1 bad line`, `1,204 events`."""
    return f"{count(number)} {noun}{'' if number == 1 else 's'}"
