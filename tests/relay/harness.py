"""A relay on loopback for tests, the learners that connect to it, and an engine behind it that
records what the relay sends (the "upstream's own log") and can misbehave on cue."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tests.conformance import assert_server_event
from tutor_cli.engine.server import OfflineEngine
from tutor_cli.relay.server import Relay
from tutor_cli.relay.users import UserBook, add_user

Event = dict[str, Any]
KEY = "sk-proj-RELAYSECRETKEY0123456789abcdef"


def learners(folder: Path, *names: str) -> tuple[Path, dict[str, str]]:
    """A users file with these learners, and each one's token."""
    path = folder / "users.toml"
    return path, {name: add_user(path, name) for name in names}


def with_relay(body: Callable[[Relay], Awaitable[None]], **kwargs: Any) -> None:
    """Run `body` with a relay on a free loopback port (offline engine, no pacing)."""

    async def main() -> None:
        options = {"upstream": "offline", "pace": 0.0, "env": {}, **kwargs}
        async with Relay(port=0, **options) as relay:
            await asyncio.wait_for(body(relay), 120)

    asyncio.run(main())


def book(path: Path) -> UserBook:
    return UserBook.load(path)


class Learner:
    """A client on the relay's websocket, checking every event against the OpenAI SDK's types."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[Event] = []

    @classmethod
    async def open(
        cls,
        relay: Relay,
        query: str = "?scenario=a1_taxi_bogota",
        token: str | None = None,
        **kwargs: Any,
    ) -> Learner:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        ws = await connect(f"{relay.url}{query}", additional_headers=headers, **kwargs)
        return cls(ws)

    @property
    def resume_id(self) -> str:
        assert self.ws.response is not None
        return self.ws.response.headers["x-tutor-resume"]

    async def send(self, event: Event | str) -> None:
        await self.ws.send(event if isinstance(event, str) else json.dumps(event))

    async def next(self, timeout: float = 30) -> Event:
        event = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        assert_server_event(event)
        self.seen.append(event)
        return event

    async def until(self, *types: str, timeout: float = 30) -> list[Event]:
        got = []
        while True:
            got.append(await self.next(timeout))
            if got[-1]["type"] in types:
                return got

    async def closed(self, timeout: float = 30) -> tuple[int, str]:
        """Read until the relay closes the socket: its code and reason."""
        with contextlib.suppress(ConnectionClosed):
            while True:
                await self.next(timeout)
        assert self.ws.close_code is not None
        return self.ws.close_code, self.ws.close_reason or ""

    async def close(self) -> None:
        await self.ws.close()


def refused(events: list[Event]) -> list[str]:
    """The messages of the `event_not_allowed` errors among `events`."""
    return [
        e["error"]["message"]
        for e in events
        if e["type"] == "error" and e["error"].get("code") == "event_not_allowed"
    ]


class RecordingUpstream:
    """The relay's engine: an offline engine behind a pass-through that records every event the
    relay sends it and how it connected. On cue it drops the socket (no close frame) after
    passing on an event of a given type, refuses the connections after that, or adds frames of
    its own after the engine's."""

    def __init__(self, engine: OfflineEngine) -> None:
        self.engine = engine
        self.received: list[Event] = []  # the relay's events, over every connection
        self.authorizations: list[str | None] = []
        self.drop_after: str | None = None
        self.refuse_after_drop = False
        self.dropped = 0
        self.extra: Callable[[Event], list[Event | str]] | None = None
        self.url = ""

    def received_types(self) -> list[str]:
        return [e.get("type", "") for e in self.received]

    async def _handler(self, ws: ServerConnection) -> None:
        if self.refuse_after_drop and self.dropped:
            await ws.close(1011, "the engine is down")
            return
        assert ws.request is not None
        self.authorizations.append(ws.request.headers.get("Authorization"))
        query = ws.request.path.partition("?")[2]
        async with connect(f"{self.engine.url}?{query}", max_size=None) as up:

            async def upward() -> None:
                with contextlib.suppress(ConnectionClosed):
                    async for frame in ws:
                        self.received.append(json.loads(frame))
                        await up.send(frame)
                await up.close()  # the relay left: so does the engine's session

            pump = asyncio.create_task(upward())
            try:
                async for frame in up:
                    event = json.loads(frame)
                    await ws.send(frame)
                    for added in self.extra(event) if self.extra else []:
                        await ws.send(added if isinstance(added, str) else json.dumps(added))
                    if event["type"] == self.drop_after:
                        self.drop_after = None
                        self.dropped += 1
                        ws.transport.abort()
                        return
            except ConnectionClosed:
                pass
            finally:
                pump.cancel()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RecordingUpstream]:
        async with serve(self._handler, "127.0.0.1", 0, max_size=None) as server:
            port = server.sockets[0].getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}/v1/realtime"
            yield self


def with_recorded_relay(
    body: Callable[[Relay, RecordingUpstream], Awaitable[None]], **kwargs: Any
) -> None:
    """Run `body` with a relay whose engine is a `RecordingUpstream` (given `KEY` as its key)."""

    async def main() -> None:
        async with (
            OfflineEngine(port=0, pace=kwargs.pop("pace", 0.0)) as engine,
            RecordingUpstream(engine).running() as upstream,
        ):
            env = {"TUTOR_ENGINE_KEY": KEY, **kwargs.pop("env", {})}
            async with Relay(upstream=upstream.url, port=0, env=env, **kwargs) as relay:
                await asyncio.wait_for(body(relay, upstream), 120)

    asyncio.run(main())
