"""The scripted tutor's teaching logic, without sockets."""

from __future__ import annotations

import itertools

import pytest

from tests.conftest import SCENARIOS, shipped_ids
from tutor_cli.engine.tutor import CallTool, Cue, Say, ScriptedTutor
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


def test_a_match_moves_on_and_praise_is_not_doubled_by_the_next_line() -> None:
    tutor = tutor_for()
    steps = tutor.scenario.steps
    # The next line opens with its own praise ("¡Qué bien!"): no "¡Muy bien! ¡Qué bien!".
    assert spoken(turn(tutor, "¡Hola! Muy bien.")) == steps[1].tutor
    assert tutor.lesson is not None and tutor.lesson.step == 1
    turn(tutor, steps[1].model_answer)
    # A line with no reaction of its own gets the praise.
    assert spoken(turn(tutor, steps[2].model_answer)) == f"¡Excelente! {steps[3].tutor}"


def test_a_near_miss_gets_the_hint_then_the_model_answer_then_moves_on() -> None:
    tutor = tutor_for()
    step = tutor.scenario.steps[0]
    assert spoken(turn(tutor, "Buenas tardes")) == f"Casi. {step.hint}"  # gentle style
    assert spoken(turn(tutor, "Buenas tardes")) == f"Repita conmigo: «{step.model_answer}»"
    assert spoken(turn(tutor, "xyz")).startswith("Bueno, sigamos.")
    assert tutor.lesson is not None and tutor.lesson.step == 1
    assert tutor.lesson.records[0].outcome == "missed"


def test_a_wrong_answer_is_not_praised() -> None:
    tutor = tutor_for()
    for step in tutor.scenario.steps[:2]:
        turn(tutor, step.model_answer)
    reply = spoken(turn(tutor, "Vale, gracias"))  # at the price step: no price asked
    assert not reply.startswith(("¡Excelente!", "¡Muy bien!", "¡Perfecto!", "¡Eso es!"))
    assert reply.startswith("Casi.")
    assert tutor.lesson is not None and tutor.lesson.step == 2


def test_an_english_answer_is_asked_for_in_spanish_keeping_its_meaning() -> None:
    tutor = tutor_for()
    turn(tutor, tutor.scenario.steps[0].model_answer)
    reply = spoken(turn(tutor, "I want to go to the airport"))
    assert reply == "In Spanish, please: «Al aeropuerto, por favor.»"


def test_a_near_miss_keeps_the_learners_choice() -> None:
    tutor = tutor_for()
    turn(tutor, tutor.scenario.steps[0].model_answer)
    reply = spoken(turn(tutor, "aeropuerto"))
    assert reply.startswith("Casi.") and "«Al aeropuerto, por favor.»" in reply
    assert "Tequendama" not in reply
    assert spoken(turn(tutor, "aeropuerto")) == "Repita conmigo: «Al aeropuerto, por favor.»"
    turn(tutor, "Al aeropuerto, por favor.")
    (advice,) = [line for line in tutor.grade()["next_steps"] if "aeropuerto" in line]
    assert advice.endswith("«Al aeropuerto, por favor.»")  # the learner's trip, not the model's


def test_an_off_topic_line_gets_the_task_restated() -> None:
    tutor = tutor_for()
    step = tutor.scenario.steps[0]
    reply = spoken(turn(tutor, "Me gusta el fútbol."))
    assert reply == f"Let's stay with the role-play. {step.objective} {step.tutor}"
    assert "Casi" not in reply


@pytest.mark.parametrize(
    ("style", "lead"), [("immediate", "No exactamente."), ("end_of_session", "A ver, otra vez.")]
)
def test_correction_follows_the_scenario_style(style: str, lead: str) -> None:
    tutor = tutor_for()
    tutor.scenario = tutor.scenario.model_copy(update={"correction_style": style})
    assert spoken(turn(tutor, "Buenas tardes")).startswith(lead)


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
        assert tutor.lesson is not None
        moves = turn(tutor, said(min(tutor.lesson.step, len(steps) - 1)))
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
    goals = tutor.scenario.goals
    # Each goal by the steps that serve it: the price goal needs the price step, missed.
    assert grade["goals_achieved"] == [goals[0], goals[1], goals[3], goals[4]]
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
    assert tutor.grade()["feedback"].startswith("Te detuviste en el paso 1 de")
    turn(tutor, "Quiero una habitación")
    assert spoken(turn(tutor, "Tengo una reserva")).startswith("En inglés, por favor: «")


def test_the_goals_credited_are_those_whose_steps_were_met() -> None:
    tutor = tutor_for()
    turn(tutor, "Buenas tardes, bien")
    turn(tutor, "Al aeropuerto, por favor")
    goals = tutor.scenario.goals
    assert tutor.grade()["goals_achieved"] == [goals[0], goals[1]]


def test_an_early_end_says_how_far_and_names_only_steps_reached() -> None:
    tutor = tutor_for()
    steps = tutor.scenario.steps
    turn(tutor, steps[0].model_answer)
    turn(tutor, "Buenas tardes")  # a miss at the destination step
    grade = tutor.grade()
    assert grade["feedback"].startswith("You stopped at step 2 of 6")
    assert "You finished" not in grade["feedback"]
    named = " ".join(grade["next_steps"])
    assert steps[1].objective in named  # reached, and missed so far
    for later in steps[2:]:
        assert later.objective not in named and later.model_answer not in named
    assert grade["errors"] == [
        {"said": "Buenas tardes", "correction": steps[1].model_answer, "kind": "other"}
    ]


def test_quiz_on_request_then_back_to_the_step() -> None:
    tutor = tutor_for()
    (call,) = turn(tutor, "¿Podemos hacer un quiz?")
    assert call == CallTool("trigger_quiz", {"focus": "mixed", "questions": 4})
    moves = tutor.respond(
        Cue(tool_results=[("trigger_quiz", '{"correct": 2, "total": 4}')], tools=TOOLS)
    )
    assert spoken(moves) == (
        "Resultado del quiz: 2/4. Vale la pena repasar el vocabulario de la lección. "
        "¿Cómo está, sumercé?"
    )


@pytest.mark.parametrize(
    ("output", "said"),
    [
        ('{"correct": 4, "questions": 4}', "Resultado del quiz: 4/4. ¡Buen trabajo!"),
        ('{"correct": 0, "questions": 4}', "Resultado del quiz: 0/4. Vale la pena repasar"),
        ('{"correct": 0, "questions": 4, "skipped": true}', "Dejamos el quiz para otra vez."),
    ],
)
def test_quiz_feedback_follows_the_result(output: str, said: str) -> None:
    tutor = tutor_for()
    moves = tutor.respond(Cue(tool_results=[("trigger_quiz", output)], tools=TOOLS))
    assert spoken(moves).startswith(said)
    assert "0/4. ¡Buen" not in spoken(moves)


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
