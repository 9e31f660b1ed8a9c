"""The scripted tutor's teaching logic, without sockets."""

from __future__ import annotations

import itertools

import pytest

from tests.conftest import SCENARIOS, shipped_ids
from tutor_cli.engine.tutor import CallTool, Cue, Say, ScriptedTutor, matches
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.tools.specs import TOOL_SPECS

TOOLS = {name: spec["parameters"] for name, spec in TOOL_SPECS.items()}


def tutor_for(scenario_id: str = "a1_taxi_bogota") -> ScriptedTutor:
    tutor = ScriptedTutor(load_scenario(SCENARIOS / f"{scenario_id}.json"))
    tutor.respond(Cue(tools=TOOLS))  # the opening
    return tutor


def turn(tutor: ScriptedTutor, text: str | None) -> list:
    return tutor.respond(Cue(learner=[text], tools=TOOLS))


def spoken(moves: list) -> str:
    return " ".join(m.text for m in moves if isinstance(m, Say))


def test_opening_is_the_scenario_opening_then_the_first_step() -> None:
    scenario = load_scenario(SCENARIOS / "a1_taxi_bogota.json")
    (opening,) = ScriptedTutor(scenario).respond(Cue(tools=TOOLS))
    assert opening == Say(f"{scenario.opening} {scenario.steps[0].tutor}")


def test_match_praises_and_moves_on() -> None:
    tutor = tutor_for()
    reply = spoken(turn(tutor, "¡Hola! Muy bien."))
    assert reply.startswith("¡Muy bien!") and reply.endswith("¿Para dónde lo llevo?")
    assert tutor.step == 1


def test_miss_hint_then_model_answer_then_move_on() -> None:
    tutor = tutor_for()
    step = tutor.scenario.steps[0]
    assert spoken(turn(tutor, "xyz")) == f"Casi. {step.hint}"  # gentle style
    assert spoken(turn(tutor, "xyz")) == f"Repita conmigo: «{step.model_answer}»"
    assert spoken(turn(tutor, "xyz")).startswith("Bueno, sigamos.")
    assert tutor.step == 1 and tutor.records[0].outcome == "missed"


@pytest.mark.parametrize(
    ("style", "lead"), [("immediate", "No exactamente."), ("end_of_session", "A ver, otra vez.")]
)
def test_correction_follows_the_scenario_style(style: str, lead: str) -> None:
    tutor = tutor_for()
    tutor.scenario = tutor.scenario.model_copy(update={"correction_style": style})
    assert spoken(turn(tutor, "xyz")).startswith(lead)


def test_accent_and_case_tolerant_matching() -> None:
    assert matches([r"\bcuanto\b"], "¿CUÁNTO cuesta?")
    assert matches([r"¿cuánto"], "¿Cuánto cuesta?")
    assert not matches([r"\bcuanto\b"], "cuantos")


@pytest.mark.parametrize("scenario_id", shipped_ids())
@pytest.mark.parametrize("learner", ["model", "silent", "wrong", "spoken"])
def test_every_lesson_ends_within_three_turns_a_step(scenario_id: str, learner: str) -> None:
    tutor = tutor_for(scenario_id)
    steps = tutor.scenario.steps
    said = {
        "model": lambda i: steps[min(i, len(steps) - 1)].model_answer,
        "silent": lambda i: "",
        "wrong": lambda i: "qwerty zxcv",
        "spoken": lambda i: None,
    }[learner]
    for count in itertools.count(1):
        moves = turn(tutor, said(tutor.step if tutor.step < len(steps) else 0))
        if any(isinstance(m, CallTool) for m in moves):
            break
        assert count <= 3 * len(steps), "the lesson did not end"
    assert tutor.finished
    assert [m.name for m in moves if isinstance(m, CallTool)] == ["trigger_quiz"]


def test_grade_reflects_the_step_results() -> None:
    tutor = tutor_for()
    steps = tutor.scenario.steps
    turn(tutor, steps[0].model_answer)  # first try
    turn(tutor, "nada")
    turn(tutor, steps[1].model_answer)  # second try
    for _ in range(3):
        turn(tutor, "nada")  # missed
    for step in steps[3:]:
        turn(tutor, step.model_answer)
    grade = tutor.grade()
    assert grade["score"] == round(100 * (1 + 0.7 + 0 + 3) / 6)
    assert grade["errors"][0] == {
        "said": "nada",
        "correction": steps[1].model_answer,
        "kind": "other",
    }
    assert len(grade["errors"]) == 4
    assert tutor.scenario.goals[0] in grade["goals_achieved"]
    assert tutor.scenario.goals[1] not in grade["goals_achieved"]  # the destination step
    assert any(steps[2].objective in line for line in grade["next_steps"])
    assert steps[1].model_answer in grade["next_steps"][0]
    assert grade["feedback"]


