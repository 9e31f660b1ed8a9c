"""`tutor check`: whether a scenario judges learners' answers as its author means it to.

Two checks. Every step's model answer must meet its own step and no other (so the tutor
neither rejects the answer it teaches nor praises an answer meant for another step). And, with
an answers file, every labelled learner answer is judged: the scenario passes when at least
`AGREEMENT` of them are judged as labelled and every answer in the learner's own language,
off-topic or meant for another step is refused.

An answers file is TOML, a table per step id with lists of answers by kind:

    [greeting]
    accept = ["Buenas tardes, muy bien."]   # must be accepted
    reject = ["Buenas tardes."]             # must be refused
    english = ["Good afternoon"]            # the learner's own language: always refused
    off_topic = ["Me gusta el fútbol."]     # always refused
    other_step = ["Soy de Canadá."]         # an answer for another step: always refused
"""

from __future__ import annotations

from dataclasses import field
from pathlib import Path

from tutor_cli.datatypes import datatype
from tutor_cli.errors import BadInput
from tutor_cli.lesson.judgement import Verdict, judge
from tutor_cli.lesson.scenario import Scenario
from tutor_cli.toml_files import read_toml

AGREEMENT = 0.95
ACCEPTED_KINDS = frozenset({"accept"})
ALWAYS_REFUSED = frozenset({"english", "own_language", "off_topic", "other_step"})
KINDS = ACCEPTED_KINDS | ALWAYS_REFUSED | {"reject"}

Answers = dict[str, dict[str, list[str]]]  # step id -> kind -> answers


@datatype
class Judged:
    """One labelled answer and how the scenario judged it."""

    step: str
    kind: str
    text: str
    verdict: Verdict

    @property
    def wanted(self) -> bool:
        return self.kind in ACCEPTED_KINDS

    @property
    def agrees(self) -> bool:
        return self.verdict.met == self.wanted


@datatype(frozen=False)
class CheckReport:
    """What `check` found for one scenario."""

    scenario: Scenario
    model_answer_problems: list[str] = field(default_factory=list)
    judged: list[Judged] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        return sum(j.agrees for j in self.judged) / len(self.judged) if self.judged else 1.0

    @property
    def wrongly_accepted(self) -> list[Judged]:
        """Answers that must always be refused, accepted."""
        return [j for j in self.judged if j.kind in ALWAYS_REFUSED and j.verdict.met]

    @property
    def disagreements(self) -> list[Judged]:
        return [j for j in self.judged if not j.agrees]

    @property
    def passed(self) -> bool:
        return (
            not self.model_answer_problems
            and not self.wrongly_accepted
            and self.agreement >= AGREEMENT
        )


def model_answer_problems(scenario: Scenario) -> list[str]:
    """Each step whose model answer fails it, or meets another step."""
    problems = []
    for step in scenario.steps:
        verdict = judge(scenario, step, step.model_answer)
        if not verdict.met:
            problems.append(f"{step.id}: its model answer is not accepted ({verdict.reason})")
        for other in scenario.steps:
            if other is not step and judge(scenario, other, step.model_answer).met:
                problems.append(f"{other.id}: accepts the model answer of step {step.id}")
    return problems


def load_answers(path: Path, scenario: Scenario) -> Answers:
    """An answers file, checked against the scenario's steps; problems are one line each."""
    data = read_toml(path)
    steps = {step.id for step in scenario.steps}
    answers: Answers = {}
    for step_id, kinds in data.items():
        if step_id not in steps:
            raise BadInput(f"{path}: '{step_id}' is not a step of {scenario.id}")
        if not isinstance(kinds, dict):
            raise BadInput(f"{path}: '{step_id}' must be a table of answer lists")
        for kind, texts in kinds.items():
            if kind not in KINDS:
                allowed = ", ".join(sorted(KINDS))
                raise BadInput(f"{path}: '{step_id}.{kind}': unknown kind (allowed: {allowed})")
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                raise BadInput(f"{path}: '{step_id}.{kind}' must be a list of strings")
        answers[step_id] = {kind: list(texts) for kind, texts in kinds.items()}
    return answers


def check(scenario: Scenario, answers: Answers | None = None) -> CheckReport:
    """Check the model answers, and judge the labelled answers if there are any."""
    report = CheckReport(scenario, model_answer_problems(scenario))
    steps = {step.id: step for step in scenario.steps}
    for step_id, kinds in (answers or {}).items():
        for kind, texts in kinds.items():
            for text in texts:
                verdict = judge(scenario, steps[step_id], text)
                report.judged.append(Judged(step_id, kind, text, verdict))
    return report


def answers_beside(scenario_path: Path) -> Path | None:
    """The answers file kept beside a scenario file (`answers/<id>.toml`), if there is one."""
    candidate = scenario_path.parent / "answers" / f"{scenario_path.stem}.toml"
    return candidate if candidate.is_file() else None
