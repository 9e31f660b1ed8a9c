"""How far a learner has come through a scenario: the current step, each step's outcome, and
which goals are met.

The offline tutor walks its lesson with this tracker, and the call screen keeps one of its
own fed with the same learner turns, so the goals panel ticks exactly when the offline tutor
moves on. With a model tutor the screen's tracker is the client's own reading of the lesson
(the model may move on differently); the grade the tutor records at the end is what counts,
and `take_grade` makes the panel agree with it.

The rules: a turn that meets the current step (see `judgement.judge`) passes it; a turn that
cannot be checked (spoken, with no transcript) moves on unchecked; the third turn that misses
moves on as missed. A request for a quiz is not an attempt at the step.
"""

from __future__ import annotations

import re
from dataclasses import field
from typing import Literal

from tutor_cli.datatypes import datatype
from tutor_cli.lesson.folding import fold
from tutor_cli.lesson.judgement import Verdict, judge
from tutor_cli.lesson.scenario import Scenario, Step
from tutor_cli.lesson.updates import Goal, LessonProgress, goal_key

Outcome = Literal["first_try", "second_try", "after_model", "missed", "unchecked"]
PASSED: tuple[Outcome, ...] = ("first_try", "second_try", "after_model")
TRIES = 3  # the turn after the model answer moves on whatever was said

QUIZ_REQUEST = (
    r"\b(quiz|test|exercise|ejercicio|examen|prueba|exercice|interro|ubung|prufung"
    r"|esercizio|verifica|exercicio|teste)\b"
)


def asks_for_quiz(text: str) -> bool:
    """Whether a learner turn asks for a quiz (in any of the lessons' languages)."""
    return re.search(QUIZ_REQUEST, fold(text)) is not None


@datatype(frozen=False)
class StepRecord:
    """What the learner said at one step, and how the step ended (None while it is open)."""

    attempts: list[str | None] = field(default_factory=list)
    outcome: Outcome | None = None


@datatype
class Attempt:
    """What one learner turn did at a step: its verdict (None when it could not be checked),
    the step's number of tries so far, and whether the lesson moved on to the next step."""

    step: Step
    verdict: Verdict | None
    tries: int
    moved_on: bool


class LessonTracker:
    """A learner's way through one scenario's steps."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.step = 0
        self.records = [StepRecord() for _ in scenario.steps]
        self._graded: frozenset[str] | None = None

    @property
    def finished(self) -> bool:
        """Every step is behind the learner."""
        return self.step >= len(self.scenario.steps)

    @property
    def current(self) -> Step | None:
        """The step the learner is at, or None once the lesson's steps are done."""
        return None if self.finished else self.scenario.steps[self.step]

    def attempt(self, text: str | None) -> Attempt | None:
        """Take one learner turn (None: spoken, with no transcript). None when there is no
        step left to attempt."""
        step = self.current
        if step is None:
            return None
        record = self.records[self.step]
        record.attempts.append(text)
        tries = len(record.attempts)
        verdict = None if text is None else judge(self.scenario, step, text)
        if verdict is None:
            record.outcome = "unchecked"
        elif verdict.met:
            record.outcome = PASSED[min(tries, TRIES) - 1]
        elif tries >= TRIES:
            record.outcome = "missed"
        moved_on = record.outcome is not None
        if moved_on:
            self.step += 1
        return Attempt(step, verdict, tries, moved_on)

    def heard(self, text: str | None) -> LessonProgress | None:
        """A learner turn of a live lesson: where the lesson is now, if the turn was an attempt
        at a step (a request for a quiz is not)."""
        if text is not None and "trigger_quiz" in self.scenario.tools and asks_for_quiz(text):
            return None
        return None if self.attempt(text) is None else self.progress()

    def progress(self) -> LessonProgress:
        step = self.current
        return LessonProgress(
            tuple(self.goals()),
            None if step is None else step.objective,
            self.step + 1,
            len(self.scenario.steps),
            complete=self._graded is not None,
        )

    def passed(self, index: int) -> bool:
        return self.records[index].outcome in PASSED

    def goals(self) -> list[Goal]:
        """The scenario's goals in order, each met when every step serving it was passed (or,
        once the tutor has graded, when the grade says so)."""
        served: dict[int, list[int]] = {}
        for index, step in enumerate(self.scenario.steps):
            for number in step.goals:
                served.setdefault(number, []).append(index)
        return [
            Goal(
                text,
                goal_key(text) in self._graded
                if self._graded is not None
                else all(self.passed(i) for i in served.get(number, [])),
            )
            for number, text in enumerate(self.scenario.goals, start=1)
        ]

    def take_grade(self, goals_achieved: list[str]) -> LessonProgress:
        """The tutor has graded the lesson: it is complete, and the grade has the last word on
        which goals were met."""
        self._graded = frozenset(goal_key(goal) for goal in goals_achieved)
        return self.progress()
