"""The learner's text box on the call screen."""

from __future__ import annotations

import time
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input


class SayInput(Input):
    """The learner's text box: Enter sends, and says so in the footer.

    As desktop toolkits do, the cursor stops blinking (and stays shown) after
    `BLINK_TIMEOUT_S` without a key, so a call nobody touches does not repaint twice a second;
    a key or the focus coming back starts it again."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "submit", "Send")]
    BLINK_TIMEOUT_S = 10.0

    def __init__(self, *, placeholder: str, id: str | None = None) -> None:
        # Focus coming back must not let the next key replace it all.
        super().__init__(placeholder=placeholder, id=id, select_on_focus=False)
        self._last_key = time.monotonic()

    def on_mount(self) -> None:
        self._watch_blinking(self.BLINK_TIMEOUT_S)

    def on_key(self) -> None:
        self._keep_blinking()

    def on_focus(self) -> None:
        self._keep_blinking()

    def _keep_blinking(self) -> None:
        self._last_key = time.monotonic()
        if not self.cursor_blink:
            self.cursor_blink = True
            self._watch_blinking(self.BLINK_TIMEOUT_S)

    def _watch_blinking(self, delay: float) -> None:
        self.set_timer(delay, self._blink_timeout)

    def _blink_timeout(self) -> None:
        """Stop blinking if no key came for the whole timeout; else look again when it would
        have passed (one timer for any number of keys)."""
        quiet = time.monotonic() - self._last_key
        if quiet >= self.BLINK_TIMEOUT_S:
            self.cursor_blink = False
        else:
            self._watch_blinking(self.BLINK_TIMEOUT_S - quiet)
