"""The offline tutor's brain: walks a scenario's steps, deterministically.

Each learner turn is checked against the current step's `accept` patterns. A match gets brief
praise and the next step's line; a miss gets a correction in the scenario's style and the hint;
a second miss gets the model answer to repeat; the turn after that moves on whatever was said.
So every lesson ends within 3 x steps learner turns. At the end the tutor calls `trigger_quiz`
(once) and `grade_lesson`, whose arguments come from the step results, then closes in role.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import re2

from tutor_cli.engine.accept import check_patterns, matches
from tutor_cli.engine.arguments import Percentage, plain, shaped_arguments
from tutor_cli.engine.phrases import QUIZ_REQUEST, feedback_for, phrases_for
from tutor_cli.lesson.folding import fold
from tutor_cli.lesson.scenario import Scenario
from tutor_cli.tools.outcomes import QuizAnswered, read_outcome


@dataclass(frozen=True)
class Say:
    """Speak (or write) this text."""

    text: str


@dataclass(frozen=True)
class CallTool:
    """Call a tool with these arguments."""

    name: str
    arguments: dict[str, Any]


Move = Say | CallTool


@dataclass
class Cue:
    """What happened since the tutor last replied, and what this response allows."""

    learner: list[str | None] = field(default_factory=list)  # None: spoken, not transcribed
    tool_results: list[tuple[str, str]] = field(default_factory=list)  # (tool name, output)
    # The tools this response may call, as declared: name -> its parameters' JSON Schema.
    tools: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    forced_tool: str | None = None  # one of `tools`
    instructions: str | None = None  # per-response instructions, if any


Outcome = Literal["first_try", "second_try", "after_model", "missed", "unchecked"]
WEIGHTS: dict[str, float] = {"first_try": 1.0, "second_try": 0.7, "after_model": 0.4}


@dataclass
class StepRecord:
    attempts: list[str | None] = field(default_factory=list)
    outcome: Outcome | None = None


# Run by RE2 too: instructions come from any client, and `re` would take quadratic time over
# many an unclosed `say «`.
_SAY = re2.compile(r"""(?i)\bsay\b\s*:?\s*["“«](?P<text>[^"”»]+)["”»]""")


