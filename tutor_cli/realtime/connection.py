"""The Realtime websocket, kept up: connect, deliver frames, reconnect.

`Connection.run` connects with a timeout, hands every frame to the Call (and the event log),
and reconnects with backoff after an abnormal close, a bounded number of times; the Call
restores the session on each new socket.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

from tutor_cli.lesson.updates import ConnectionState
from tutor_cli.realtime.endpoint import Endpoint
from tutor_cli.storage.eventlog import Direction, EventLogWriter
from tutor_cli.storage.local_records import ConnectionNote

# Going-away (incl. the 60-minute session limit), abnormal closure, server error, restart,
# try again later: the conversation can go on on a new socket.
RECONNECT_CODES = frozenset({1001, 1006, 1011, 1012, 1013})


class ConnectionFailed(Exception):
    """The engine could not be reached, or was lost for good."""


OnOpen = Callable[[bool], Awaitable[None]]  # argument: whether this is a reconnect
OnEvent = Callable[[dict[str, Any]], Awaitable[None]]
OnState = Callable[[ConnectionState], None]


class Connection:
    """One logical connection to a Realtime engine, over as many sockets as it takes."""

    def __init__(
        self,
        endpoint: Endpoint,
        log: EventLogWriter | None,
        *,
        connect_timeout: float = 10.0,
        retries: int = 5,
        backoff: float = 0.5,
        on_frame: Callable[[str, dict[str, Any] | str], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.log = log
        self.on_frame = on_frame  # sees every frame both ways, as the log does (the event pane)
        self.connect_timeout = connect_timeout
        self.retries = retries
        self.backoff = backoff
        self._socket: Any = None
        self._closing = False

    @property
    def connected(self) -> bool:
        return self._socket is not None

    async def send(self, event: dict[str, Any]) -> bool:
        """Send one client event (and log it). Returns False if there is no socket right now:
        the Call re-creates what matters after a reconnect."""
        from websockets.exceptions import ConnectionClosed

        if self._socket is None:
            self._note("not sent (no connection)", event.get("type"))
            return False
        self._record("client", event)
        try:
            await self._socket.send(json.dumps(event, ensure_ascii=False))
        except ConnectionClosed:
            return False
        return True

    async def close(self) -> None:
        """End the connection on purpose: no reconnect."""
        self._closing = True
        if self._socket is not None:
            await self._socket.close()

    def _record(self, direction: Direction, event: dict[str, Any] | str) -> None:
        if self.log:
            self.log.write(direction, event)
        if self.on_frame:
            self.on_frame(direction, event)

    def _note(self, text: str, detail: Any = None) -> None:
        if self.log:
            self.log.note(ConnectionNote(text, detail))

    async def _open(self) -> Any:
        from websockets.asyncio.client import connect

        return await asyncio.wait_for(
            connect(
                self.endpoint.url,
                additional_headers=self.endpoint.headers,
                max_size=None,
                open_timeout=self.connect_timeout,
                user_agent_header="tutor",
            ),
            self.connect_timeout + 1,
        )

    async def run(self, on_open: OnOpen, on_event: OnEvent, on_state: OnState) -> None:
        """Connect, deliver frames until a normal close, reconnect after abnormal ones.

        Raises ConnectionFailed when the first connection fails or the retries run out.
        """
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

        attempt, ever_connected = 0, False
        while not self._closing:
            if not ever_connected:
                on_state(ConnectionState("connecting"))
            try:
                self._socket = await self._open()
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                reason = _describe(exc)
                attempt += 1
                if not ever_connected or attempt > self.retries:
                    on_state(ConnectionState("failed", reason))
                    raise ConnectionFailed(
                        f"cannot reach {self.endpoint.describe()}: {reason}"
                    ) from None
                self._note(f"reconnect attempt {attempt} failed", reason)
                await asyncio.sleep(self._delay(attempt))
                continue
            reconnect = ever_connected
            ever_connected, attempt = True, 0
            on_state(ConnectionState("connected", self.endpoint.describe()))
            self._note("connected", self.endpoint.describe())
            code, reason = 1000, ""
            try:
                await on_open(reconnect)
                async for frame in self._socket:
                    await self._deliver(frame, on_event)
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else 1006
                reason = exc.rcvd.reason if exc.rcvd else "no close frame"
            else:
                close = self._socket.close_code
                code, reason = close if close is not None else 1000, self._socket.close_reason or ""
            finally:
                self._socket = None
            self._note("closed", {"code": code, "reason": reason})
            if self._closing or code not in RECONNECT_CODES:
                break
            attempt += 1
            if attempt > self.retries:
                on_state(ConnectionState("failed", f"closed with {code} {reason}".strip()))
                raise ConnectionFailed(f"the engine connection was lost ({code} {reason})".strip())
            on_state(ConnectionState("reconnecting", f"closed with {code} {reason}".strip()))
            await asyncio.sleep(self._delay(attempt))
        on_state(ConnectionState("closed"))

    def _delay(self, attempt: int) -> float:
        delay: float = min(8.0, self.backoff * 2 ** (attempt - 1))
        return delay * random.uniform(0.8, 1.2)

    async def _deliver(self, frame: str | bytes, on_event: OnEvent) -> None:
        if isinstance(frame, bytes):
            self._record("local", f"<binary frame, {len(frame)} bytes>")
            return
        try:
            event = json.loads(frame)
        except json.JSONDecodeError:
            event = None
        if not isinstance(event, dict):
            self._record("local", frame)
            await on_event({"type": "tutor.non_json_frame", "text": frame[:200]})
            return
        self._record("server", event)
        await on_event(event)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status is not None:
        return f"HTTP {status}" + (" (check the API key)" if status in (401, 403) else "")
    text = str(exc).strip()
    return text or type(exc).__name__
