"""The jitter buffer: what was played is counted exactly; barge-ins fade and flush."""

from __future__ import annotations

import base64

import numpy as np

from tutor_cli.audio.jitter_buffer import FADE_MS, JitterBuffer
from tutor_cli.realtime.conversation import Conversation


def tone(ms: int, value: int = 1000) -> bytes:
    return np.full(ms * 24, value, dtype="<i2").tobytes()


def test_prebuffer_then_exact_accounting() -> None:
    buffer = JitterBuffer(prebuffer_ms=40)
    buffer.push("a", tone(20))
    assert not buffer.read(480).any()  # 20 ms queued: still prebuffering
    assert buffer.played.get("a") == 0
    buffer.push("a", tone(30))
    block = buffer.read(480)
    assert block.all() and buffer.played["a"] == 480
    buffer.read(480)
    assert buffer.played["a"] == 960
    buffer.end_of_reply()
    rest = buffer.read(480)
    assert rest[:240].all() and not rest[240:].any()  # the last 10 ms, then silence
    assert buffer.played["a"] == buffer.received["a"] == 50 * 24
    assert buffer.played["a"] == buffer.received["a"] and buffer.idle and buffer.underruns == 0


def test_a_complete_short_reply_plays_without_prebuffering() -> None:
    buffer = JitterBuffer(prebuffer_ms=40)
    buffer.push("a", tone(10))
    buffer.end_of_reply()
    assert buffer.read(480)[:240].all()


def test_underrun_mid_reply_is_counted_and_filled_with_silence() -> None:
    buffer = JitterBuffer(prebuffer_ms=20)
    buffer.push("a", tone(20))
    buffer.read(480)
    silence = buffer.read(480)  # the reply is still streaming but nothing is queued
    assert not silence.any() and buffer.underruns == 1
    buffer.push("a", tone(20))
    assert buffer.read(480).all()


def test_interrupt_fades_out_and_reports_what_was_heard() -> None:
    buffer = JitterBuffer(prebuffer_ms=0)
    for _ in range(10):
        buffer.push("a", tone(100, 10000))
    buffer.read(480 * 3)  # 60 ms played
    cut = buffer.interrupt()
    assert cut.item_id == "a"
    assert cut.played_ms == 60 + FADE_MS  # the fade tail is heard too
    tail = buffer.read(480)
    fade = tail[: FADE_MS * 24].astype(int)
    assert fade[0] > fade[-1] > 0 and np.all(np.diff(fade) <= 0)  # a ramp down, no click
    assert not tail[FADE_MS * 24 :].any()
    assert buffer.played["a"] == (60 + FADE_MS) * 24
    assert buffer.idle and not buffer.read(480).any()


def test_no_truncate_when_the_item_had_finished_playing() -> None:
    conv = Conversation("m")
    conv.configure({"type": "realtime"})
    conv.events_to_send()
    buffer = JitterBuffer(prebuffer_ms=0)
    pcm = tone(100)
    where = {"response_id": "r", "item_id": "a", "output_index": 0, "content_index": 0}
    conv.receive({"type": "response.created", "response": {"id": "r"}})
    conv.receive(
        {"type": "response.output_audio.delta", **where, "delta": base64.b64encode(pcm).decode()}
    )
    buffer.push("a", pcm)
    buffer.end_of_reply()
    for _ in range(6):
        buffer.read(480)
    cut = buffer.interrupt()
    assert cut.item_id == "a" and cut.played_ms == 100
    conv.interrupt(cut.item_id, cut.played_ms, manual_turns=False)
    assert conv.events_to_send() == []  # it had all been heard: nothing to truncate
    # while still playing, the truncate carries exactly what was heard
    buffer.push("b", pcm)
    conv.receive(
        {
            "type": "response.output_audio.delta",
            **{**where, "item_id": "b"},
            "delta": base64.b64encode(pcm).decode(),
        }
    )
    buffer.read(480)
    cut = buffer.interrupt()
    conv.interrupt(cut.item_id, cut.played_ms, manual_turns=False)
    (truncate,) = conv.events_to_send()
    assert (truncate["item_id"], truncate["audio_end_ms"]) == ("b", 20 + FADE_MS)
