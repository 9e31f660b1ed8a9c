"""Options more than one command takes, and the choices options offer (Enums, so Typer checks
them and `--help` lists them). Nothing slow is imported here: every command loads this."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}


class Command(TyperCommand):
    """A command whose usage line reads as people write one, `tutor show SCENARIO`, rather than
    with the braces Typer puts round a required argument (`{SCENARIO}`)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces: list[str] = super().collect_usage_pieces(ctx)
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in pieces]


ScenarioDirs = Annotated[
    list[Path] | None,
    typer.Option(
        "--scenarios",
        help="A folder of extra scenario files to add to the catalogue (repeatable).",
        metavar="DIR",
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class MicSpeed(StrEnum):
    """How a `--mic-file` is streamed."""

    realtime = "realtime"  # like a person, so turn-taking behaves as in a call
    fast = "fast"
