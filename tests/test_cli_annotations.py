"""Typer reads every command's signature at each start: the command modules keep their
annotations as objects, since each one written as a string costs a compile and an eval there."""

from __future__ import annotations

import inspect

import pytest
from typer.models import CommandInfo

from tutor_cli.cli import app


@pytest.mark.parametrize("command", app.registered_commands, ids=lambda c: c.callback.__name__)
def test_command_annotations_are_objects(command: CommandInfo) -> None:
    callback = command.callback
    assert callback is not None
    annotations = inspect.get_annotations(callback)
    strings = [name for name, hint in annotations.items() if isinstance(hint, str)]
    assert not strings, f"{callback.__module__}.{callback.__name__}: {strings} are strings"
