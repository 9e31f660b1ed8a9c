"""The terminal under the screens, which can go away mid-lesson (a window closed, an ssh link
lost). Textual's own driver then wedges: its writer thread dies on the first failed write, so
the next frame blocks the screen for good (signals included), while its reader spins on input
that has ended. Here a gone terminal only stops the screen's output and input; the lesson
still ends as the hang-up signal asks (graded, logged, stored)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import IO, Any, cast

from textual.app import App
from textual.driver import Driver


class TerminalOutput:
    """The screen's output file: once a write or flush fails, the terminal is gone, and what
    comes after is dropped (`gone` is called once)."""

    def __init__(self, file: IO[str], gone: Callable[[], None]) -> None:
        self._file = file
        self._gone = gone
        self.lost = False

    def write(self, text: str) -> int:
        if not self.lost:
            try:
                self._file.write(text)
            except OSError:
                self._lose()
        return len(text)

    def flush(self) -> None:
        if not self.lost:
            try:
                self._file.flush()
            except OSError:
                self._lose()

    def fileno(self) -> int:
        return self._file.fileno()

    def isatty(self) -> bool:
        return True

    def _lose(self) -> None:
        self.lost = True
        self._gone()


def driver_class() -> type[Driver] | None:
    """The driver for the call and replay screens: Textual's own on a POSIX terminal, made to
    survive the terminal going away; elsewhere, Textual's choice."""
    if os.name != "posix":
        return None
    from textual.drivers.linux_driver import LinuxDriver

    class TerminalDriver(LinuxDriver):
        def __init__(self, app: App[Any], **options: Any) -> None:
            super().__init__(app, **options)
            output = self._file
            assert output is not None, "Textual's driver writes to standard error"
            # The reader's loop ends on this event; no write may be made from here (this runs
            # on the writer's own thread, whose queue could be full). Textual declares the
            # file as standard error's own type, but its writer only writes, flushes and
            # asks for the descriptor.
            guarded = TerminalOutput(output, gone=self.exit_event.set)
            self._file = cast(io.TextIOWrapper, guarded)

    return TerminalDriver
