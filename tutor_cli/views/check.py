"""`tutor check`: a scenario's checks, a line each, for a lesson author to read."""

from __future__ import annotations

from tutor_cli.lesson.check import AGREEMENT, ALWAYS_REFUSED, CheckReport
from tutor_cli.views.literal import printable


def check_lines(report: CheckReport, answers_name: str | None) -> list[str]:
    """What was checked and what failed; the first line names the scenario and the verdict."""
    scenario = report.scenario
    verdict = "ok" if report.passed else "FAILED"
    lines = [f"{scenario.id}: {verdict} ({printable(scenario.title)})"]
    if report.model_answer_problems:
        lines += [f"  ✗ {printable(problem)}" for problem in report.model_answer_problems]
    else:
        lines.append("  ✓ every step accepts its own model answer and no other step's")
    if answers_name is None:
        lines.append("  · no answers file: add one with --answers FILE to check the judgement")
        return lines
    total = len(report.judged)
    agreed = total - len(report.disagreements)
    mark = "✓" if report.agreement >= AGREEMENT else "✗"
    lines.append(
        f"  {mark} {printable(answers_name)}: {agreed} of {total} answers judged as labelled "
        f"({report.agreement:.0%}; {AGREEMENT:.0%} needed)"
    )
    refused = ", ".join(sorted(ALWAYS_REFUSED - {"own_language"}))
    if report.wrongly_accepted:
        lines.append(f"  ✗ answers that must be refused ({refused}) were accepted:")
    else:
        lines.append(f"  ✓ every answer that must be refused ({refused}) was")
    for judged in report.disagreements:
        outcome = "accepted" if judged.verdict.met else f"refused ({judged.verdict.reason})"
        lines.append(
            f"    {judged.step}: {printable(repr(judged.text))} [{judged.kind}] was {outcome}"
        )
    return lines
