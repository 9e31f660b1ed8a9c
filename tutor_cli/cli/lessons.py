"""`tutor list`, `tutor show`, `tutor progress`: the catalogue and the learner's record."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from tutor_cli.cli.options import JsonFlag, ScenarioDirs
from tutor_cli.errors import BadInput
from tutor_cli.lesson.catalogue import Catalogue, Level, check_scenario_id, load_by_id


def list_scenarios(
    level: Annotated[
        Level | None,
        typer.Option(
            case_sensitive=False, metavar="A1|A2|B1|B2|C1|C2", help="Only this CEFR level."
        ),
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(metavar="LANG", help="Only this target language, e.g. 'es' or 'pt-BR'."),
    ] = None,
    as_json: JsonFlag = False,
    scenarios: ScenarioDirs = None,
) -> None:
    """List the role-play scenarios."""
    entries = Catalogue.load(scenarios or []).filtered(level, language)
    if as_json:
        rows = [
            {
                "id": e.id,
                "title": e.title,
                "level": e.level,
                "language": e.language,
                "estimated_minutes": e.estimated_minutes,
                "builtin": e.builtin,
                "path": str(e.path),
            }
            for e in entries
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not entries:
        print("No scenarios match.")
        return
    from tutor_cli.views.table import format_table

    rows_ = [(e.id, e.level, e.language, e.title, str(e.estimated_minutes)) for e in entries]
    headers = ("id", "level", "language", "title", "min")
    print(format_table(headers, rows_, right_aligned=(4,), shrink=3))
    count = f"{len(entries)} scenario{'' if len(entries) == 1 else 's'}"
    print(f"\n{count}. Start one with: tutor call SCENARIO")


def show(
    scenario_id: Annotated[
        str, typer.Argument(metavar="SCENARIO", help="A scenario id from 'tutor list'.")
    ],
    as_json: JsonFlag = False,
    scenarios: ScenarioDirs = None,
) -> None:
    """Show a scenario: persona, goals, steps and vocabulary."""
    scenario = load_by_id(scenario_id, scenarios or [])
    if as_json:
        print(json.dumps(scenario.as_json(), ensure_ascii=False, indent=2))
        return
    from rich.console import Console

    from tutor_cli.views.scenario import render_scenario

    render_scenario(Console(highlight=False), scenario)


def progress(
    scenario_id: Annotated[
        str | None,
        typer.Argument(
            metavar="[SCENARIO]",
            help="List this scenario's sessions, each with its log's path.",
            show_default=False,
        ),
    ] = None,
    everything: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Include scripted sessions (--script or --say runs), which are left out of "
            "your progress by default.",
        ),
    ] = False,
    user: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="On a classroom relay's data folder: this learner's sessions.",
        ),
    ] = None,
    all_users: Annotated[
        bool,
        typer.Option(
            "--all-users",
            help="On a classroom relay's data folder: every learner's sessions, by learner.",
        ),
    ] = False,
    as_json: JsonFlag = False,
    scenarios: ScenarioDirs = None,
) -> None:
    """Your progress per scenario: attempts, unfinished ones, best, average and last score,
    last date; or, given a SCENARIO, its sessions with their logs. Only lessons you held count:
    scripted runs are left out (unless --all), and an attempt you ended early counts as an
    attempt but not in the scores."""
    from tutor_cli.storage.session_rows import Whose
    from tutor_cli.storage.store import ProgressStore
    from tutor_cli.views.progress import print_progress, print_sessions, progress_rows, session_rows

    if user is not None and all_users:
        raise BadInput("--user and --all-users: give one of them")
    if scenario_id is not None:
        check_scenario_id(scenario_id)
    whose = Whose(user, all_users)
    catalogue = Catalogue.load(scenarios or [], asked=scenario_id)
    titles = {entry.id: entry.title for entry in catalogue}
    # Only read: nothing is created before the first lesson, and a home that cannot be
    # written (a read-only disk, a backup) still shows what it holds.
    store = ProgressStore.for_reading()
    rows: list[dict[str, Any]] = []
    hidden = 0  # scripted sessions left out
    users: list[str] = []
    if store is not None:
        with store:
            users = store.users()
            if user is not None and user not in users:
                known = f" (users: {', '.join(users)})" if users else ""
                raise BadInput(f"--user: no sessions of {user!r} here{known}")
            if scenario_id is None:
                rows = progress_rows(store, titles, include_scripted=everything, whose=whose)
            else:
                rows = session_rows(store, scenario_id, include_scripted=everything, whose=whose)
            if not everything:
                hidden = store.count_sessions(
                    "scripted", scenario_id, user=user, all_users=all_users
                )
    elif user is not None:
        raise BadInput(f"--user: no sessions of {user!r} here")
    # The teacher's own view of a relay's folder: the learners' sessions are elsewhere.
    others = len(users) if whose == Whose() else 0
    if scenario_id is None:
        print_progress(rows, as_json, hidden, others=others)
        return
    if not rows and scenario_id not in titles:
        catalogue.get(scenario_id)  # unknown, never played: says which ids are near
    print_sessions(scenario_id, rows, as_json, hidden, others=others)


def check(
    target: Annotated[
        Path,
        typer.Argument(
            metavar="SCENARIO",
            help="A scenario id, a scenario file (.json), or a folder of them.",
            show_default=False,
        ),
    ],
    answers: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Learner answers to judge (TOML, see the README); by default the "
            "answers/<id>.toml beside the scenario file, if there is one.",
        ),
    ] = None,
    scenarios: ScenarioDirs = None,
) -> None:
    """Check a scenario as its author: is it valid, does each step accept its own model answer
    and no other, and are learners' answers judged as labelled? Exit 1 when a check fails."""
    from tutor_cli.lesson.check import answers_beside, check, load_answers
    from tutor_cli.lesson.scenario import load_scenario
    from tutor_cli.views.check import check_lines
    from tutor_cli.views.literal import printable

    if target.is_dir():
        paths = sorted(p for p in target.glob("*.json") if p.name != "index.json")
        if not paths:
            raise BadInput(f"{target}: no scenario files (*.json) in this folder")
        if answers is not None:
            raise BadInput("--answers goes with one scenario, not a folder")
    elif target.suffix == ".json" or target.exists():
        paths = [target]
    else:
        paths = [Catalogue.load(scenarios or []).get(str(target)).path]
    passed = True
    for path in paths:
        try:
            scenario = load_scenario(path)
        except BadInput as exc:
            if len(paths) == 1:
                raise
            print(f"✗ {printable(str(exc))}")  # one bad file does not hide the others
            passed = False
            continue
        answers_path = answers or answers_beside(path)
        loaded = load_answers(answers_path, scenario) if answers_path is not None else None
        report = check(scenario, loaded)
        print("\n".join(check_lines(report, str(answers_path) if answers_path else None)))
        passed = passed and report.passed
    if not passed:
        raise typer.Exit(1)
