"""The offline tutor's brain: walks a scenario's steps, deterministically.

Each learner turn is judged against the current step (`lesson.judgement`), and the lesson
walked as `lesson.tracker` walks it, the same way the call screen follows it. A turn that meets
the step gets brief praise (unless the next line opens with its own) and the next step's line.
A miss gets a correction that keeps the learner's meaning (`lesson.correction`): "In Spanish,
please: «…»" for a turn in the learner's own language, the task restated for an unrelated one,
and for a near miss a lead-in in the scenario's correction style with the hint; a second miss
gets the model answer to repeat; the turn after that moves on whatever was said. So every
lesson ends within 3 x steps learner turns. At the end the tutor calls `trigger_quiz` (once)
and `grade_lesson`, whose arguments come from the step results, then closes in role.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from typing import Any

import re2

from tutor_cli.datatypes import datatype
from tutor_cli.engine.arguments import Percentage, plain, shaped_arguments
from tutor_cli.engine.phrases import feedback_for, language_name, phrases_for
from tutor_cli.lesson.correction import fitted, kind_of_miss
from tutor_cli.lesson.judgement import Verdict, judge
from tutor_cli.lesson.scenario import Scenario, Step
from tutor_cli.lesson.tracker import PASSED, Attempt, LessonTracker, asks_for_quiz
from tutor_cli.tools.outcomes import QuizAnswered, read_outcome


@datatype
class Say:
    """Speak (or write) this text."""

    text: str


@datatype
class CallTool:
    """Call a tool with these arguments."""

    name: str
    arguments: dict[str, Any]


Move = Say | CallTool


@datatype(frozen=False)
class Cue:
    """What happened since the tutor last replied, and what this response allows."""

    learner: list[str | None] = field(default_factory=list)  # None: spoken, not transcribed
    tool_results: list[tuple[str, str]] = field(default_factory=list)  # (tool name, output)
    # The tools this response may call, as declared: name -> its parameters' JSON Schema.
    tools: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    forced_tool: str | None = None  # one of `tools`
    instructions: str | None = None  # per-response instructions, if any


WEIGHTS: dict[str, float] = {"first_try": 1.0, "second_try": 0.7, "after_model": 0.4}

# A line that opens with a short reaction ("¡Qué bien! ¿Para dónde…", "Parfait. Et…") is its
# own praise: saying "¡Muy bien!" before it would double it.
_REACTION = re.compile(r"^\W*(\w+\W+){0,2}\w+\s*[!.](\s|$)")


# Run by RE2 too: instructions come from any client, and `re` would take quadratic time over
# many an unclosed `say «`.
_SAY = re2.compile(r"""(?i)\bsay\b\s*:?\s*["“«](?P<text>[^"”»]+)["”»]""")


