"""What a call shows of a classroom relay's own engine: the relay says when it lost it (an
`error` coded `upstream_reconnecting`) and, once it has restored the conversation on a new
engine session, forwards that session's settings. The call shows both as its link's state, as
it shows its own reconnects, rather than as an engine error and a settings change."""

from __future__ import annotations

from tutor_cli.datatypes import datatype
from tutor_cli.lesson.updates import ConnectionState, ConversationUpdate, ServerError, SessionReady
from tutor_cli.realtime.relayed import UPSTREAM_RECONNECTING


@datatype
class RelayNews:
    """The link state an update means, and whether it means nothing more."""

    state: ConnectionState
    instead: bool


class RelayWatch:
    """Reads a relay's news about its engine from the updates of one call."""

    def __init__(self) -> None:
        self._restoring = False

    def read(self, update: ConversationUpdate) -> RelayNews | None:
        if isinstance(update, ServerError) and update.code == UPSTREAM_RECONNECTING:
            self._restoring = True
            return RelayNews(ConnectionState("reconnecting", update.message), instead=True)
        if isinstance(update, SessionReady) and self._restoring:
            self._restoring = False
            restored = ConnectionState("connected", "the relay restored the conversation")
            return RelayNews(restored, instead=False)
        return None
