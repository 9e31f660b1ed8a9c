"""Noticing an engine that has gone silent while it owes a reply."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


class SilenceWatch:
    """Calls `on_silence` when `timeout` seconds pass without news while a reply is owed.

    Each time the engine speaks the wait starts again; each time the client asks for a reply
    it starts if it was not running. One watch per call, on the call's event loop."""

    def __init__(self, timeout: float, on_silence: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self.timeout = timeout
        self._on_silence = on_silence
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def heard(self, owed: bool) -> None:
        """The engine spoke: wait again from now, if it still owes a reply."""
        self.stop()
        if owed:
            self._start()

    def asked(self, owed: bool) -> None:
        """The client sent something: start waiting if a reply is owed and nobody waits."""
        if owed and self._timer is None:
            self._start()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _start(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self.timeout, self._fire)

    def _fire(self) -> None:
        self._timer = None
        task = asyncio.create_task(self._on_silence())
        self._tasks.add(task)  # kept until done
        task.add_done_callback(self._tasks.discard)