class ScriptedTutor:
    """A deterministic tutor for one scenario (or, with none, a generic conversation partner)."""

    def __init__(self, scenario: Scenario | None) -> None:
        """Raises PatternUnsupported for a scenario whose accept patterns the tutor cannot
        match in linear time (the engine refuses such a scenario when it loads it)."""
        for step in scenario.steps if scenario else []:
            check_patterns(step.accept)
        self.scenario = scenario
        language = scenario.language if scenario else "en"
        self.phrases = phrases_for(language)
        self.step = 0
        self.records = [StepRecord() for _ in scenario.steps] if scenario else []
        self.started = False
        self.quizzed = False
        self.graded = False
        self.free_turns = 0

    @property
    def finished(self) -> bool:
        """All steps are behind the learner."""
        return self.scenario is not None and self.step >= len(self.scenario.steps)

    # --- the one entry point ------------------------------------------------------------------

    def respond(self, cue: Cue) -> list[Move]:
        """The tutor's next reply: text to say and/or tools to call, in order."""
        if cue.forced_tool is not None and cue.forced_tool in cue.tools:
            return [self._call(cue.forced_tool, cue)]
        if cue.instructions:
            asked = self._from_instructions(cue)
            if asked:
                return asked
        if cue.tool_results:
            return self._after_tools(cue)
        if not self.started:
            self.started = True
            return [Say(self._opening())]
        if not cue.learner:
            return [Say(self._current_line())]
        moves: list[Move] = []
        for text in cue.learner:
            moves = self._learner_turn(text, cue)
        return moves

    # --- pieces -------------------------------------------------------------------------------

    def _opening(self) -> str:
        if self.scenario is None:
            return "Hello! I'm your practice partner. What would you like to talk about?"
        return f"{self.scenario.opening} {self.scenario.steps[0].tutor}"

    def _current_line(self) -> str:
        if self.scenario is None:
            return "Tell me more!"
        if self.finished:
            return self.phrases.lesson_over
        return self.scenario.steps[self.step].tutor

    def _from_instructions(self, cue: Cue) -> list[Move]:
        """Per-response instructions it understands: a tool named, or a line to say."""
        text = cue.instructions or ""
        said = _SAY.search(text)
        if said:
            return [Say(said.group("text").strip())]
        for name in sorted(cue.tools):
            if re.search(rf"\b{re.escape(name)}\b", text):
                return [self._call(name, cue)]
        return []

    def _after_tools(self, cue: Cue) -> list[Move]:
        moves: list[Move] = []
        for name, output in cue.tool_results:
            if name == "grade_lesson":
                self.graded = True
                return [Say(self.phrases.farewell)]
            if name == "trigger_quiz":
                score = _quiz_score(output)
                said = self.phrases.quiz_result.format(score=score) if score else None
                moves = [Say(said or self.phrases.quiz_done)]
        if self.finished and not self.graded and "grade_lesson" in cue.tools:
            return [*moves, self._call("grade_lesson", cue)]
        if not self.finished:
            moves.append(Say(self._current_line()))
        return moves or [Say(self._current_line())]

    def _wrap_up(self, said: str, cue: Cue) -> list[Move]:
        """The last step is done: quiz once, then grade, as far as the tools allow."""
        if not self.quizzed and "trigger_quiz" in cue.tools:
            self.quizzed = True
            return [Say(said), self._call("trigger_quiz", cue)]
        if not self.graded and "grade_lesson" in cue.tools:
            return [Say(said), self._call("grade_lesson", cue)]
        return [Say(f"{said} {self.phrases.farewell}")]

    def _learner_turn(self, text: str | None, cue: Cue) -> list[Move]:
        p = self.phrases
        if self.scenario is None:
            self.free_turns += 1
            if text is None:
                return [Say(f"{p.did_not_catch} Tell me more!")]
            return [Say(f"You said: “{text.strip()}”. Tell me more!")]
        if text is not None and "trigger_quiz" in cue.tools and re.search(QUIZ_REQUEST, fold(text)):
            self.quizzed = True
            return [self._call("trigger_quiz", cue)]
        if self.finished:
            return [Say(p.lesson_over)]
        step = self.scenario.steps[self.step]
        record = self.records[self.step]
        record.attempts.append(text)
        tries = len(record.attempts)
        if text is None:
            # No offline recogniser for this language: the turn is an attempt we cannot check.
            record.outcome = "unchecked"
            return self._advance(f"{p.did_not_catch} {p.one_way} «{step.model_answer}»", cue)
        if matches(step.accept, text):
            record.outcome = ("first_try", "second_try", "after_model")[min(tries, 3) - 1]
            return self._advance(p.praise[self.step % len(p.praise)], cue)
        if tries == 1:
            lead = {
                "immediate": p.not_quite,
                "gentle": p.almost,
                "end_of_session": p.try_again,
            }[self.scenario.correction_style]
            return [Say(f"{lead} {step.hint}")]
        if tries == 2:
            return [Say(f"{p.repeat_after_me} «{step.model_answer}»")]
        record.outcome = "missed"
        return self._advance(p.move_on, cue)

    def _advance(self, said: str, cue: Cue) -> list[Move]:
        assert self.scenario is not None
        self.step += 1
        if self.finished:
            return self._wrap_up(said, cue)
        return [Say(f"{said} {self.scenario.steps[self.step].tutor}")]

    # --- tool arguments -----------------------------------------------------------------------

    def _call(self, name: str, cue: Cue) -> CallTool:
        """A call of a tool the cue declares, with arguments shaped to its declaration."""
        return CallTool(name, self.arguments_for(name, cue.tools[name]))

    def arguments_for(self, name: str, schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Arguments for a call of `name`, computed from what happened in the lesson and shaped
        to the parameters `schema` the client declared (None: the tutor's own arguments)."""
        own: dict[str, Any] = {}
        if name == "grade_lesson":
            own = {**self.grade()}
            own["score"] = Percentage(own["score"])  # so a score out of 1 or 10 means the same
        elif name == "trigger_quiz":
            own = {"focus": "mixed", "questions": 4}
        if schema is None:
            return dict(plain(own))
        return shaped_arguments(schema, own, self._lesson_facts())

    def _lesson_facts(self) -> dict[str, Any]:
        """What any tool may be told about the lesson, under the names clients give it."""
        if self.scenario is None:
            return {"language": "en"}
        level = self.scenario.level
        return {
            "scenario": self.scenario.id,
            "topic": self.scenario.title,
            "language": self.scenario.language,
            "level": level,
            "cefr_level": level,
        }

    def grade(self) -> dict[str, Any]:
        """The `grade_lesson` arguments: score, goals met, errors, feedback, next steps."""
        if self.scenario is None:
            score = min(100, 25 * self.free_turns)
            return {
                "score": score,
                "goals_achieved": [],
                "errors": [],
                "feedback": "Free conversation: the score counts your turns (4 turns make 100).",
                "next_steps": ["Choose a scenario with 'tutor list' for a guided lesson."],
            }
        steps = self.scenario.steps
        checked = [r for r in self.records if r.outcome != "unchecked"]
        points = sum(WEIGHTS.get(r.outcome or "", 0.0) for r in checked)
        score = round(100 * points / len(checked)) if checked else 0
        passed = [r.outcome in WEIGHTS for r in self.records]
        goals = self.scenario.goals
        # Goals are not tied to steps in the file: goal i covers an equal share of the steps.
        achieved = [
            goal
            for i, goal in enumerate(goals)
            if all(passed[j] for j in range(len(steps)) if j * len(goals) // len(steps) == i)
        ]
        errors = [
            {"said": said, "correction": step.model_answer, "kind": "other"}
            for step, record in zip(steps, self.records, strict=True)
            for said in record.attempts
            if said is not None and not matches(step.accept, said)
        ]
        words = feedback_for(self.scenario.learner_language)
        weak = [s for s, r in zip(steps, self.records, strict=True) if r.outcome != "first_try"]
        verdict = "great" if score >= 90 else "good" if score >= 60 else "practice"
        feedback = words[verdict]
        if any(r.outcome == "unchecked" for r in self.records):
            feedback += " " + words["unchecked"]
        next_steps = [
            words["next"].format(step=step.objective, answer=step.model_answer) for step in weak[:3]
        ] or [words["again"]]
        return {
            "score": score,
            "goals_achieved": achieved,
            "errors": errors,
            "feedback": feedback,
            "next_steps": next_steps,
        }


def _quiz_score(output: str) -> str | None:
    """A quiz result as "3/4", from whatever shape of output the client sent; None when the
    output says no result the tutor can read."""
    effect = read_outcome("trigger_quiz", output).effect
    return f"{effect.correct}/{effect.questions}" if isinstance(effect, QuizAnswered) else None
