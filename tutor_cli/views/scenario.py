"""`tutor show`: a scenario laid out for a learner or a lesson author to read."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tutor_cli.lesson.scenario import Scenario
from tutor_cli.lesson.session_config import language_name
from tutor_cli.views.literal import literal as _t
from tutor_cli.views.literal import printable


def render_scenario(console: Console, scenario: Scenario) -> None:
    """Print persona, goals, steps and vocabulary; every string is shown literally."""
    persona = scenario.persona
    head = Text()
    head.append(printable(scenario.title), style="bold")
    head.append(f"\n{scenario.level} · {printable(language_name(scenario.language))}")
    head.append(f" · about {scenario.estimated_minutes} min · corrections: ")
    head.append(scenario.correction_style.replace("_", " "))
    head.append(f"\n\n{printable(persona.name)}, {printable(persona.role)}", style="cyan")
    head.append(f"\n{printable(persona.setting)}")
    head.append(f"\nVoice: {persona.voice}, speed {scenario.speech_speed:g}", style="dim")
    console.print(Panel(head, title=Text(printable(scenario.id)), title_align="left"))

    goals = Text("\n").join(_t(f"• {goal}") for goal in scenario.goals)
    console.print(Panel(goals, title="Goals", title_align="left"))

    steps = Table(title="Steps", title_justify="left", show_lines=True, expand=True)
    steps.add_column("#", justify="right", no_wrap=True)
    steps.add_column("tutor says")
    steps.add_column("learner should")
    steps.add_column("model answer")
    steps.add_column("hint", style="dim")
    for number, step in enumerate(scenario.steps, start=1):
        steps.add_row(
            Text(str(number)),
            _t(step.tutor, "italic"),
            _t(step.objective),
            _t(step.model_answer, "green"),
            _t(step.hint),
        )
    opening = _t(scenario.opening, "italic")
    console.print(Group(Text("Opening: ", style="bold").append(opening), steps))

    if scenario.vocabulary:
        vocab = Table(title="Vocabulary", title_justify="left", expand=True)
        vocab.add_column("term", style="bold")
        vocab.add_column("meaning")
        vocab.add_column("example", style="italic")
        for item in scenario.vocabulary:
            vocab.add_row(_t(item.term), _t(item.meaning), _t(item.example))
        console.print(vocab)
    console.print(_t(f"Tools: {', '.join(scenario.tools)}"), style="dim")
