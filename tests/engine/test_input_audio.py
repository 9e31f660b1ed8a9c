"""The learner's input audio through the engine's protocol: turn detection, commits,
transcription jobs, and interruptions. No asyncio; real speech from the engine's own voice."""

from __future__ import annotations

import json

import numpy as np

from tests.engine.protocol_harness import (
    Event,
    checked,
    feed,
    kinds,
    lesson,
    only_events,
    respond,
    stream,
)
from tutor_cli.engine.input_audio import MAX_BUFFER_MS, InputAudio
from tutor_cli.engine.protocol import Cancel, EngineProtocol, Output, Respond, Transcribe
from tutor_cli.engine.tts import Synthesizer
from tutor_cli.realtime import events
from tutor_cli.realtime.events import BYTES_PER_MS, RATE


def speech(text: str, language: str = "es-CO") -> bytes:
    return b"".join(Synthesizer().synthesize(text, language))


def append(protocol: EngineProtocol, pcm: bytes, chunk_ms: int = 40) -> list[Output]:
    out: list[Output] = []
    step = chunk_ms * BYTES_PER_MS
    for start in range(0, len(pcm), step):
        out += feed(protocol, events.input_audio_append(pcm[start : start + step]))
    return out


SILENCE = bytes(1200 * BYTES_PER_MS)


def test_a_spoken_turn_is_detected_committed_transcribed_and_answered() -> None:
    protocol = lesson()
    stream(protocol, respond(feed(protocol, events.response_create())))
    utterance = speech("Buenas tardes, muy bien.")
    audio = SILENCE[: 400 * BYTES_PER_MS] + utterance + SILENCE
    outputs = append(protocol, audio)
    assert kinds(outputs) == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "Transcribe",
    ]
    started, stopped, committed = outputs[:3]
    assert isinstance(started, dict) and isinstance(stopped, dict)
    assert 0 <= started["audio_start_ms"] < 400 < stopped["audio_end_ms"]
    assert started["item_id"] == stopped["item_id"] == committed["item_id"]
    (job,) = [o for o in outputs if isinstance(o, Transcribe)]
    assert job.item_id == started["item_id"] and job.language == "es-CO"
    # The item holds the turn as the events place it: from the start (prefix padding
    # included) to the end (the silence that ended it included).
    start, end = started["audio_start_ms"], stopped["audio_end_ms"]
    assert job.pcm == audio[start * BYTES_PER_MS : end * BYTES_PER_MS]
    assert len(job.pcm) > len(utterance)
    # No recogniser for Spanish: the turn counts as an unchecked attempt, and is answered.
    outputs = checked(protocol.transcribed(job.item_id, None))
    assert kinds(outputs) == ["conversation.item.input_audio_transcription.failed", "Respond"]
    text = stream(protocol, respond(outputs))[-1]["response"]["output"][0]["content"][0]["text"]
    assert "«Buenas tardes. Muy bien, gracias. ¿Y usted?»" in text


def test_a_transcript_is_reported_with_its_duration() -> None:
    protocol = lesson()
    stream(protocol, respond(feed(protocol, events.response_create())))
    outputs = append(protocol, SILENCE[: 400 * BYTES_PER_MS] + speech("Hola.") + SILENCE)
    (job,) = [o for o in outputs if isinstance(o, Transcribe)]
    completed, respond_job = checked(protocol.transcribed(job.item_id, "buenas tardes muy bien"))
    assert isinstance(completed, dict) and isinstance(respond_job, Respond)
    assert completed["transcript"] == "buenas tardes muy bien"
    seconds = round(len(job.pcm) / (1000 * BYTES_PER_MS), 3)
    assert completed["usage"] == {"type": "duration", "seconds": seconds}
    (retrieved,) = only_events(feed(protocol, events.item_retrieve(job.item_id)))
    assert retrieved["item"]["content"][0]["transcript"] == "buenas tardes muy bien"
    text = stream(protocol, respond_job.response)[-1]["response"]["output"][0]["content"][0]
    assert "llevo" in text["text"]  # the step was passed


