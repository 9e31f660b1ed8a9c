"""The Conversation against a classroom relay: the relay set the session up and asks for the
opening, runs grade_lesson itself (and asks for the reply after it), keeps the session over a
drop; the client sends its turns and the quiz's answers, nothing else."""

from __future__ import annotations

from typing import Any

from tests.realtime.test_conversation import feed, spoken_reply
from tutor_cli.lesson.updates import ToolCallReady
from tutor_cli.realtime.conversation import Conversation


def relayed() -> Conversation:
    conv = Conversation("gpt-realtime")
    conv.join_relay()
    return conv


def call(name: str, call_id: str, response: str = "resp_2") -> dict[str, Any]:
    item = {
        "id": f"item_{call_id}",
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": "{}",
        "status": "completed",
    }
    return {"type": "response.output_item.done", "response_id": response, "item": item}


def response(response_id: str, *events: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "response.created", "response": {"id": response_id}},
        *events,
        {"type": "response.done", "response": {"id": response_id, "status": "completed"}},
    ]


def types(conv: Conversation) -> list[str]:
    return [e["type"] for e in conv.events_to_send()]


def test_no_session_update_and_the_opening_is_awaited_not_asked_for() -> None:
    conv = relayed()
    assert types(conv) == []
    assert conv.busy  # the relay asked for the opening
    conv.send_text("Hola")
    assert types(conv) == ["conversation.item.create"]  # its reply waits for the opening's end
    feed(conv, spoken_reply("¡Buenas tardes!"))
    assert types(conv) == ["response.create"]


def test_a_grade_the_relay_runs_is_shown_not_run_and_its_reply_awaited() -> None:
    conv = relayed()
    feed(conv, spoken_reply("¡Hola!"))
    updates = feed(conv, response("resp_2", call("grade_lesson", "call_g")))
    assert [u.name for u in updates if isinstance(u, ToolCallReady)] == ["grade_lesson"]
    assert types(conv) == []  # no output, no reply asked for: the relay does both
    assert conv.busy and not conv.awaiting_tools
    feed(conv, spoken_reply("¡Chao!", item="item_9", response="resp_3"))
    assert not conv.busy


def test_a_quiz_is_answered_by_the_client_which_asks_for_the_reply() -> None:
    conv = relayed()
    feed(conv, spoken_reply("¡Hola!"))
    feed(conv, response("resp_2", call("trigger_quiz", "call_q")))
    assert conv.awaiting_tools
    conv.tool_output("call_q", '{"correct": 3, "questions": 4}')
    assert types(conv) == ["conversation.item.create", "response.create"]


def test_a_quiz_beside_a_grade_is_answered_and_the_relay_asks_for_the_reply() -> None:
    conv = relayed()
    feed(conv, spoken_reply("¡Hola!"))
    feed(conv, response("resp_2", call("trigger_quiz", "call_q"), call("grade_lesson", "call_g")))
    conv.tool_output("call_q", '{"correct": 3, "questions": 4}')
    assert types(conv) == ["conversation.item.create"]
    assert conv.busy  # the relay's reply is awaited


def test_a_drop_keeps_the_reply_under_way_and_what_was_typed_goes_on_return() -> None:
    conv = relayed()
    feed(conv, spoken_reply("¡Hola!"))
    conv.send_text("Al aeropuerto")
    assert types(conv) == ["conversation.item.create", "response.create"]
    feed(conv, [{"type": "response.created", "response": {"id": "resp_2"}}])
    conv.connection_lost()
    assert conv.busy  # the relay's session goes on making the reply
    conv.send_text("por favor")
    assert types(conv) == []  # no socket: held
    conv.rejoin_relay()
    assert types(conv) == ["conversation.item.create"]  # no session.update, no history
    feed(conv, [{"type": "response.done", "response": {"id": "resp_2", "status": "completed"}}])
    assert types(conv) == ["response.create"]  # the reply to the held turn


def test_a_quiz_answered_while_the_socket_is_down_goes_on_return() -> None:
    conv = relayed()
    feed(conv, response("resp_2", call("trigger_quiz", "call_q")))
    conv.connection_lost()
    conv.tool_output("call_q", '{"correct": 4, "questions": 4}')
    assert types(conv) == []
    conv.rejoin_relay()
    assert types(conv) == ["conversation.item.create", "response.create"]
