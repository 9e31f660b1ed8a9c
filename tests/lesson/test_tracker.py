"""The learner's way through a scenario: steps passed, goals met, what to do now."""

from __future__ import annotations

from tests.conftest import SCENARIOS
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.lesson.tracker import LessonTracker, asks_for_quiz


def taxi_tracker() -> LessonTracker:
    return LessonTracker(load_scenario(SCENARIOS / "a1_taxi_bogota.json"))


def met(tracker: LessonTracker) -> list[str]:
    return [goal.text for goal in tracker.goals() if goal.met]


def test_each_goal_is_credited_by_the_steps_that_serve_it() -> None:
    tracker = taxi_tracker()
    goals = tracker.scenario.goals
    tracker.heard("Buenas tardes, bien")
    assert met(tracker) == [goals[0]]  # greeting
    tracker.heard("Al aeropuerto, por favor")
    assert met(tracker) == [goals[0], goals[1]]  # and the destination, not the price
    assert tracker.current is not None and tracker.current.id == "price"


def test_a_goal_served_by_two_steps_needs_both() -> None:
    tracker = taxi_tracker()
    for text in ("Buenas tardes, bien", "Al aeropuerto", "¿Cuánto cuesta?"):
        tracker.heard(text)
    price_goal = tracker.scenario.goals[2]
    assert price_goal not in met(tracker)  # the price is asked, not yet accepted
    tracker.heard("Sí, está bien")
    assert price_goal in met(tracker)


def test_the_third_miss_moves_on_and_the_goal_stays_unmet() -> None:
    tracker = taxi_tracker()
    progress = [tracker.heard("hello") for _ in range(3)]
    assert [p.step if p else None for p in progress] == [1, 1, 2]
    assert tracker.records[0].outcome == "missed"
    assert met(tracker) == []
    assert progress[-1] is not None and progress[-1].objective == "Say where you want to go."


def test_a_right_answer_after_misses_passes_with_its_try_counted() -> None:
    tracker = taxi_tracker()
    first = tracker.attempt("Buenas tardes")  # greets but says nothing of how
    assert first is not None and first.verdict is not None and not first.moved_on
    second = tracker.attempt("Buenas tardes, muy bien, gracias")
    assert second is not None and second.moved_on and second.tries == 2
    assert tracker.records[0].outcome == "second_try"


def test_a_quiz_request_is_not_an_attempt() -> None:
    tracker = taxi_tracker()
    assert asks_for_quiz("Quiero un quiz, por favor")
    assert tracker.heard("Quiero un quiz, por favor") is None
    assert tracker.records[0].attempts == []


def test_an_unchecked_spoken_turn_moves_on_without_a_goal() -> None:
    tracker = taxi_tracker()
    progress = tracker.heard(None)
    assert progress is not None and progress.step == 2
    assert tracker.records[0].outcome == "unchecked"
    assert met(tracker) == []


def test_the_grade_has_the_last_word_and_completes_the_lesson() -> None:
    tracker = taxi_tracker()
    tracker.heard("Buenas tardes, muy bien")
    goals = tracker.scenario.goals
    progress = tracker.take_grade([goals[1].upper() + "."])  # copied loosely by a model
    assert progress.complete
    assert [goal.met for goal in progress.goals] == [False, True, False, False, False]


def test_after_the_last_step_there_is_no_objective() -> None:
    tracker = taxi_tracker()
    for step in tracker.scenario.steps:
        tracker.heard(step.model_answer)
    assert tracker.finished and tracker.current is None
    progress = tracker.progress()
    assert progress.objective is None and not progress.complete
    assert all(goal.met for goal in progress.goals)
    assert tracker.heard("¡Chao!") is None  # nothing left to attempt
