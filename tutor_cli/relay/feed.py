"""What the relay sends one learner's client, in order, over as many sockets as it takes.

Every event is numbered and kept a while after it is sent: a socket can die with events still
in flight (written, never read), and a client that comes back says the last event it got
(`after`), so those are sent again. While no socket is attached, events are kept until one is
(the grace period is the session's business) or until the feed would hold more than
`max_bytes`: then events are lost, and a client coming back is told so instead of being given
a conversation with a hole in it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from websockets.exceptions import ConnectionClosed

from tutor_cli.datatypes import datatype

MAX_BYTES = 8 * 2**20  # about two minutes of the tutor's voice, base64
KEEP_S = 30.0  # how long an event already sent is kept: longer than a dead socket goes unseen


class ClientSocket(Protocol):
    """What the feed needs of a client's socket (a websockets `ServerConnection`)."""

    async def send(self, message: str, /) -> None: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


@datatype
class _Kept:
    seq: int
    event_id: str | None
    text: str
    at: float


class ClientFeed:
    """The events for one session's client, and the socket they go to (if any)."""

    def __init__(
        self,
        *,
        max_bytes: int = MAX_BYTES,
        keep_s: float = KEEP_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self.keep_s = keep_s
        self._clock = clock
        self._kept: deque[_Kept] = deque()
        self._bytes = 0
        self._seq = 0  # the number of the latest event
        self._handed = 0  # the latest event handed to a socket
        self._replaying = False
        self.socket: ClientSocket | None = None
        self.lost = False  # an event was dropped before any socket took it

    @property
    def pending(self) -> int:
        """Events no socket has taken yet."""
        return self._seq - self._handed

    async def send(self, text: str, event_id: str | None = None) -> None:
        """Send an event now if a socket is attached (and not catching up), else keep it."""
        self._seq += 1
        self._kept.append(_Kept(self._seq, event_id, text, self._clock()))
        self._bytes += len(text)
        self._trim()
        socket = self.socket
        if socket is None or self._replaying:
            return
        seq = self._handed = self._seq
        try:
            await socket.send(text)
        except ConnectionClosed:
            self._handed = min(self._handed, seq - 1)  # kept, for a client that comes back
            self.detach(socket)

    def detach(self, socket: ClientSocket) -> None:
        """`socket` is gone; events are kept for the next one."""
        if self.socket is socket:
            self.socket = None
            self._replaying = False

    async def attach(self, socket: ClientSocket, after: str | None) -> str | None:
        """Make `socket` the client's and send it what it missed: the events after the one
        with id `after` (what the client says it got last), or, with no `after`, those no
        socket has taken. Returns why that cannot be done (events were lost), else None."""
        start = self._after(after)
        first = self._kept[0].seq if self._kept else self._seq + 1
        if start is None or start < first or (after is None and self.lost):
            return "events for this session were lost while the client was away"
        self.socket, self._replaying = socket, True
        try:
            following = start
            while following <= self._seq:
                first = self._kept[0].seq if self._kept else self._seq + 1
                if following < first:  # trimmed meanwhile, while the client was catching up
                    return "events for this session were lost while the client was away"
                await socket.send(self._kept[following - first].text)
                following += 1
            self._handed = self._seq
        except ConnectionClosed:
            self.detach(socket)
        finally:
            if self.socket is socket:
                self._replaying = False
        return None

    def _after(self, event_id: str | None) -> int | None:
        """The number of the first event to send again; None if `event_id` is not kept."""
        if event_id is None:
            return self._handed + 1
        for kept in reversed(self._kept):
            if kept.event_id == event_id:
                return kept.seq + 1
        return None

    def _trim(self) -> None:
        """Forget events sent long enough ago, and the oldest beyond `max_bytes`: an event
        no socket had taken is then lost."""
        stale = self._clock() - self.keep_s
        while self._kept and (
            self._bytes > self.max_bytes
            or (self._kept[0].at < stale and self._kept[0].seq <= self._handed)
        ):
            dropped = self._kept.popleft()
            self._bytes -= len(dropped.text)
            if dropped.seq > self._handed:
                self.lost = True
