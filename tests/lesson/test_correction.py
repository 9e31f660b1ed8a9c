"""Corrections keep what the learner meant, and tell a near miss from an unrelated line."""

from __future__ import annotations

from tests.conftest import SCENARIOS
from tutor_cli.lesson.correction import choice, fitted, kind_of_miss
from tutor_cli.lesson.judgement import judge
from tutor_cli.lesson.scenario import Scenario, Step, load_scenario


def taxi() -> Scenario:
    return load_scenario(SCENARIOS / "a1_taxi_bogota.json")


def step(scenario: Scenario, step_id: str) -> Step:
    return next(s for s in scenario.steps if s.id == step_id)


def test_the_learners_choice_goes_into_the_model_answer_and_the_hint() -> None:
    destination = step(taxi(), "destination")
    said = "I want to go to the airport"
    assert choice(destination, said) == "Al aeropuerto"
    assert fitted(destination, said, destination.model_answer) == "Al aeropuerto, por favor."
    assert fitted(destination, said, destination.hint).endswith("«Al aeropuerto, por favor.»")
    assert fitted(destination, "no sé", destination.model_answer) == destination.model_answer


def test_a_choice_is_found_as_a_whole_word_without_accents() -> None:
    origin = step(taxi(), "origin")
    assert choice(origin, "Soy de Japón") == "Japón"
    assert choice(origin, "soy de japon") == "Japón"
    assert choice(origin, "I'm from the US") == "Estados Unidos"
    assert choice(origin, "Soy de Bogotá") is None
    assert choice(origin, "Soy de Canadá") == "Canadá"
    assert choice(step(taxi(), "price"), "airport") is None  # no slot at this step


def test_the_longest_word_of_a_slot_wins() -> None:
    hotel = load_scenario(SCENARIOS / "a2_hotel_london.json")
    problem = next(s for s in hotel.steps if s.slot is not None and "toilet paper" in s.slot.words)
    assert choice(problem, "there is no toilet paper") == problem.slot.words["toilet paper"]


def test_misses_are_told_apart() -> None:
    scenario = taxi()
    destination = step(scenario, "destination")

    def miss(text: str) -> str:
        verdict = judge(scenario, destination, text)
        assert not verdict.met
        return kind_of_miss(scenario, destination, text, verdict)

    assert miss("I want to go to the airport") == "own_language"
    assert miss("Me gusta el fútbol") == "off_topic"
    assert miss("aeropuerto") == "near"  # the place, without the way to ask
    assert miss("¿Qué hora es?") == "off_topic"
    assert miss("Vale, gracias.") == "near"  # words of the lesson, not what the step asks
