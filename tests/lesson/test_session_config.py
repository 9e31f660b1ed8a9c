"""The Realtime session a scenario asks for: valid GA, in role, with the learner's choices."""

from __future__ import annotations

import pytest

from tests.conformance import assert_client_event
from tests.conftest import SCENARIOS, shipped_ids
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.lesson.session_config import session_config, tutor_instructions
from tutor_cli.lesson.session_options import NoiseReduction, SessionOptions
from tutor_cli.realtime import events


@pytest.mark.parametrize("scenario_id", shipped_ids())
@pytest.mark.parametrize(
    "options",
    [
        SessionOptions(),
        SessionOptions(
            output_modalities="text", turn_detection="manual", noise_reduction=NoiseReduction.off
        ),
        SessionOptions(
            turn_detection="semantic_vad", voice="cedar", speed=0.7, model="gpt-realtime"
        ),
    ],
    ids=["default", "text-manual", "semantic"],
)
def test_session_update_for_every_scenario_is_valid_ga(
    scenario_id: str, options: SessionOptions
) -> None:
    scenario = load_scenario(SCENARIOS / f"{scenario_id}.json")
    event = events.session_update(session_config(scenario, options))
    assert_client_event(event)
    session = event["session"]
    assert [t["name"] for t in session["tools"]] == scenario.tools
    assert session["audio"]["input"]["transcription"]["language"] == scenario.language_code
    assert scenario.opening in session["instructions"]


def test_session_follows_scenario_preferences_and_options() -> None:
    taxi = load_scenario(SCENARIOS / "a1_taxi_bogota.json")
    session = session_config(taxi)
    vad = session["audio"]["input"]["turn_detection"]
    assert vad["type"] == "server_vad" and vad["silence_duration_ms"] == 800
    assert vad["create_response"] and vad["interrupt_response"]
    assert session["audio"]["output"] == {
        "format": {"type": "audio/pcm", "rate": 24000},
        "voice": "ash",
        "speed": 0.9,
    }
    manual = session_config(taxi, SessionOptions(turn_detection="manual"))
    assert manual["audio"]["input"]["turn_detection"] is None
    text = session_config(taxi, SessionOptions(output_modalities="text"))
    assert text["output_modalities"] == ["text"]


def test_instructions_teach_in_role() -> None:
    taxi = load_scenario(SCENARIOS / "a1_taxi_bogota.json")
    text = tutor_instructions(taxi)
    assert "Jairo" in text and "Spanish (es-CO)" in text and "A1" in text
    assert "grade_lesson" in text and "trigger_quiz" in text
    assert "recasting" in text  # the taxi lesson's gentle correction style
    for step in taxi.steps:
        assert step.tutor in text and step.model_answer in text
