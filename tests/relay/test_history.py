"""The relay's record of a conversation, restored on a new engine socket as `tutor call`
restores its own: the session, the turns as items, a lost reply asked for again."""

from __future__ import annotations

from tutor_cli.realtime import events
from tutor_cli.relay.history import History


def test_turns_from_both_directions_are_restored_with_a_lost_reply() -> None:
    history = History()
    history.heard({"type": "response.output_audio_transcript.done", "transcript": "¡Hola!"})
    history.sent(events.user_text("Buenas tardes"), delivered=True)
    history.heard(
        {"type": "conversation.item.input_audio_transcription.completed", "transcript": "Sí"}
    )
    history.heard({"type": "response.created", "response": {"id": "r1"}})
    history.lost()  # mid-reply
    restored = history.restore({"type": "realtime"})
    assert [e["type"] for e in restored] == [
        "session.update",
        "conversation.item.create",
        "conversation.item.create",
        "conversation.item.create",
        "response.create",
    ]
    roles = [e["item"]["role"] for e in restored[1:4]]
    assert roles == ["assistant", "user", "user"]
    assert history.restore({})[-1]["type"] == "conversation.item.create"  # asked for once


def test_a_reply_asked_for_without_a_socket_is_owed_and_one_done_is_not() -> None:
    history = History()
    history.heard({"type": "response.created", "response": {"id": "r1"}})
    history.heard({"type": "response.done", "response": {"id": "r1"}})
    history.lost()
    assert not history.reply_owed
    history.sent(events.response_create(), delivered=False)
    assert history.restore({})[-1]["type"] == "response.create"
