"""A call on the built-in engine runs it in its own process, joined in memory: no websocket
code is loaded, the learner is told where the engine runs, and an engine that keeps failing
ends the call as a lost engine does, in one line, with the log and the progress row closed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.call.fake_engine import run_call
from tests.call.test_faults import closed_properly
from tests.cli_runner import tutor
from tutor_cli.engine.responder import Responder
from tutor_cli.lesson.updates import ConnectionState

HANG = 60
IN_PROCESS = "offline engine, in this process (no API key needed)"


def test_a_headless_offline_call_loads_no_websocket_code(tutor_home: Path) -> None:
    result = tutor(
        "call",
        "a1_taxi_bogota",
        "--headless",
        "--text-only",
        "--say",
        "Buenas tardes.",
        env={
            "PYTHONPROFILEIMPORTTIME": "1",  # as -X importtime: every module, as it loads
            "PYTHONWARNINGS": "error",
            "OPENAI_API_KEY": None,
            "TUTOR_ENGINE": None,
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert IN_PROCESS in result.stdout
    imports = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    loaded = {line.rsplit("|", 1)[-1].strip() for line in imports}
    assert "tutor_cli.engine.in_process" in loaded  # the trace is complete
    assert not [name for name in loaded if name.split(".")[0] == "websockets"]
    assert "tutor_cli.engine.server" not in loaded
    others = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    assert not [line for line in others if "Task was destroyed" in line or "Exception" in line]


def test_an_engine_that_keeps_failing_ends_the_call_as_lost(
    tutor_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = 0

    async def broken(self: Responder, frame: str | bytes) -> None:
        nonlocal sessions
        sessions += 1
        raise RuntimeError("the engine tripped")

    monkeypatch.setattr(Responder, "receive", broken)
    ended = asyncio.run(asyncio.wait_for(run_call("offline", ["Hola"]), HANG))
    assert sessions == 6  # the first session and five reconnects: no more
    assert ended.summary.failure is not None and "engine lost" in ended.summary.failure
    assert "1011" in ended.summary.failure
    states = [u for u in ended.view.updates if isinstance(u, ConnectionState)]
    assert states[-1].state == "failed"
    assert "in this process" in ended.view.text
    closed_properly(ended)