def test_unchecked_spoken_turns_are_not_scored_as_errors() -> None:
    tutor = tutor_for()
    for _ in tutor.scenario.steps:
        turn(tutor, None)
    grade = tutor.grade()
    assert grade["errors"] == [] and grade["score"] == 0
    assert "could not be checked" in grade["feedback"]


def test_feedback_is_in_the_learners_language() -> None:
    tutor = tutor_for("a2_hotel_london")  # English for Spanish speakers
    assert tutor.grade()["feedback"].startswith("Terminaste")


def test_quiz_on_request_then_back_to_the_step() -> None:
    tutor = tutor_for()
    (call,) = turn(tutor, "¿Podemos hacer un quiz?")
    assert call == CallTool("trigger_quiz", {"focus": "mixed", "questions": 4})
    moves = tutor.respond(
        Cue(tool_results=[("trigger_quiz", '{"correct": 2, "total": 4}')], tools=TOOLS)
    )
    assert spoken(moves) == "Resultado del quiz: 2/4. ¡Buen trabajo! ¿Cómo está, sumercé?"


def test_end_of_lesson_quiz_grade_then_farewell() -> None:
    tutor = tutor_for()
    for step in tutor.scenario.steps:
        moves = turn(tutor, step.model_answer)
    assert isinstance(moves[-1], CallTool) and moves[-1].name == "trigger_quiz"
    moves = tutor.respond(Cue(tool_results=[("trigger_quiz", "{}")], tools=TOOLS))
    assert isinstance(moves[-1], CallTool) and moves[-1].name == "grade_lesson"
    assert moves[-1].arguments["score"] == 100
    moves = tutor.respond(Cue(tool_results=[("grade_lesson", "{}")], tools=TOOLS))
    assert moves == [Say("¡Muchas gracias por la clase! ¡Hasta pronto!")]
    assert spoken(turn(tutor, "hola")) == "La lección ya terminó. ¡Hasta pronto!"


def test_forced_tool_and_instructions() -> None:
    tutor = tutor_for()
    (call,) = tutor.respond(Cue(tools=TOOLS, forced_tool="grade_lesson"))
    assert call.name == "grade_lesson" and call.arguments["score"] == 0
    (call,) = tutor.respond(Cue(tools=TOOLS, instructions="Now call grade_lesson please."))
    assert call.name == "grade_lesson"
    assert tutor.respond(Cue(tools=TOOLS, instructions="Say: «Un momento.»")) == [
        Say("Un momento.")
    ]


def test_a_forced_tool_that_is_not_declared_is_not_called() -> None:
    tutor = tutor_for()
    only_grade = {"grade_lesson": TOOLS["grade_lesson"]}
    moves = tutor.respond(Cue(learner=["hola"], tools=only_grade, forced_tool="trigger_quiz"))
    assert moves and not any(isinstance(m, CallTool) for m in moves)


def test_no_tools_allowed_means_no_tool_calls() -> None:
    tutor = tutor_for()
    for step in tutor.scenario.steps:
        moves = tutor.respond(Cue(learner=[step.model_answer]))
    assert not any(isinstance(m, CallTool) for m in moves)
    assert "¡Hasta pronto!" in spoken(moves)


def test_same_inputs_same_lesson() -> None:
    def run() -> list:
        tutor = tutor_for("b1_train_lyon")
        return [turn(tutor, text) for text in ["bonjour", "", "j'ai raté ma correspondance", None]]

    assert run() == run()


@pytest.mark.parametrize(
    ("output", "said"),
    [
        ('{"correct": 2, "total": 4}', "Resultado del quiz: 2/4."),
        ('{"score": 3, "total": 5}', "Resultado del quiz: 3/5."),
        ('{"score": "3/4"}', "Resultado del quiz: 3/4."),
        ('{"answered": [{"correct": true}, {"correct": false}, {"correct": true}]}', "2/3."),
        ('{"status": "shown"}', "Gracias por hacer el quiz."),
        ("the learner closed the quiz", "Gracias por hacer el quiz."),
        ('{"ok": false, "error": "no screen"}', "Gracias por hacer el quiz."),
        ('{"score": 0.75}', "Gracias por hacer el quiz."),
    ],
)
def test_a_quiz_result_of_any_shape_is_told_or_thanked_for(output: str, said: str) -> None:
    tutor = tutor_for()
    moves = tutor.respond(Cue(tool_results=[("trigger_quiz", output)], tools=TOOLS))
    assert said in spoken(moves) and "?." not in spoken(moves)


def test_instructions_from_any_client_are_read_in_linear_time() -> None:
    # Python's re took 12 s over 64,000 characters of unclosed `say «`, quadratically more
    # beyond; the tutor reads instructions with RE2.
    tutor = tutor_for()
    moves = tutor.respond(Cue(tools=TOOLS, instructions="say «ab " * 100_000))
    assert moves == [Say(tutor.scenario.steps[0].tutor)]
