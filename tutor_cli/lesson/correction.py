"""What a correction should say to a turn that missed its step, keeping the learner's meaning.

A learner who says "I want to go to the airport" should hear "Al aeropuerto, por favor", not
the scenario's fixed model answer "Al hotel Tequendama, por favor". A step with a `slot` lists
the choices a learner may name (in either language); the one named replaces the slot's words
in the model answer and the hint. And a turn that has nothing to do with the step is told
apart from a near miss, so the tutor can restate the task instead of saying "almost".
"""

from __future__ import annotations

import re
from typing import Literal

from tutor_cli.lesson.folding import fold
from tutor_cli.lesson.judgement import Verdict
from tutor_cli.lesson.patterns import found
from tutor_cli.lesson.scenario import Scenario, Step

Miss = Literal["own_language", "off_topic", "near"]


def choice(step: Step, text: str) -> str | None:
    """The slot value the learner named ("airport" -> "Al aeropuerto"), if the step has a slot
    and one of its words is in the turn; the longest word wins ("toilet paper" over "toilet")."""
    if step.slot is None:
        return None
    said = fold(text)
    for word in sorted(step.slot.words, key=len, reverse=True):
        if re.search(rf"\b{re.escape(fold(word))}\b", said):
            return step.slot.words[word]
    return None


def fitted(step: Step, text: str, line: str) -> str:
    """`line` (the model answer, or a hint quoting it) with the learner's choice in the slot."""
    named = choice(step, text)
    if named is None or step.slot is None:
        return line
    return line.replace(step.slot.fills, named)


def kind_of_miss(scenario: Scenario, step: Step, text: str, verdict: Verdict) -> Miss:
    """Why a turn missed: in the learner's own language; close (it has part of what the step
    asks for, a choice the step knows, a refused phrase the hint corrects, or words of the
    lesson, as "Vale, gracias" has where the price must be asked); or nothing to do with the
    lesson ("Me gusta el fútbol")."""
    if verdict.reason == "own_language":
        return "own_language"
    if verdict.reason == "rejected" or choice(step, text) is not None:
        return "near"
    if any(found(pattern, text) for pattern in (*step.accept, *step.require)):
        return "near"
    return "near" if _words(text) & lesson_words(scenario) else "off_topic"


def _words(text: str) -> set[str]:
    # Words of four letters or more: "el", "de", "la" say nothing of what a turn is about.
    return {word for word in re.findall(r"\w{4,}", fold(text))}


def lesson_words(scenario: Scenario) -> frozenset[str]:
    """Every word the lesson itself uses: its lines, hints, model answers and vocabulary."""
    texts = [scenario.opening]
    for step in scenario.steps:
        texts += [step.tutor, step.hint, step.model_answer]
    for item in scenario.vocabulary:
        texts += [item.term, item.example]
    return frozenset(word for text in texts for word in _words(text))
