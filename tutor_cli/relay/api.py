"""The relay's HTTP API, on the same port as its websockets: what a web page or a script needs
before it connects.

- `GET /api/health`: `{"ok": true, "relay": true, "scenarios": N, "sessions": N, "upstream"}`
- `GET /api/scenarios`: the catalogue: id, title, level, language, minutes
- `GET /api/scenarios/{id}`: one scenario without what judges the learner's answers (each
  step's `accept`, `require`, `reject` and `slot`): a learner should not read the answer key
- anything else under `/api/`: 404, as JSON

It holds nothing personal, so it asks for no token; a page from an allowed origin may read it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Response

from tutor_cli.errors import BadInput
from tutor_cli.lesson.catalogue import SCENARIO_ID, Catalogue
from tutor_cli.lesson.scenario import Scenario

log = logging.getLogger("tutor.relay")
ANSWER_KEY = ("accept", "require", "reject", "slot")


def json_response(
    connection: ServerConnection, status: HTTPStatus, body: Any, origin: str | None
) -> Response:
    """`body` as JSON; a page from `origin` (allowed already) may read it."""
    response = connection.respond(status, json.dumps(body, ensure_ascii=False))
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


def without_answer_key(scenario: Scenario) -> dict[str, Any]:
    """A scenario as a learner may see it."""
    data = scenario.as_json()
    for step in data["steps"]:
        for field in ANSWER_KEY:
            step.pop(field, None)
    return data


def answer(
    connection: ServerConnection,
    path: str,
    *,
    catalogue: Catalogue,
    scenario: Callable[[str], Scenario],
    health: dict[str, Any],
    origin: str | None,
) -> Response:
    """The response to `GET path` (a path under `/api`)."""

    def reply(status: HTTPStatus, body: Any) -> Response:
        return json_response(connection, status, body, origin)

    if path == "/api/health":
        return reply(HTTPStatus.OK, {"ok": True, "relay": True, **health})
    if path == "/api/scenarios":
        entries = [
            {
                "id": entry.id,
                "title": entry.title,
                "level": entry.level,
                "language": entry.language,
                "minutes": entry.estimated_minutes,
            }
            for entry in catalogue
        ]
        return reply(HTTPStatus.OK, entries)
    prefix = "/api/scenarios/"
    if path.startswith(prefix):
        scenario_id = path.removeprefix(prefix)
        if not SCENARIO_ID.fullmatch(scenario_id) or scenario_id not in {e.id for e in catalogue}:
            return reply(HTTPStatus.NOT_FOUND, {"error": f"unknown scenario {scenario_id!r}"})
        try:
            return reply(HTTPStatus.OK, without_answer_key(scenario(scenario_id)))
        except BadInput as exc:
            log.warning("scenario %s cannot be used: %s", scenario_id, exc)
            problem = f"scenario {scenario_id!r} cannot be used on this relay"
            return reply(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": problem})
    return reply(HTTPStatus.NOT_FOUND, {"error": f"no such API path: {path}"})
