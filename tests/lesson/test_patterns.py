"""Accept patterns run in time linear in the turn: a scenario's pattern cannot stall the engine,
and every shipped pattern matches as Python's `re` matched it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.cli_runner import tutor
from tests.conformance import assert_server_event
from tests.conftest import SCENARIOS, shipped_ids
from tests.engine.test_exposure import serve_until_listening
from tutor_cli.engine.server import OfflineEngine
from tutor_cli.errors import BadInput
from tutor_cli.lesson.folding import fold
from tutor_cli.lesson.patterns import found
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.realtime import events

CATASTROPHIC = "^(a+)+$"  # Python's re takes seconds on 27 characters, 4x more every 2


def matches(patterns: list[str], text: str) -> bool:
    return any(found(pattern, text) for pattern in patterns)


def re_matches(patterns: list[str], text: str) -> bool:
    """How the tutor matched before: Python's re, on the folded turn and as written."""
    folded = fold(text)
    return any(re.search(p, folded, re.I) or re.search(p, text, re.I) for p in patterns)


@pytest.mark.parametrize("scenario_id", shipped_ids())
def test_shipped_patterns_match_as_they_did(scenario_id: str) -> None:
    scenario = load_scenario(SCENARIOS / f"{scenario_id}.json")
    texts = {scenario.opening}
    for step in scenario.steps:
        texts |= {step.tutor, step.hint, step.model_answer}
    texts |= {item.example for item in scenario.vocabulary}
    texts |= {t.upper() for t in texts} | {fold(t) for t in texts} | {"", "qwerty zxcv"}
    for step in scenario.steps:
        for text in texts:
            assert matches(step.accept, text) == re_matches(step.accept, text), (step.id, text)


def test_matching_is_accent_and_case_tolerant_with_unicode_letters() -> None:
    assert matches([r"\bcuanto\b"], "¿CUÁNTO cuesta?")
    assert matches([r"¿cuánto"], "¿Cuánto cuesta?")
    assert matches([r"\bstrasse\b"], "Die Straße ist lang.")
    assert matches([r"\bcoeur\b"], "J'ai mal au cœur.")
    assert not matches([r"\bal\b"], "Soy alérgico.")  # é is a letter: no word ends after "al"
    assert not matches([r"\bcuanto\b"], "cuantos")


def test_a_long_turn_is_checked_on_its_beginning() -> None:
    assert matches(["^hola"], "hola " + "x" * 1_000_000)
    assert not matches(["adios$"], "x" * 1_000_000 + " adios")


def user_scenario(folder: Path, scenario_id: str, accept: list[str]) -> None:
    data = json.loads((SCENARIOS / "a1_taxi_bogota.json").read_text(encoding="utf-8"))
    data["id"] = scenario_id
    data["steps"][0].update(accept=accept, require=[], reject=[])
    (folder / f"{scenario_id}.json").write_text(json.dumps(data), encoding="utf-8")


async def lesson(url: str, scenario_id: str) -> ClientConnection:
    ws = await connect(f"{url}?scenario={scenario_id}", max_size=None)
    await ws.send(
        json.dumps(events.session_update({"type": "realtime", "output_modalities": ["text"]}))
    )
    await ws.send(json.dumps(events.response_create()))  # the opening
    await reply(ws)
    return ws


async def reply(ws: ClientConnection) -> str:
    """The tutor's next reply, as text, once it is done."""
    said = ""
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert_server_event(event)
        if event["type"] == "response.output_text.done":
            said += event["text"]
        if event["type"] == "response.done":
            return said


async def turn(ws: ClientConnection, text: str) -> None:
    await ws.send(json.dumps(events.user_text(text)))
    await ws.send(json.dumps(events.response_create()))


def test_a_catastrophic_pattern_cannot_stall_another_session(user_scenarios: Path) -> None:
    user_scenario(user_scenarios, "greedy_taxi", [CATASTROPHIC])
    taxi = load_scenario(SCENARIOS / "a1_taxi_bogota.json")
    # A real server in a process of its own: if a match ever blocked it again, this test would
    # see the other session's reply never come, instead of freezing itself.
    env = {k: v for k, v in os.environ.items() if k != "TUTOR_SERVE_TOKEN"}
    server, url = serve_until_listening(env=env)

    async def body() -> None:
        greedy, other = await lesson(url, "greedy_taxi"), await lesson(url, taxi.id)
        # First the turns that would keep a backtracking matcher busy for hours and years...
        await turn(greedy, "a" * 60 + "!")
        await turn(other, taxi.steps[0].model_answer)  # ...then another learner's turn,
        assert (await reply(other)).startswith("¡Qué bien!")  # answered all the same.
        assert "stay with the role-play" in await reply(greedy)  # no match: the task again
        await turn(greedy, "a" * 100_000)
        assert (await reply(greedy)).startswith("¡Qué bien!")
        await greedy.close()
        await other.close()

    try:
        asyncio.run(asyncio.wait_for(body(), 90))
    finally:
        server.kill()
        server.wait(30)


def test_lookaround_works_and_a_pattern_out_of_time_is_not_found(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert matches([r"\bje veux\b(?! bien)"], "Je veux un café.")
    assert not matches([r"\bje veux\b(?! bien)"], "Je veux bien un café.")
    slow = r"(?<!q)(a|aa)+b"  # RE2 cannot run it (lookbehind); backtracking takes ages
    started = time.monotonic()
    assert not found(slow, "a" * 60)
    assert time.monotonic() - started < 5  # the time limit, not the age of the universe
    assert "ran out of time" in caplog.text


def test_a_pattern_that_cannot_be_searched_is_refused_on_load(user_scenarios: Path) -> None:
    user_scenario(user_scenarios, "broken_taxi", [r"(?<=a+)b"])  # no variable lookbehind
    with pytest.raises(BadInput, match=r"broken_taxi.json: field 'steps\[0\].accept'"):
        OfflineEngine(scenario="broken_taxi")
    result = tutor("serve", "--port", "0", "--scenario", "broken_taxi", timeout=30)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "steps[0].accept" in lines[0]
