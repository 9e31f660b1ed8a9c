"""The Realtime websocket: where to connect, with which credentials, and staying connected.

`resolve_endpoint` turns `--engine` into a URL and headers. The OpenAI key goes only to
OpenAI's host; Azure gets its own key; any other server gets a key only from
`TUTOR_ENGINE_KEY`. `Connection.run` connects with a timeout, hands every frame to the Call
(and the event log), and reconnects with backoff after an abnormal close, a bounded number of
times; the Call restores the session on each new socket.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tutor_cli.errors import BadInput
from tutor_cli.eventlog import EventLogWriter
from tutor_cli.realtime.conversation import ConnectionState

OPENAI_URL = "wss://api.openai.com/v1/realtime"
DEFAULT_MODEL = "gpt-realtime"
AZURE_API_VERSION = "2025-04-01-preview"
# Going-away (incl. the 60-minute session limit), abnormal closure, server error, restart,
# try again later: the conversation can go on on a new socket.
RECONNECT_CODES = frozenset({1001, 1006, 1011, 1012, 1013})


@dataclass(frozen=True)
class Endpoint:
    """Where a call connects."""

    engine: str  # openai | azure | offline | url
    url: str
    model: str
    headers: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()  # never to be logged

    def describe(self) -> str:
        """A one-line description without credentials."""
        parts = urlsplit(self.url)
        return f"{self.engine} ({parts.scheme}://{parts.netloc}{parts.path}, model {self.model})"


def _with_query(url: str, **params: str | None) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for key, value in params.items():
        if value is not None:
            query.setdefault(key, value)
    return urlunsplit(parts._replace(query=urlencode(query)))


def resolve_endpoint(
    engine: str, *, model: str | None, scenario: str, env: Mapping[str, str]
) -> Endpoint | None:
    """The endpoint for `--engine`; None means the built-in offline engine."""
    choice = engine.strip()
    if choice == "auto":
        choice = "openai" if env.get("OPENAI_API_KEY") else "offline"
    if choice == "offline":
        return None
    if choice == "openai":
        key = env.get("OPENAI_API_KEY", "").strip()
        if not key:
            raise BadInput(
                "--engine openai needs an API key: export OPENAI_API_KEY=sk-... "
                "(or use --engine offline, which needs none)"
            )
        chosen = model or DEFAULT_MODEL
        return Endpoint(
            "openai",
            _with_query(OPENAI_URL, model=chosen),
            chosen,
            {"Authorization": f"Bearer {key}"},
            (key,),
        )
    if choice == "azure":
        base = env.get("AZURE_OPENAI_ENDPOINT", "").strip().rstrip("/")
        key = env.get("AZURE_OPENAI_API_KEY", "").strip()
        deployment = model or env.get("AZURE_OPENAI_DEPLOYMENT", "").strip()
        missing = [
            name
            for name, value in (
                ("AZURE_OPENAI_ENDPOINT", base),
                ("AZURE_OPENAI_API_KEY", key),
                ("AZURE_OPENAI_DEPLOYMENT (or --model)", deployment),
            )
            if not value
        ]
        if missing:
            raise BadInput(f"--engine azure needs {', '.join(missing)}")
        host = urlsplit(base if "://" in base else f"https://{base}").netloc
        url = _with_query(
            f"wss://{host}/openai/realtime",
            **{
                "api-version": env.get("AZURE_OPENAI_API_VERSION") or AZURE_API_VERSION,
                "deployment": deployment,
            },
        )
        return Endpoint("azure", url, deployment, {"api-key": key}, (key,))
    if choice.startswith(("ws://", "wss://")):
        parts = urlsplit(choice)
        if not parts.netloc:
            raise BadInput(f"--engine: {choice!r} has no host")
        chosen = model or DEFAULT_MODEL
        key = env.get("TUTOR_ENGINE_KEY", "").strip()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        url = _with_query(choice, model=chosen, scenario=scenario)
        return Endpoint("url", url, chosen, headers, (key,) if key else ())
    raise BadInput(
        f"--engine: {engine!r} is not one of auto, openai, azure, offline, or a ws:// or wss:// URL"
    )


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

    def _record(self, direction: str, event: dict[str, Any] | str) -> None:
        if self.log:
            self.log.write(direction, event)  # type: ignore[arg-type]
        if self.on_frame:
            self.on_frame(direction, event)

    def _note(self, text: str, detail: Any = None) -> None:
        if self.log:
            self.log.write("local", {"type": "tutor.connection", "note": text, "detail": detail})

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
        return min(8.0, self.backoff * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)

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
