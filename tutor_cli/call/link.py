"""A call's link to its engine: the connection over as many sockets as it takes, the one send
path, whether the tutor still owes a reply, and the watch on an engine gone silent.

Every client event, whatever asked for it, is queued in the Conversation's outbox and leaves
through `flush`, in the order it was queued.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tutor_cli.call.silence import SilenceWatch
from tutor_cli.realtime.connection import Connection, ConnectionFailed, OnEvent, OnOpen, OnState
from tutor_cli.realtime.conversation import Conversation


class EngineLink:
    """The link, for one call. `start` opens it; the rest is safe to call before and after."""

    def __init__(
        self,
        conversation: Conversation,
        *,
        reply_timeout: float,
        on_abandoned: Callable[[float], None],
    ) -> None:
        """When the engine says nothing for `reply_timeout` seconds while it owes a reply, the
        reply is given up on, and `on_abandoned` told (with the timeout)."""
        self.conversation = conversation
        self.connection: Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._sending = asyncio.Lock()
        self._on_abandoned = on_abandoned
        self._silence = SilenceWatch(reply_timeout, self._give_up)

    def start(
        self, connection: Connection, on_open: OnOpen, on_event: OnEvent, on_state: OnState
    ) -> asyncio.Task[None]:
        """Connect and keep connected; the task ends when the link is over for good (raising
        `ConnectionFailed` if it was lost)."""
        self.connection = connection
        self._task = asyncio.create_task(connection.run(on_open, on_event, on_state))
        self._task.add_done_callback(lambda _task: self._sync_idle())
        return self._task

    @property
    def connected(self) -> bool:
        """A socket is open right now."""
        return self.connection is not None and self.connection.connected

    @property
    def relayed(self) -> bool:
        """The engine is a classroom relay (known once a socket has opened)."""
        return self.connection is not None and self.connection.relayed

    @property
    def over(self) -> bool:
        """The link is gone for good (closed, or lost after its retries)."""
        return self._task is not None and self._task.done()

    @property
    def reply_owed(self) -> bool:
        """The engine owes a reply on an open socket (the one thing its silence matters for)."""
        return self.conversation.responding and self.connected

    async def flush(self) -> None:
        """Send what the Conversation queued, in order, then bring the idle state up to date.

        One sender at a time: a caller that finds another sending waits, and by then its
        events have gone out with the rest."""
        async with self._sending:
            while queued := self.conversation.events_to_send():
                for event in queued:
                    if self.connection is not None:
                        await self.connection.send(event)
        self._sync_idle()
        self._silence.asked(self.reply_owed)

    def working(self) -> None:
        """The engine completed a reply: drops before this one are forgiven."""
        if self.connection is not None:
            self.connection.mark_working()

    async def _give_up(self) -> None:
        """The engine stayed silent on a reply: go on without it."""
        if self.conversation.abandon_reply():
            self._on_abandoned(self._silence.timeout)
            await self.flush()

    def heard(self) -> None:
        """The engine said something: the wait on its silence starts again."""
        self._silence.heard(self.reply_owed)

    def _sync_idle(self) -> None:
        """Idle means nobody waits for the tutor: derived from the Conversation alone, and
        always idle once the link is over (nobody answers any more)."""
        if self.conversation.busy and not self.over:
            self._idle.clear()
        else:
            self._idle.set()

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until the tutor owes nothing; False if `timeout` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def release_waiters(self) -> None:
        """Whoever waits for the tutor stops waiting (the call is ending at once)."""
        self._idle.set()

    async def close(self) -> str | None:
        """Close on purpose; the reason the link was lost before, if it was."""
        self._silence.stop()
        if self.connection is not None:
            await self.connection.close()
        if self._task is None:
            return None
        try:
            await asyncio.wait_for(self._task, 5)
        except ConnectionFailed as exc:
            return str(exc)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()
        return None
