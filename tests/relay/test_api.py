"""The relay's HTTP API: health, the catalogue, one scenario without its answer key, and JSON
errors for what is not there."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

from tests.relay.harness import with_relay
from tutor_cli.relay.server import Relay


def get(relay: Relay, path: str) -> tuple[int, Any]:
    """(status, JSON body) of `GET path` on the relay."""
    url = f"http://127.0.0.1:{relay.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.headers["Content-Type"].startswith("application/json")
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        assert error.headers["Content-Type"].startswith("application/json")
        return error.code, json.loads(error.read())


def test_health_and_the_catalogue() -> None:
    async def body(relay: Relay) -> None:
        status, health = await asyncio.to_thread(get, relay, "/api/health")
        assert status == 200 and health["ok"] is True and health["relay"] is True
        status, entries = await asyncio.to_thread(get, relay, "/api/scenarios")
        assert status == 200 and len(entries) == health["scenarios"] >= 10
        taxi = next(entry for entry in entries if entry["id"] == "a1_taxi_bogota")
        assert set(taxi) == {"id", "title", "level", "language", "minutes"}

    with_relay(body)


def test_a_scenario_is_shown_without_its_answer_key() -> None:
    async def body(relay: Relay) -> None:
        status, scenario = await asyncio.to_thread(get, relay, "/api/scenarios/a1_taxi_bogota")
        assert status == 200 and scenario["id"] == "a1_taxi_bogota"
        assert scenario["goals"] and scenario["steps"]
        for step in scenario["steps"]:
            assert step["tutor"] and step["objective"]
            assert not {"accept", "require", "reject", "slot"} & set(step)
        json.dumps(scenario)  # every value is JSON

    with_relay(body)


def test_what_is_not_there_is_a_404_in_json() -> None:
    async def body(relay: Relay) -> None:
        for path in ("/api/scenarios/nope", "/api/scenarios/../users", "/api/nothing"):
            status, answer = await asyncio.to_thread(get, relay, path)
            assert status == 404 and isinstance(answer["error"], str), path

    with_relay(body)
