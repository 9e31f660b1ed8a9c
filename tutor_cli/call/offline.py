"""The built-in offline engine, for one call: run in the call's process, joined in memory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tutor_cli.call.settings import CallSettings
from tutor_cli.lesson.scenario import Scenario
from tutor_cli.realtime.endpoint import Endpoint

if TYPE_CHECKING:
    from tutor_cli.engine.in_process import InProcessEngine

NOTICE = "offline engine, in this process (no API key needed)"


def built_in_engine(settings: CallSettings, scenario: Scenario) -> tuple[InProcessEngine, Endpoint]:
    """The engine, opening a session for each socket the call asks for, and the endpoint the
    call records it as (it has no URL: nothing is routed)."""
    from tutor_cli.engine.in_process import InProcessEngine  # the engine's imports are slow

    engine = InProcessEngine(scenario, model="offline", pace=settings.pace)
    return engine, Endpoint("offline", "", "offline")