def test_speech_during_a_response_cancels_it() -> None:
    protocol = lesson()
    response = respond(feed(protocol, events.response_create()))
    outputs = append(protocol, speech("Perdón, un momento por favor."))
    assert kinds(outputs)[:2] == ["input_audio_buffer.speech_started", "Cancel"]
    assert outputs[1] == Cancel(response) and response.cancel_reason == "turn_detected"
    done = stream(protocol, response)[-1]["response"]
    assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}


def test_manual_turns_are_committed_and_cleared_by_the_client() -> None:
    protocol = lesson(turn_detection="manual")
    pcm = speech("Hola.")
    assert append(protocol, pcm) == []  # no turn detection
    assert kinds(feed(protocol, events.input_audio_clear())) == ["input_audio_buffer.cleared"]
    (error,) = only_events(feed(protocol, events.input_audio_commit()))
    assert error["error"]["code"] == "input_audio_buffer_commit_empty"
    append(protocol, pcm)
    outputs = feed(protocol, events.input_audio_commit())
    assert kinds(outputs) == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "Transcribe",
    ]
    (job,) = [o for o in outputs if isinstance(o, Transcribe)]
    assert job.pcm == pcm
    # A committed turn waits for the client's response.create.
    assert kinds(checked(protocol.transcribed(job.item_id, None))) == [
        "conversation.item.input_audio_transcription.failed"
    ]


def test_a_second_turn_in_one_append_waits_for_the_first_transcript() -> None:
    protocol = lesson()
    stream(protocol, respond(feed(protocol, events.response_create())))
    turn = SILENCE[: 400 * BYTES_PER_MS] + speech("Buenas tardes.") + SILENCE
    outputs = feed(protocol, events.input_audio_append(turn + turn))  # both in one frame
    assert kinds(outputs)[-1] == "Transcribe" and kinds(outputs).count("Transcribe") == 1
    first = outputs[-1]
    assert isinstance(first, Transcribe)
    outputs = checked(protocol.transcribed(first.item_id, None))
    # The first turn is answered; then the second starts, interrupting that answer.
    assert kinds(outputs) == [
        "conversation.item.input_audio_transcription.failed",
        "Respond",
        "input_audio_buffer.speech_started",
        "Cancel",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "Transcribe",
    ]
    answer = respond(outputs)
    assert outputs[3] == Cancel(answer) and answer.cancel_reason == "turn_detected"


def detected(protocol: EngineProtocol, pcm: bytes) -> tuple[Event, Event, Transcribe]:
    """Append `pcm`, which holds one turn: its speech_started, speech_stopped and audio."""
    outputs = append(protocol, pcm, chunk_ms=20)
    (started,) = [o for o in only_dicts(outputs) if o["type"].endswith("speech_started")]
    (stopped,) = [o for o in only_dicts(outputs) if o["type"].endswith("speech_stopped")]
    (job,) = [o for o in outputs if isinstance(o, Transcribe)]
    return started, stopped, job


def only_dicts(outputs: list[Output]) -> list[Event]:
    return [o for o in outputs if isinstance(o, dict)]


def test_the_end_of_a_turn_includes_the_silence_that_ended_it() -> None:
    protocol = lesson()
    vad = {"type": "server_vad", "silence_duration_ms": 800, "prefix_padding_ms": 200}
    feed(
        protocol,
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": vad}}},
        },
    )
    utterance = speech("Buenas tardes.")
    voiced = np.flatnonzero(np.abs(np.frombuffer(utterance, "<i2")) > 300)
    spoken_from_ms = 1000 + voiced[0] * 1000 // RATE
    spoken_to_ms = 1000 + voiced[-1] * 1000 // RATE
    started, stopped, job = detected(protocol, SILENCE[: 1000 * BYTES_PER_MS] + utterance + SILENCE)
    # As the SDK documents: the start includes prefix_padding_ms, the end the silence.
    assert abs(started["audio_start_ms"] - (spoken_from_ms - 200)) <= 60
    assert abs(stopped["audio_end_ms"] - (spoken_to_ms + 800)) <= 60
    assert len(job.pcm) == (stopped["audio_end_ms"] - started["audio_start_ms"]) * BYTES_PER_MS


