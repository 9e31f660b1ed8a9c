"""Options more than one command takes, and the choices options offer (Enums, so Typer checks
them and `--help` lists them). Nothing slow is imported here: every command loads this."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

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
