"""The built-in offline engine, started for one call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tutor_cli.call.settings import CallSettings
from tutor_cli.lesson.scenario import Scenario
from tutor_cli.realtime.endpoint import Endpoint

if TYPE_CHECKING:
    from tutor_cli.engine.server import OfflineEngine


async def start_offline_engine(
    settings: CallSettings, scenario: Scenario
) -> tuple[OfflineEngine, Endpoint]:
    """An offline engine on a free loopback port, and where the call connects to it."""
    from tutor_cli.engine.server import OfflineEngine  # the engine's imports are slow

    engine = OfflineEngine(port=0, scenario_dirs=settings.scenario_dirs, pace=settings.pace)
    await engine.start()
    url = f"{engine.url}?model=offline&scenario={scenario.id}"
    return engine, Endpoint("offline", url, "offline")
