"""Shared by the call-screen tests: scenario loading, waiting, reading what is drawn."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget

from tests.conftest import SCENARIOS
from tutor_cli.call.settings import CallSettings
from tutor_cli.lesson.scenario import Scenario, load_scenario

OFFLINE = CallSettings(engine="offline", text_only=True, pace=0, grade_timeout=10)


def taxi() -> Scenario:
    return load_scenario(SCENARIOS / "a1_taxi_bogota.json")


async def until(
    pilot: Pilot, condition: Callable[[], object], what: str, timeout: float = 15.0
) -> None:
    """Let the app run until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def drawn(widget: Widget) -> str:
    """What a widget draws right now (border and padding included), as the terminal gets it."""
    width, height = widget.outer_size
    return "\n".join(
        strip.text.rstrip() for strip in widget.render_lines(Region(0, 0, width, height))
    )
