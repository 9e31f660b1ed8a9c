"""The classroom relay's front end: the HTTP API and the websockets learners' clients open.

A client connects to `/ws?scenario=ID` or `/v1/realtime?scenario=ID` (the path the OpenAI SDK
and `tutor call --engine ws://…` use) with its learner's token: `Authorization: Bearer TOKEN`,
or, from a browser, which cannot set headers on a websocket, the subprotocols
`["tutor-relay", "tutor-token.TOKEN"]`. Checked before the upgrade: the path (404), the
origin of a browser's page (403), the token (401). Checked after it, so the client can show
the reason: the lesson, a resume id, the learner's limit (close 1008).

The upgrade response says `x-tutor-relay: 1` and gives the session's id in `x-tutor-resume`; a
client whose socket dropped comes back within the grace period with `?resume=ID` (and
`after=EVENT_ID`, the last event it got) to the same session, and is told in
`x-tutor-received` the last of its events the relay got, so it can send again what was lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from tutor_cli.datatypes import datatype
from tutor_cli.engine.access import bearer_token, host_and_port, origin_allowed, query_value
from tutor_cli.engine.server import OfflineEngine
from tutor_cli.errors import BadInput
from tutor_cli.lesson.catalogue import Catalogue
from tutor_cli.lesson.scenario import Scenario, load_scenario
from tutor_cli.realtime.endpoint import SECRET_VARIABLES, Endpoint, resolve_endpoint
from tutor_cli.relay import api
from tutor_cli.relay.limits import Limits, SessionCount
from tutor_cli.relay.session import RelaySession, close_reason
from tutor_cli.relay.users import User, UserBook
from tutor_cli.storage.store import ProgressStore

PATHS = ("/ws", "/v1/realtime", "/")  # "/": a client given the relay's bare URL
SUBPROTOCOL = Subprotocol("tutor-relay")
TOKEN_PROTOCOL = "tutor-token."
MAX_FRAME_BYTES = 4 * 2**20  # above the largest append the whitelist lets through
ENDED_KEPT = 1000  # ended sessions whose reason a returning client is told
log = logging.getLogger("tutor.relay")


@datatype
class Admission:
    """What the handshake decided about a connection."""

    user: User | None
    resume_id: str
    scenario: Scenario | None = None
    resumed: RelaySession | None = None
    after: str | None = None
    refused: str | None = None  # why it is closed with 1008 once open


class Relay:
    """Many learners' clients, one engine (OpenAI, Azure, a URL, or the offline engine)."""

    def __init__(
        self,
        *,
        upstream: str = "auto",
        host: str = "127.0.0.1",
        port: int = 8765,
        users: UserBook | None = None,
        allowed_origins: Iterable[str] = (),
        limits: Limits | None = None,
        scenario_dirs: Sequence[Path] = (),
        pace: float = 4.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """`users`: who may connect (None: anyone who can reach it, for loopback);
        `allowed_origins`: normalised web origins whose pages may connect, besides loopback
        ones. BadInput for an upstream that cannot be used (an unknown one, a missing key)."""
        self.env = dict(os.environ if env is None else env)
        self.upstream = upstream
        # Resolved once now, so a missing key stops the relay before any learner connects.
        probe = resolve_endpoint(upstream, model=None, scenario="", env=self.env)
        self.upstream_name = probe.name if probe is not None else "offline"
        self.secrets = [self.env.get(n, "") for n in SECRET_VARIABLES] + list(
            probe.secrets if probe is not None else ()
        )
        self.host, self.port = host, port
        self.users = users
        self.allowed_origins = frozenset(allowed_origins)
        self.limits = limits or Limits()
        self.scenario_dirs = list(scenario_dirs)
        self.pace = pace
        self.catalogue = Catalogue.load(self.scenario_dirs)
        self.sessions: dict[str, RelaySession] = {}
        self.count = SessionCount(self.limits.sessions_per_user)
        self.store: ProgressStore | None = None
        self._scenarios: dict[str, Scenario] = {}
        self._ended: OrderedDict[str, str] = OrderedDict()
        self._admissions: weakref.WeakKeyDictionary[ServerConnection, Admission] = (
            weakref.WeakKeyDictionary()
        )
        self._engine: OfflineEngine | None = None
        self._server: Server | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The websocket URL learners connect to (add `?scenario=ID`)."""
        return f"ws://{host_and_port(self.host, self.port)}/ws"

    @property
    def sdk_base_url(self) -> str:
        """What the OpenAI SDK takes as `base_url` (it adds `/realtime`)."""
        return f"http://{host_and_port(self.host, self.port)}/v1"

    async def start(self) -> None:
        """Open the progress store and the offline engine (if it is the upstream), bind and
        start accepting connections (port 0 picks a free port)."""
        self.store = ProgressStore.open_default()
        if self.upstream_name == "offline":
            self._engine = OfflineEngine(port=0, scenario_dirs=self.scenario_dirs, pace=self.pace)
            await self._engine.start()
        try:
            self._server = await serve(
                self._connection,
                self.host,
                self.port,
                process_request=self._check_request,
                process_response=self._mark_response,
                select_subprotocol=_select_subprotocol,
                max_size=MAX_FRAME_BYTES,
                compression=None,  # as the engine: nothing to gain on a classroom's network
                # A dead client is noticed within ~20 s, before the events sent into its
                # socket are forgotten (feed.KEEP_S), so a client that comes back gets them.
                ping_interval=10,
                ping_timeout=10,
            )
        except OSError as exc:
            await self.stop()
            raise BadInput(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        self.port = next(iter(self._server.sockets)).getsockname()[1]

    async def stop(self) -> None:
        """End every session (its client is told why), then stop listening."""
        for session in list(self.sessions.values()):
            await session.end("the relay is shutting down")
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._engine is not None:
            await self._engine.stop()
            self._engine = None
        if self.store is not None:
            self.store.close()
            self.store = None

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    async def __aenter__(self) -> Relay:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def scenario(self, scenario_id: str) -> Scenario:
        """A catalogue scenario, validated once and kept; BadInput if unknown or invalid."""
        if scenario_id not in self._scenarios:
            self._scenarios[scenario_id] = load_scenario(self.catalogue.get(scenario_id).path)
        return self._scenarios[scenario_id]

    # --- the handshake ------------------------------------------------------------------------

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        path = parts.path.rstrip("/") or "/"
        origins = request.headers.get_all("Origin")
        allowed = origin_allowed(origins, self.allowed_origins)
        if path == "/api" or path.startswith("/api/"):
            health = {
                "scenarios": len(self.catalogue),
                "sessions": len(self.sessions),
                "upstream": self.upstream_name,
            }
            return api.answer(
                connection,
                path,
                catalogue=self.catalogue,
                scenario=self.scenario,
                health=health,
                origin=origins[0] if allowed and origins else None,
            )
        if path not in PATHS:
            return connection.respond(HTTPStatus.NOT_FOUND, f"not found: use {PATHS[0]}\n")
        if not allowed:
            return connection.respond(HTTPStatus.FORBIDDEN, "this web origin is not allowed\n")
        user = None
        if self.users is not None:
            user = self.users.who(_token(request.headers))
            if user is None:
                return connection.respond(HTTPStatus.UNAUTHORIZED, "missing or wrong token\n")
        self._admissions[connection] = self._admit(user, parts.query)
        return None

    def _admit(self, user: User | None, query: str) -> Admission:
        resume_id = query_value(query, "resume")
        if resume_id is not None:
            session = self.sessions.get(resume_id)
            if session is None or session.user != user:
                why = self._ended.get(resume_id) if session is None else None
                refused = f"this lesson has ended: {why}" if why else "unknown or expired resume id"
                return Admission(user, resume_id, refused=refused)
            return Admission(user, resume_id, resumed=session, after=query_value(query, "after"))
        new_id = secrets.token_urlsafe(18)
        scenario_id = query_value(query, "scenario")
        if not scenario_id:
            refused = "name a lesson: ?scenario=ID (GET /api/scenarios lists them)"
            return Admission(user, new_id, refused=refused)
        try:
            entry = self.catalogue.get(scenario_id)
        except BadInput as exc:
            return Admission(user, new_id, refused=str(exc))
        try:
            return Admission(user, new_id, scenario=self.scenario(entry.id))
        except BadInput as exc:
            log.warning("scenario %s cannot be used: %s", entry.id, exc)
            return Admission(user, new_id, refused=f"{entry.id!r} cannot be used on this relay")

    def _mark_response(
        self, connection: ServerConnection, _request: Request, response: Response
    ) -> Response:
        response.headers["x-tutor-relay"] = "1"
        admission = self._admissions.get(connection)
        if admission is not None and admission.refused is None:
            response.headers["x-tutor-resume"] = admission.resume_id
            if admission.resumed is not None:
                response.headers["x-tutor-received"] = admission.resumed.last_client_event or ""
        return response

    # --- sessions -----------------------------------------------------------------------------

    async def _connection(self, socket: ServerConnection) -> None:
        admission = self._admissions.pop(socket, None)
        if admission is None or admission.refused is not None:
            why = admission.refused if admission is not None else None
            await socket.close(1008, close_reason(why or "the handshake was not checked"))
            return
        if admission.resumed is not None:
            await admission.resumed.serve(socket, admission.after)
            return
        assert admission.scenario is not None
        user = admission.user
        refused = self.count.admit(user.name if user else None)
        if refused is not None:
            await socket.close(1008, close_reason(refused))
            return
        session = RelaySession(
            scenario=admission.scenario,
            user=user,
            resume_id=admission.resume_id,
            endpoint=self._endpoint(admission.scenario.id),
            store=self.store,
            secrets=self.secrets,
            limits=self.limits,
            on_end=self._session_ended,
        )
        self.sessions[session.resume_id] = session
        unreachable = await session.open()
        if unreachable is not None:
            with contextlib.suppress(Exception):
                await socket.close(1014, close_reason(unreachable))
            return
        await session.serve(socket, None)

    def _endpoint(self, scenario_id: str) -> Endpoint:
        if self._engine is not None:
            url = f"{self._engine.url}?model=offline&scenario={scenario_id}"
            return Endpoint("offline", url, "offline")
        endpoint = resolve_endpoint(self.upstream, model=None, scenario=scenario_id, env=self.env)
        assert endpoint is not None  # not offline: checked when the relay was made
        return endpoint

    def _session_ended(self, session: RelaySession) -> None:
        self.sessions.pop(session.resume_id, None)
        self.count.release(session.user.name if session.user else None)
        self._ended[session.resume_id] = session.ended or "it ended"
        while len(self._ended) > ENDED_KEPT:
            self._ended.popitem(last=False)


def _token(headers: Headers) -> bytes | None:
    """The learner's token: a bearer header, or (from a browser) a `tutor-token.` subprotocol."""
    bearer = bearer_token(headers.get_all("Authorization"))
    if bearer is not None:
        return bearer
    offered = [p.strip() for h in headers.get_all("Sec-WebSocket-Protocol") for p in h.split(",")]
    tokens = [p.removeprefix(TOKEN_PROTOCOL) for p in offered if p.startswith(TOKEN_PROTOCOL)]
    return tokens[0].encode() if len(tokens) == 1 else None


def _select_subprotocol(
    _connection: ServerConnection, offered: Sequence[Subprotocol]
) -> Subprotocol | None:
    # A browser that offered subprotocols fails a handshake that picks none: it gets ours.
    return SUBPROTOCOL if SUBPROTOCOL in offered else None
