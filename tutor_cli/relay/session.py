"""One learner's lesson through the relay: the engine's session, kept up, and the learner's
client, which may come and go.

The session is built here from the scenario (its `session.update` and the opening
`response.create`), the client's events pass the whitelist on their way up, the engine's
events go down unchanged (secrets redacted), tools run on the side that can be trusted with
them, and everything that passes is written to an event log in the client's format ("client":
what the relay sent the engine, "server": what the engine sent).

The engine's socket is a `Connection`, as `tutor call` keeps its own: dropped, it is re-opened
with backoff and the conversation restored (`History`); lost for good, the client is told with
close code 1014 (bad gateway). The client's socket is a `ClientFeed`: dropped without a normal
close, the session waits `grace_s` for the client to come back with its resume id.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from tutor_cli.call.progress import ProgressRow
from tutor_cli.lesson.scenario import Scenario
from tutor_cli.lesson.session_config import session_config
from tutor_cli.lesson.updates import CallSummary, ConnectionState
from tutor_cli.realtime import events
from tutor_cli.realtime.connection import Connection, ConnectionFailed
from tutor_cli.realtime.endpoint import Endpoint
from tutor_cli.realtime.pricing import engine_cost
from tutor_cli.realtime.relayed import GRADE_REQUEST, UPSTREAM_RECONNECTING
from tutor_cli.relay.feed import ClientFeed
from tutor_cli.relay.history import History
from tutor_cli.relay.limits import Limits
from tutor_cli.relay.tool_calls import RelayToolCalls
from tutor_cli.relay.users import User
from tutor_cli.relay.whitelist import ClientPolicy, refusal, relay_error
from tutor_cli.storage.eventlog import EventLogWriter
from tutor_cli.storage.local_records import CallEnded, ConnectionNote
from tutor_cli.storage.paths import sessions_dir
from tutor_cli.storage.redact import Redactor, SplitSecrets
from tutor_cli.storage.store import ProgressStore
from tutor_cli.tools.registry import ToolRegistry

Event = dict[str, Any]
log = logging.getLogger("tutor.relay")
BAD_GATEWAY = 1014  # the engine is lost for good
_numbers = itertools.count(1)


def close_reason(text: str) -> str:
    """`text` cut to the 123 bytes of UTF-8 a close frame can carry."""
    data = text.encode()
    return text if len(data) <= 123 else data[:120].decode(errors="ignore") + "..."


class RelaySession:
    """A relayed lesson, from its first client's connection to its end."""

    def __init__(
        self,
        *,
        scenario: Scenario,
        user: User | None,
        resume_id: str,
        endpoint: Endpoint,
        store: ProgressStore | None,
        secrets: list[str],
        limits: Limits,
        on_end: Callable[[RelaySession], None],
    ) -> None:
        self.scenario, self.user, self.resume_id = scenario, user, resume_id
        self.endpoint = endpoint
        self.limits = limits
        self.name = f"session {next(_numbers)} ({user.tag if user else 'no user'}, {scenario.id})"
        self._on_end = on_end
        self._secrets = secrets
        self.feed = ClientFeed(max_bytes=limits.feed_bytes)
        self.policy = ClientPolicy()
        self.history = History()
        self.session = session_config(scenario)
        self.summary = CallSummary(
            scenario.id, scenario.title, endpoint.name, endpoint.model, datetime.now(UTC)
        )
        self.row = ProgressRow(store, on_failure=lambda problem: log.error("%s", problem))
        self.tools = RelayToolCalls(scenario, self.row, self.policy, ToolRegistry.default())
        self.upstream: Connection | None = None
        self.log: EventLogWriter | None = None
        self.last_client_event: str | None = None  # the id of the last event a client sent
        self.ended: str | None = None  # why the session is over, once it is
        self._task: asyncio.Task[None] | None = None
        self._opened = asyncio.Event()
        self._reconnected = False
        self._closing = False  # wrapping up: no more replies asked for
        self._started = time.monotonic()
        self._timers: list[asyncio.TimerHandle] = []
        self._grace: asyncio.TimerHandle | None = None
        self._chores: set[asyncio.Task[None]] = set()

    # --- the engine ---------------------------------------------------------------------------

    async def open(self) -> str | None:
        """Open the log, the progress row and the engine's session (set up, the opening asked
        for); why not, if the engine cannot be reached."""
        self.log = EventLogWriter.create(
            sessions_dir(),
            scenario=self.scenario.id,
            engine=self.endpoint.name,
            model=self.endpoint.model,
            secrets=self._secrets,
        )
        self.summary.log_path = self.log.path
        self.row.open(self.summary, user=self.user.name if self.user else None)
        self.upstream = Connection(
            self.endpoint,
            self.log,
            retries=self.limits.upstream_retries,
            backoff=self.limits.upstream_backoff,
            secrets=SplitSecrets(Redactor(self._secrets)),
        )
        self._task = asyncio.create_task(self._keep_upstream(self.upstream))
        opened = asyncio.create_task(self._opened.wait())
        await asyncio.wait({opened, self._task}, return_when=asyncio.FIRST_COMPLETED)
        opened.cancel()
        if not self._opened.is_set():
            return self.ended or "the relay cannot reach its engine"
        loop = asyncio.get_running_loop()
        minutes = self.limits.max_minutes
        limit = f"the lesson reached this relay's {minutes:g}-minute limit"
        self._timers.append(loop.call_later(minutes * 60, lambda: self._chore(self.wrap_up(limit))))
        log.info("%s: opened on %s", self.name, self.endpoint.name)
        return None

    async def _keep_upstream(self, upstream: Connection) -> None:
        try:
            await upstream.run(self._upstream_open, self._upstream_event, self._upstream_state)
        except ConnectionFailed as exc:
            await self.end(Redactor(self._secrets).text(f"the relay's {exc}"), BAD_GATEWAY)
            return
        await self.end("the engine closed the session")

    async def _upstream_open(self, reconnect: bool) -> None:
        assert self.upstream is not None
        if not reconnect:
            await self.upstream.send(events.session_update(self.session))
            await self.upstream.send(events.response_create())  # the tutor speaks first
            self._opened.set()
            return
        self._reconnected = True
        self.policy.forget_calls()
        self.tools.forget_calls()
        for event in self.history.restore(self.session):
            await self.upstream.send(event)
        log.info("%s: engine reconnected, conversation restored", self.name)

    def _upstream_state(self, state: ConnectionState) -> None:
        if state.state != "reconnecting":
            return
        self.history.lost()
        log.warning("%s: engine dropped (%s); reconnecting", self.name, state.detail)
        message = (
            f"the relay lost its engine ({state.detail}); reconnecting, and the conversation "
            "will be restored"
        )
        self._chore(self._to_client(relay_error("server_error", UPSTREAM_RECONNECTING, message)))

    async def _upstream_event(self, event: Event) -> None:
        type_ = event.get("type")
        if type_ == "tutor.non_json_frame":
            return  # kept in the log; no client could use it
        self.history.heard(event)
        if type_ == "session.created" and self._reconnected:
            return  # the client's session goes on; the engine's new socket is not news
        await self._to_client(event)
        if type_ == "response.output_item.done":
            for output in await self.tools.called(event):
                await self._up(output)
        elif type_ in ("conversation.item.added", "conversation.item.done"):
            self.tools.output_seen(event)
        elif type_ == "response.done":
            self._response_done(events.object_field(event, "response"))
            if self.tools.response_done():
                await self._follow_up()

    def _response_done(self, response: Event) -> None:
        usage = response.get("usage")
        if isinstance(usage, dict):
            self.summary.usage = self.summary.usage.add(usage)
        if response.get("status") == "completed" and self.upstream is not None:
            self.upstream.mark_working()

    async def _up(self, event: Event) -> None:
        assert self.upstream is not None
        self.history.sent(event, await self.upstream.send(event))

    async def _follow_up(self) -> None:
        if not self._closing:
            await self._up(events.response_create())

    # --- the client ---------------------------------------------------------------------------

    async def _to_client(self, event: Event) -> None:
        event_id = event.get("event_id")
        text = json.dumps(event, ensure_ascii=False)
        await self.feed.send(text, event_id if isinstance(event_id, str) else None)

    async def serve(self, socket: ServerConnection, after: str | None) -> None:
        """Relay `socket`'s events until it closes; then end the session (a normal close)
        or wait for the client to come back."""
        if self._grace is not None:
            self._grace.cancel()
        replaced = self.feed.socket
        lost = await self.feed.attach(socket, after)
        if replaced is not None and replaced is not socket:
            self._chore(replaced.close(1000, "another connection took this session over"))
        if lost is not None:
            await self.end(lost, 1008)
            return
        with contextlib.suppress(ConnectionClosed):
            async for frame in socket:
                await self._from_client(frame)
        if self.ended is not None or self.feed.socket is not socket:
            return  # over, or taken over by the client's next connection
        self.feed.detach(socket)
        if socket.close_code == 1000:
            await self.end(None)  # the learner left
            return
        log.info("%s: client dropped (%s); waiting for it", self.name, socket.close_code)
        away = f"the client was away longer than {self.limits.grace_s:g} s"
        loop = asyncio.get_running_loop()
        self._grace = loop.call_later(self.limits.grace_s, lambda: self._chore(self.end(away)))
        self._timers.append(self._grace)

    async def _from_client(self, frame: str | bytes) -> None:
        parsed = self.policy.parse(frame)
        if isinstance(parsed, tuple):
            await self._refuse(*parsed, None)
            return
        event = parsed
        event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        self.last_client_event = event_id or self.last_client_event
        reason = self.policy.check(event)
        if reason is not None:
            await self._refuse(event["type"], reason, event_id)
            return
        item = events.object_field(event, "item")
        await self._up(self._asked_grade(event))
        if item.get("type") == "function_call_output" and self.tools.answered(item):
            await self._follow_up()

    def _asked_grade(self, event: Event) -> Event:
        """A client's request for the grade, made into the one that forces `grade_lesson`."""
        response = events.object_field(event, "response")
        if event["type"] != "response.create" or response.get("metadata") != GRADE_REQUEST:
            return event
        if "grade_lesson" not in self.scenario.tools or self.tools.grade is not None:
            return events.response_create() | {"event_id": event.get("event_id")}
        self.tools.forced = True
        forced = events.response_create(tool_choice=events.force_tool("grade_lesson"))
        return forced | {"event_id": event.get("event_id")}

    async def _refuse(self, event_type: str, reason: str, event_id: str | None) -> None:
        log.info("%s: refused %s: %s", self.name, event_type, reason)
        if self.log is not None:
            detail = {"type": event_type, "reason": reason, "event_id": event_id}
            self.log.note(ConnectionNote("refused a client event", detail))
        await self._to_client(refusal(event_type, reason, event_id))

    # --- the end ------------------------------------------------------------------------------

    async def wrap_up(self, reason: str) -> None:
        """The time is up: ask for the grade (if there is none), wait for it to reach the
        client (the grade timeout at most), and end with `reason`."""
        self._closing = True
        wanted = "grade_lesson" in self.scenario.tools and self.tools.grade is None
        if self.upstream is not None and wanted:
            self.tools.forced = True
            await self._ask_grade_now()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.tools.graded.wait(), self.limits.grade_wait_s)
        await self.end(reason)

    async def _ask_grade_now(self) -> None:
        assert self.upstream is not None
        if self.history.responding:
            await self._up(events.response_cancel())
            for _ in range(50):  # the engine says when the reply has stopped
                if not self.history.responding:
                    break
                await asyncio.sleep(0.1)
        await self._up(events.response_create(tool_choice=events.force_tool("grade_lesson")))

    async def end(self, reason: str | None, code: int = 1000) -> None:
        """Close the client (saying `reason`), the engine, the row and the log: once."""
        if self.ended is not None:
            return
        self.ended = reason or "the learner left"
        for timer in self._timers:
            timer.cancel()
        socket = self.feed.socket
        if socket is not None:
            self.feed.detach(socket)
            with contextlib.suppress(ConnectionClosed):
                await socket.close(code, close_reason(reason or "the lesson is over"))
        if self.upstream is not None:
            await self.upstream.close()
        if self._task is not None and self._task is not asyncio.current_task():
            with contextlib.suppress(TimeoutError, ConnectionFailed, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), 5)
        self.summary.duration_s = time.monotonic() - self._started
        self.summary.finished = self.tools.grade is not None and not self.tools.forced
        self.summary.cost_usd = engine_cost(
            self.summary.engine, self.summary.model, self.summary.usage
        )
        self.row.close(self.summary)
        failure = None if code == 1000 else self.ended
        if self.log is not None:
            self.log.note(CallEnded(failure))
            self.log.close()
        log.info("%s: ended: %s", self.name, self.ended)
        self._on_end(self)

    def _chore(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background, kept until done."""
        task = asyncio.create_task(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)
