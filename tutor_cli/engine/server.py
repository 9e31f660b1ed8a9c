"""The offline engine's websocket server: `/v1/realtime`, as the OpenAI SDK and our client reach it.

The official SDK builds `<base_url>/realtime?model=…` from `base_url="http://HOST:PORT/v1"`, so
the path is `/v1/realtime`. The scenario comes from the `scenario=` query parameter, else the
server's default, else the tutor is a generic conversation partner.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tutor_cli.engine.access import (
    bearer_token,
    host_and_port,
    normalise_origin,
    origin_allowed,
    query_value,
    token_matches,
)
from tutor_cli.engine.protocol import EngineProtocol
from tutor_cli.engine.responder import Responder, espeak_speech
from tutor_cli.errors import BadInput
from tutor_cli.lesson.catalogue import Catalogue
from tutor_cli.lesson.scenario import Scenario, load_scenario

PATH = "/v1/realtime"
MAX_FRAME_BYTES = 16 * 2**20
log = logging.getLogger("tutor.engine")


class OfflineEngine:
    """A local OpenAI-Realtime-compatible server with a scenario-scripted tutor."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        scenario: str | None = None,
        token: str | None = None,
        scenario_dirs: Iterable[Path] = (),
        pace: float = 4.0,
        allowed_origins: Iterable[str] = (),
    ) -> None:
        """`allowed_origins`: web origins (`https://host[:port]`) whose pages may connect,
        besides loopback ones; connections that send no `Origin` (not a browser) are not
        affected."""
        self.host, self.port = host, port
        self.default_scenario = scenario
        self.token = token
        self.allowed_origins = frozenset(normalise_origin(o) for o in allowed_origins)
        self.pace = pace
        self.catalogue = Catalogue.load(list(scenario_dirs))
        self._scenarios: dict[str, Scenario] = {}
        self._server: Server | None = None
        self.sessions: set[Responder] = set()  # one per open connection
        if scenario is not None:
            self.scenario(scenario)  # an unknown default is a startup error, not a 400 later

    def scenario(self, scenario_id: str) -> Scenario:
        """A catalogue scenario, validated once and kept: BadInput if it is invalid, or if its
        accept patterns cannot be matched in linear time."""
        if scenario_id not in self._scenarios:
            path = self.catalogue.get(scenario_id).path
            self._scenarios[scenario_id] = load_scenario(path)
        return self._scenarios[scenario_id]

    @property
    def url(self) -> str:
        """The websocket URL clients connect to."""
        return f"ws://{host_and_port(self.host, self.port)}{PATH}"

    @property
    def sdk_base_url(self) -> str:
        """What the OpenAI SDK takes as `base_url`."""
        return f"http://{host_and_port(self.host, self.port)}/v1"

    async def start(self) -> None:
        """Bind and start accepting connections (port 0 picks a free port)."""
        try:
            self._server = await serve(
                self._connection,
                self.host,
                self.port,
                process_request=self._check_request,
                # A frame over the limit is refused from its header, before its payload is
                # read: close code 1009, with a reason naming both sizes.
                max_size=MAX_FRAME_BYTES,
                # No permessage-deflate: one socket read of compressed silence inflates to
                # thousands of frames at once (+16 MB of memory for a burst of appends), base64
                # audio deflates only to about three quarters while deflating every delta held
                # up other sessions' first audio, and on a local link it saves nothing.
                compression=None,
            )
        except OSError as exc:
            raise BadInput(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        self.port = next(iter(self._server.sockets)).getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> OfflineEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        if parts.path.rstrip("/") != PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, f"not found: use {PATH}\n")
        if not origin_allowed(request.headers.get_all("Origin"), self.allowed_origins):
            return connection.respond(HTTPStatus.FORBIDDEN, "this web origin is not allowed\n")
        if not self._authorised(request.headers.get_all("Authorization")):
            return connection.respond(HTTPStatus.UNAUTHORIZED, "missing or wrong bearer token\n")
        scenario_id = query_value(parts.query, "scenario")
        if scenario_id:
            try:
                self.scenario(scenario_id)
            except BadInput as exc:
                return connection.respond(HTTPStatus.BAD_REQUEST, f"{exc}\n")
        return None

    def _authorised(self, given: list[str]) -> bool:
        return self.token is None or token_matches(bearer_token(given), self.token)

    async def _connection(self, connection: ServerConnection) -> None:
        query = urlsplit(connection.request.path).query if connection.request else ""
        scenario_id = query_value(query, "scenario") or self.default_scenario
        scenario = self.scenario(scenario_id) if scenario_id else None

        async def send(event: dict[str, Any]) -> None:
            await connection.send(json.dumps(event, ensure_ascii=False))

        protocol = EngineProtocol(scenario, query_value(query, "model") or "gpt-realtime")
        responder = Responder(protocol, send, espeak_speech, pace=self.pace)
        self.sessions.add(responder)
        try:
            await responder.start()
            async for frame in connection:
                await responder.receive(frame)
        except ConnectionClosed:
            pass  # the client went away, maybe mid-response: nothing to repair
        finally:
            self.sessions.discard(responder)
            with contextlib.suppress(ConnectionClosed):
                await responder.close()
