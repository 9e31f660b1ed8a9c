"""The tutor's judgement of learners' answers, for every shipped lesson: each step's model
answer meets it and no other step, and a corpus of labelled answers a learner would really
give is judged as labelled (the same checks `tutor check` runs for lesson authors)."""

from __future__ import annotations

import pytest

from tests.conftest import SCENARIOS, shipped_ids
from tutor_cli.lesson.check import (
    ACCEPTED_KINDS,
    AGREEMENT,
    ALWAYS_REFUSED,
    check,
    load_answers,
)
from tutor_cli.lesson.judgement import judge
from tutor_cli.lesson.scenario import load_scenario

MIN_PER_STEP = 8


@pytest.mark.parametrize("scenario_id", shipped_ids())
def test_every_lesson_judges_its_corpus_as_labelled(scenario_id: str) -> None:
    scenario = load_scenario(SCENARIOS / f"{scenario_id}.json")
    answers = load_answers(SCENARIOS / "answers" / f"{scenario_id}.toml", scenario)
    assert set(answers) == {step.id for step in scenario.steps}, "a corpus entry per step"
    for step_id, kinds in answers.items():
        accepted = sum(len(v) for k, v in kinds.items() if k in ACCEPTED_KINDS)
        refused = sum(len(v) for k, v in kinds.items() if k not in ACCEPTED_KINDS)
        assert accepted + refused >= MIN_PER_STEP, step_id
        assert accepted >= MIN_PER_STEP // 2 and refused >= MIN_PER_STEP // 2, step_id
        own = kinds.get("english") or kinds.get("own_language")
        assert own and kinds.get("off_topic") and kinds.get("other_step"), step_id
    report = check(scenario, answers)
    assert not report.model_answer_problems
    assert not report.wrongly_accepted, [(j.step, j.text) for j in report.wrongly_accepted]
    assert report.agreement >= AGREEMENT, [(j.step, j.kind, j.text) for j in report.disagreements]


def test_what_the_judgement_looks_at() -> None:
    taxi = load_scenario(SCENARIOS / "a1_taxi_bogota.json")
    steps = {step.id: step for step in taxi.steps}
    # require: a greeting alone is not enough when the step asks how you are too
    assert judge(taxi, steps["greeting"], "Buenas tardes.").reason == "missing"
    assert judge(taxi, steps["greeting"], "Buenas tardes, muy bien.").met
    # reject: "vale" alone is not a question about the price
    assert not judge(taxi, steps["price"], "Vale, gracias.").met
    assert judge(taxi, steps["price"], "¿Cuánto vale?").met
    # the learner's own language is told apart, and accents do not matter
    assert judge(taxi, steps["destination"], "I want to go to the airport").reason == (
        "own_language"
    )
    assert judge(taxi, steps["price"], "cuanto cuesta").met
    assert judge(taxi, steps["price"], "  ").reason == "empty"
    assert {"english", "off_topic", "other_step"} <= ALWAYS_REFUSED