class ScriptedTutor:
    """A deterministic tutor for one scenario (or, with none, a generic conversation partner)."""

    def __init__(self, scenario: Scenario | None) -> None:
        self.scenario = scenario
        self.lesson = LessonTracker(scenario) if scenario else None
        self.phrases = phrases_for(scenario.language if scenario else "en")
        self.words = feedback_for(scenario.learner_language if scenario else "en")
        self.started = False
        self.quizzed = False
        self.graded = False
        self.free_turns = 0

    @property
    def finished(self) -> bool:
        """All steps are behind the learner."""
        return self.lesson is not None and self.lesson.finished

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
        step = self.lesson.current if self.lesson else None
        if self.lesson is None:
            return "Tell me more!"
        return self.phrases.lesson_over if step is None else step.tutor

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
                moves = [Say(self._quiz_reply(output))]
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

    def _quiz_reply(self, output: str) -> str:
        """What the quiz came to, said as it is: praise for a good result only."""
        p = self.phrases
        effect = read_outcome("trigger_quiz", output).effect
        if not isinstance(effect, QuizAnswered):
            return p.quiz_done
        if effect.skipped:
            return p.quiz_skipped
        result = p.quiz_result.format(score=f"{effect.correct}/{effect.questions}")
        good = effect.questions > 0 and effect.correct / effect.questions >= 0.75
        return f"{result} {p.quiz_well if good else p.quiz_review}"

    def _learner_turn(self, text: str | None, cue: Cue) -> list[Move]:
        p = self.phrases
        if self.lesson is None:
            self.free_turns += 1
            if text is None:
                return [Say(f"{p.did_not_catch} Tell me more!")]
            return [Say(f"You said: “{text.strip()}”. Tell me more!")]
        if text is not None and "trigger_quiz" in cue.tools and asks_for_quiz(text):
            self.quizzed = True
            return [self._call("trigger_quiz", cue)]
        attempt = self.lesson.attempt(text)
        if attempt is None:
            return [Say(p.lesson_over)]
        step = attempt.step
        if attempt.verdict is None:
            # No offline recogniser for this language: the turn is an attempt we cannot check.
            return self._advance(f"{p.did_not_catch} {p.one_way} «{step.model_answer}»", cue)
        if attempt.verdict.met:
            praise = p.praise[(self.lesson.step - 1) % len(p.praise)]
            return self._advance(praise, cue)
        if attempt.moved_on:
            return self._advance(p.move_on, cue)
        assert text is not None
        return [Say(self._correction(step, text, attempt))]

    def _correction(self, step: Step, text: str, attempt: Attempt) -> str:
        """A miss, answered as the kind of miss it is, keeping what the learner chose."""
        assert self.scenario is not None and attempt.verdict is not None
        p, words = self.phrases, self.words
        answer = fitted(step, text, step.model_answer)
        kind = kind_of_miss(self.scenario, step, text, attempt.verdict)
        if kind == "own_language":
            language = language_name(self.scenario.language, self.scenario.learner_language)
            return f"{words['in_language'].format(language=language)} «{answer}»"
        if attempt.tries >= 2:
            return f"{p.repeat_after_me} «{answer}»"
        if kind == "off_topic":
            return f"{words['task'].format(objective=step.objective)} {step.tutor}"
        lead = {
            "immediate": p.not_quite,
            "gentle": p.almost,
            "end_of_session": p.try_again,
        }[self.scenario.correction_style]
        return f"{lead} {fitted(step, text, step.hint)}"

    def _advance(self, said: str, cue: Cue) -> list[Move]:
        """The step is behind the learner: `said` about it, then the next step's line (or
        the wrap-up). A next line that opens with its own reaction replaces praise."""
        step = self.lesson.current if self.lesson else None
        if step is None:
            return self._wrap_up(said, cue)
        if said in self.phrases.praise and _REACTION.match(step.tutor):
            return [Say(step.tutor)]
        return [Say(f"{said} {step.tutor}")]

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
        assert self.lesson is not None
        steps, records = self.scenario.steps, self.lesson.records
        checked = [r for r in records if r.outcome != "unchecked"]
        points = sum(WEIGHTS.get(r.outcome or "", 0.0) for r in checked)
        score = round(100 * points / len(checked)) if checked else 0
        achieved = [goal.text for goal in self.lesson.goals() if goal.met]
        errors = [
            {"said": said, "correction": fitted(step, said, step.model_answer), "kind": kind}
            for step, record in zip(steps, records, strict=True)
            for said in record.attempts
            if said is not None and (kind := _error_kind(judge(self.scenario, step, said)))
        ]
        words = self.words
        verdict = "great" if score >= 90 else "good" if score >= 60 else "practice"
        feedback = words[verdict]
        reached = [(s, r) for s, r in zip(steps, records, strict=True) if r.attempts]
        if not self.finished:
            # Ended early: say how far the learner got, and name only steps they reached.
            where = {"reached": self.lesson.step + 1, "steps": len(steps)}
            feedback = words["unfinished"].format(**where)
        if any(r.outcome == "unchecked" for r in records):
            feedback += " " + words["unchecked"]
        weak = [(s, r) for s, r in reached if r.outcome not in PASSED[:1]]
        next_steps = [
            # The model answer with the learner's own choice in it, as the correction had it.
            words["next"].format(step=step.objective, answer=fitted(step, said, step.model_answer))
            for step, record in weak[:3]
            for said in [" ".join(text for text in record.attempts if text)]
        ]
        if self.lesson.current is not None:
            next_steps.append(words["finish"].format(step=self.lesson.current.objective))
        return {
            "score": score,
            "goals_achieved": achieved,
            "errors": errors,
            "feedback": feedback,
            "next_steps": next_steps or [words["again"]],
        }


def _error_kind(verdict: Verdict) -> str | None:
    """A missed turn as the grade's `errors` name it (None: the turn was not an error)."""
    if verdict.met:
        return None
    return "vocabulary" if verdict.reason == "own_language" else "other"
