"""The learner's input audio through the engine's protocol: turn detection, commits,
transcription jobs, and interruptions. No asyncio; real speech from the engine's own voice."""

from __future__ import annotations

from tests.engine.protocol_harness import checked, feed, kinds, lesson, only_events, respond, stream
from tutor_cli.engine.protocol import Cancel, EngineProtocol, Output, Respond, Transcribe
from tutor_cli.engine.tts import Synthesizer
from tutor_cli.realtime import events
from tutor_cli.realtime.events import BYTES_PER_MS


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
    assert audio.startswith(job.pcm) and len(job.pcm) > len(utterance)
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
