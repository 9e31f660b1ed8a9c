"""A Realtime engine on loopback whose every move a test writes: the faults a real engine
rarely shows (malformed events, silence, drops, echoed secrets), on a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from websockets.asyncio.server import ServerConnection, serve

from tests.conftest import SCENARIOS
from tutor_cli.call.controller import Call
from tutor_cli.call.headless import from_lines, lesson
from tutor_cli.call.settings import CallSettings
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.storage.eventlog import Record, read_log
from tutor_cli.storage.store import ProgressStore
from tutor_cli.views.console import ConsoleView

Handler = Callable[[ServerConnection], Awaitable[None]]


@contextlib.asynccontextmanager
async def fake_engine(handler: Handler) -> AsyncIterator[str]:
    """Serve `handler` on a free loopback port; yields the URL a call connects to."""
    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime"


async def greet(ws: ServerConnection) -> None:
    await ws.send(json.dumps({"type": "session.created", "session": {"type": "realtime"}}))


def text_reply(response_id: str, item_id: str, *deltas: str) -> list[dict[str, Any]]:
    """A whole text reply: created, its deltas, done, response done (completed)."""
    where = {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0}
    return [
        {"type": "response.created", "response": {"id": response_id}},
        *({"type": "response.output_text.delta", **where, "delta": d} for d in deltas),
        {"type": "response.output_text.done", **where, "text": "".join(deltas)},
        {"type": "response.done", "response": {"id": response_id, "status": "completed"}},
    ]


async def send_all(ws: ServerConnection, events: list[dict[str, Any] | str]) -> None:
    for event in events:
        await ws.send(event if isinstance(event, str) else json.dumps(event))


async def client_events(ws: ServerConnection) -> AsyncIterator[dict[str, Any]]:
    """The client's events, as they come."""
    async for frame in ws:
        yield json.loads(frame)


class Collect:
    """A view that keeps every update and prints it to a string."""

    def __init__(self) -> None:
        self.out = io.StringIO()
        self.console = ConsoleView(
            "Tutor", console=Console(file=self.out, width=200, color_system=None)
        )
        self.updates: list[Any] = []

    def show(self, update: Any) -> None:
        self.updates.append(update)
        self.console.show(update)

    async def ask_quiz(self, quiz: Any) -> list[str]:
        return ["" for _ in quiz.questions]

    @property
    def text(self) -> str:
        return self.out.getvalue()


@dataclass
class Ended:
    """How a call against a fake engine ended: its summary, what the view printed, the log's
    records, and the progress store's row for it."""

    summary: Any
    view: Collect
    log: Path
    records: list[Record]
    row: dict[str, Any]

    def local(self, type_: str) -> list[dict[str, Any]]:
        return [
            r.event
            for r in self.records
            if r.dir == "local" and isinstance(r.event, dict) and r.event.get("type") == type_
        ]

    def sent(self, type_: str) -> list[dict[str, Any]]:
        return [
            r.event
            for r in self.records
            if r.dir == "client" and isinstance(r.event, dict) and r.event.get("type") == type_
        ]


async def run_call(
    url: str,
    turns: list[str],
    env: dict[str, str] | None = None,
    stop_after: float | None = None,
    **settings: Any,
) -> Ended:
    """A text-only headless lesson against `url`, through the one lesson loop; with
    `stop_after`, the learner ends it (as with Ctrl+C) that many seconds in."""
    from collections import deque

    stop = asyncio.Event()
    if stop_after is not None:
        asyncio.get_running_loop().call_later(stop_after, stop.set)

    view = Collect()
    options = {"reply_timeout": 20, "grade_timeout": 3, "reconnect_backoff": 0.05, **settings}
    with ProgressStore.open_default() as store:
        call = Call(
            load_scenario(SCENARIOS / "a1_taxi_bogota.json"),
            CallSettings(engine=url, text_only=True, **options),
            view,
            store=store,
            env=env or {},
        )
        summary = await lesson(call, from_lines(deque(turns)), stop=stop)
        rows = store.sessions()
    assert summary.log_path is not None
    (row,) = [r for r in rows if r["log_path"] == str(summary.log_path)]
    return Ended(summary, view, summary.log_path, list(read_log(summary.log_path)), row)