def test_a_turn_after_long_silence_holds_only_its_speech_and_padding() -> None:
    protocol = lesson()
    silence_ms = 10_000
    audio = bytes(silence_ms * BYTES_PER_MS) + speech("Buenas tardes.") + SILENCE
    started, _, job = detected(protocol, audio)
    assert started["audio_start_ms"] > silence_ms - 400
    assert len(job.pcm) < 3000 * BYTES_PER_MS  # not the ten seconds before it


def test_ten_minutes_of_silence_keep_under_a_megabyte_of_audio() -> None:
    protocol = lesson()
    frame = json.dumps(events.input_audio_append(bytes(20 * BYTES_PER_MS)))
    before = protocol.retained_audio_bytes
    for _ in range(10 * 60 * 50):  # 20 ms a frame, as fast as it goes
        assert protocol.receive(frame) == []
    assert protocol.retained_audio_bytes - before < 1_000_000


def test_timestamps_count_from_the_start_of_the_session_whatever_the_settings() -> None:
    protocol = lesson()
    append(protocol, bytes(3000 * BYTES_PER_MS))
    vad = {"type": "server_vad", "silence_duration_ms": 600}
    feed(
        protocol,
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": vad}}},
        },
    )
    started, stopped, _ = detected(
        protocol, SILENCE[: 500 * BYTES_PER_MS] + speech("Hola.") + SILENCE
    )
    # The new detector started listening 3 s into the session; the onset is ~0.5 s after.
    assert 3000 < started["audio_start_ms"] < stopped["audio_end_ms"]


def test_zero_prefix_padding_is_taken_as_zero() -> None:
    protocol = lesson()
    vad = {"type": "server_vad", "prefix_padding_ms": 0}
    feed(
        protocol,
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": vad}}},
        },
    )
    utterance = speech("Hola.")
    voiced = np.flatnonzero(np.abs(np.frombuffer(utterance, "<i2")) > 300)
    started, _, _ = detected(protocol, bytes(1000 * BYTES_PER_MS) + utterance + SILENCE)
    assert abs(started["audio_start_ms"] - (1000 + voiced[0] * 1000 // RATE)) <= 60


def test_manual_turns_keep_the_newest_minutes_only() -> None:
    protocol = lesson(turn_detection="manual")
    minute = bytes(60_000 * BYTES_PER_MS)
    for _ in range(MAX_BUFFER_MS // 60_000 + 2):
        assert feed(protocol, events.input_audio_append(minute)) == []
    assert protocol.retained_audio_bytes == MAX_BUFFER_MS * BYTES_PER_MS
    (job,) = [o for o in feed(protocol, events.input_audio_commit()) if isinstance(o, Transcribe)]
    assert len(job.pcm) == MAX_BUFFER_MS * BYTES_PER_MS
    assert protocol.retained_audio_bytes == 0


def test_the_detector_is_kept_while_its_settings_are_and_replaced_when_they_change() -> None:
    buffer = InputAudio()
    vad = {"type": "server_vad", "threshold": 0.5}
    first = buffer.detector(vad)
    assert first is not None
    assert buffer.detector(dict(vad)) is first  # equal settings, another dict
    assert buffer.detector({**vad, "create_response": False}) is first  # same parameters
    assert buffer.detector({}) is None
    again = buffer.detector(vad)
    assert again is not None and again is not first  # a turn in progress was forgotten
    vad["threshold"] = 0.9  # settings changed in place are still seen
    changed = buffer.detector(vad)
    assert changed is not again and changed is not None and changed.threshold == 0.9
