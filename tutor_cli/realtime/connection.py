"""The Realtime link to an engine, kept up: connect, deliver frames, reconnect.

`Connection.run` connects with a timeout, hands every frame to the Call (and the event log),
and reconnects with backoff after an abnormal close; the Call restores the session on each new
socket. Sockets come from a `SocketOpener`: a websocket to any engine
(`tutor_cli.realtime.websocket`, the default), or the built-in engine joined in memory
(`tutor_cli.engine.in_process`), which needs no websocket code. Reconnects are counted until
the Call says the engine is working again (`mark_working`, after a completed response), so a
server that accepts and then drops every socket is given up on after `retries` tries rather
than reconnected without end. A close that says the engine will not have us (policy,
unsupported data, a protocol error) is not retried.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol

from tutor_cli.lesson.updates import ConnectionState
from tutor_cli.realtime.endpoint import Endpoint
from tutor_cli.realtime.relayed import Resumption
from tutor_cli.storage.eventlog import Direction, EventLogWriter
from tutor_cli.storage.local_records import ConnectionNote
from tutor_cli.storage.redact import SplitSecrets

# Going-away (incl. the 60-minute session limit), abnormal closure, server error, restart,
# try again later, and a frame we refused as too big: the conversation can go on on a new
# socket. A normal close (1000) ends the call; any other code ends it as a failure.
RECONNECT_CODES = frozenset({1001, 1006, 1009, 1011, 1012, 1013})
NORMAL_CLOSE = 1000
# A JSON escape of a surrogate, in a frame: it may stand alone, and then cannot be written.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


class ConnectionFailed(Exception):
    """The engine could not be reached, or was lost for good."""


class EngineUnreachable(Exception):
    """A socket to the engine could not be opened this time; the message says why."""


class Socket(Protocol):
    """One open socket to an engine, as a Connection uses it: text frames both ways, read
    until it closes, then its close code and reason."""

    @property
    def close_code(self) -> int | None: ...

    @property
    def close_reason(self) -> str | None: ...

    async def send(self, message: str) -> None: ...

    async def close(self) -> None: ...

    def __aiter__(self) -> AsyncIterator[str | bytes]: ...


class SocketOpener(Protocol):
    """How a Connection reaches its engine, once per socket (a reconnect opens another)."""

    # What a socket's send or read raises once the socket is lost (not on a clean close).
    lost: tuple[type[Exception], ...]

    def describe(self) -> str:
        """Where the engine is, for the learner and the log: never a credential."""
        ...

    async def open(self, url: str) -> tuple[Socket, Mapping[str, str]]:
        """A new socket to `url`, and the headers its engine answered the opening with;
        EngineUnreachable if there is none to be had."""
        ...

    def close_of(self, lost: Exception) -> tuple[int, str]:
        """The close code and reason of a socket lost with `lost`."""
        ...


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
        secrets: SplitSecrets | None = None,
        opener: SocketOpener | None = None,
    ) -> None:
        """`secrets`: redacts what the server sends before anything sees it (a server may echo
        a key, even split across deltas). `opener`: how sockets are opened; by default, a
        websocket to the endpoint."""
        if opener is None:
            # websockets (and the ssl, http and email modules it loads) only for a websocket
            from tutor_cli.realtime.websocket import WebSocketOpener

            opener = WebSocketOpener(endpoint, connect_timeout)
        self.opener = opener
        self.endpoint = endpoint
        self.secrets = secrets
        self.log = log
        self.on_frame = on_frame  # sees every frame both ways, as the log does (the event pane)
        self.retries = retries
        self.backoff = backoff
        self.resumption = Resumption()  # the way back, when the engine is a classroom relay
        self._socket: Socket | None = None
        self._closing = False
        self._failures = 0  # drops and failed reconnects since the engine last worked

    def mark_working(self) -> None:
        """The engine did its job (a response completed): past drops are forgiven."""
        self._failures = 0

    @property
    def connected(self) -> bool:
        return self._socket is not None

    @property
    def relayed(self) -> bool:
        """The engine is a classroom relay: it sets the session up and keeps it over drops."""
        return self.resumption.relayed

    async def send(self, event: dict[str, Any]) -> bool:
        """Send one client event (and log it). Returns False if there is no socket right now:
        the Call re-creates what matters after a reconnect."""
        if self._socket is None:
            self._note("not sent (no connection)", event.get("type"))
            return False
        self._record("client", event)
        self.resumption.sent(event)
        try:
            await self._socket.send(json.dumps(event, ensure_ascii=False))
        except self.opener.lost:
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

    async def run(self, on_open: OnOpen, on_event: OnEvent, on_state: OnState) -> None:
        """Connect, deliver frames until a normal close, reconnect after abnormal ones.

        Raises ConnectionFailed when the first connection fails or the retries run out.
        """
        ever_connected = False
        ended = ""  # why the server ended the session, if it said
        while not self._closing:
            if not ever_connected:
                on_state(ConnectionState("connecting"))
            try:
                socket, headers = await self.opener.open(self.resumption.url(self.endpoint.url))
            except EngineUnreachable as exc:
                reason = str(exc)
                self._failures += 1
                if not ever_connected or self._failures > self.retries:
                    on_state(ConnectionState("failed", reason))
                    lost = "engine lost" if ever_connected else "cannot reach"
                    raise ConnectionFailed(f"{lost} {self.opener.describe()}: {reason}") from None
                self._note(f"reconnect attempt {self._failures} failed", reason)
                await asyncio.sleep(self._delay(self._failures))
                continue
            self._socket = socket
            reconnect, ever_connected = ever_connected, True
            on_state(ConnectionState("connected", self.opener.describe()))
            self._note("connected", self.opener.describe())
            code, reason = NORMAL_CLOSE, ""
            try:
                for event in self.resumption.opened(headers, reconnect):
                    await self.send(event)  # a relay never got it: the last socket died with it
                await on_open(reconnect)
                async for frame in socket:
                    await self._deliver(frame, on_event)
            except self.opener.lost as exc:
                code, reason = self.opener.close_of(exc)
            else:
                close = socket.close_code
                code = close if close is not None else NORMAL_CLOSE
                reason = socket.close_reason or ""
            finally:
                self._socket = None
            self._note("closed", {"code": code, "reason": reason})
            closed = f"closed with {code} {reason}".strip()
            if self._closing or code == NORMAL_CLOSE:
                ended = reason if code == NORMAL_CLOSE and not self._closing else ""
                break
            if code not in RECONNECT_CODES:
                on_state(ConnectionState("failed", closed))
                raise ConnectionFailed(f"the engine ended the session: {closed}")
            self._failures += 1
            if self._failures > self.retries:
                on_state(ConnectionState("failed", closed))
                raise ConnectionFailed(
                    f"engine lost: {self._failures} drops without a completed reply ({closed})"
                )
            on_state(ConnectionState("reconnecting", closed))
            await asyncio.sleep(self._delay(self._failures))
        # A server that ends the session normally may say why (a relay's time limit).
        on_state(ConnectionState("closed", ended or None))

    def _delay(self, attempt: int) -> float:
        delay: float = min(8.0, self.backoff * 2 ** (attempt - 1))
        return delay * random.uniform(0.8, 1.2)

    async def _deliver(self, frame: str | bytes, on_event: OnEvent) -> None:
        if isinstance(frame, bytes):
            self._record("local", f"<binary frame, {len(frame)} bytes>")
            return
        try:
            event = json.loads(frame)
        except (json.JSONDecodeError, RecursionError):  # not JSON, or nested past any sense
            event = None
        if not isinstance(event, dict):
            text = self.secrets.redactor.text(frame) if self.secrets else frame
            self._record("local", text)
            await on_event({"type": "tutor.non_json_frame", "text": text[:200]})
            return
        if _SURROGATE_ESCAPE.search(frame):  # maybe a lone surrogate, which cannot be written
            event = without_lone_surrogates(event)
        if self.secrets is not None:
            event = self.secrets.server_event(event)
        self.resumption.heard(event)
        self._record("server", event)
        await on_event(event)


def without_lone_surrogates(value: Any) -> Any:
    """A JSON value whose strings hold no lone surrogate (JSON can escape one, UTF-8 cannot
    encode it): each becomes U+FFFD, so the text can be shown and written."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {key: without_lone_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_lone_surrogates(item) for item in value]
    return value
