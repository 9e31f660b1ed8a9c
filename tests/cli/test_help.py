"""Every command's help, as a person reads it: `-h` works everywhere, arguments are named for
what they are (SCENARIO, LOG), and no option shows Typer's type noise (<str>, <float>, {ID})."""

from __future__ import annotations

import re

import pytest

from tests.cli_runner import tutor

COMMANDS = ["list", "show", "call", "devices", "doctor", "progress", "serve", "replay"]
NOISE = re.compile(r"<(str|int|float|path|text|integer|bool)>|\{[A-Z_]+\}|\b(TEXT|INTEGER|FLOAT)\b")


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_dash_h_is_help_and_help_has_no_type_noise(command: str) -> None:
    args = [command] if command else []
    short, long = tutor(*args, "-h"), tutor(*args, "--help")
    assert short.returncode == 0 and long.returncode == 0, short.stderr
    assert short.stdout == long.stdout and short.stdout.startswith("Usage: tutor")
    assert "-h, --help" in short.stdout
    assert not NOISE.search(short.stdout), NOISE.search(short.stdout)


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("show", "Usage: tutor show [OPTIONS] SCENARIO"),
        ("call", "Usage: tutor call [OPTIONS] [SCENARIO]"),
        ("progress", "Usage: tutor progress [OPTIONS] [SCENARIO]"),
        ("replay", "Usage: tutor replay [OPTIONS] LOG"),
    ],
)
def test_arguments_are_named_for_what_they_are(command: str, usage: str) -> None:
    assert tutor(command, "-h").stdout.splitlines()[0] == usage


def test_a_part_of_an_id_suggests_the_ids_it_is_part_of() -> None:
    result = tutor("call", "taxi", "--headless", "--say", "hola")
    assert result.returncode == 2
    assert result.stderr.strip() == "tutor: unknown scenario 'taxi' (did you mean a1_taxi_bogota?)"
    misspelt = tutor("show", "a1_taxi_bogot")
    assert "did you mean a1_taxi_bogota?" in misspelt.stderr
