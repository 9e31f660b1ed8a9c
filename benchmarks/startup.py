"""How fast tutor starts, against the floor of any Typer + Rich program (and of any Textual one).

Each measurement alternates with its floor, run for run, so machine noise hits both alike; the
median of the per-pair ratios is printed with its target:
- `tutor list`, until it exits, against `python -c "import typer, rich"` (target <= 1.5);
- `tutor call a1_taxi_bogota --headless --text-only --say "Buenas tardes."` until the tutor's
  first line is printed (the offline engine started, the session set up, the opening
  streamed), against the same floor (target <= 3); and the same against an engine already
  running (`tutor serve`), for information: what is left is the client's own start;
- `tutor call --headless --text-only --script examples/taxi_bogota.toml`, a whole scripted
  lesson until it exits, against the same floor (target <= 4);
- the call screen's first paint (`tutor call a1_taxi_bogota --text-only` in a 120x40
  pseudo-terminal, until its transcript's frame is drawn) against a minimal Textual app's
  (until its one line is drawn), for information.

Every child gets a bytecode cache of its own (`terminal.PYCACHE`), written during the warm-up
runs whatever PYTHONDONTWRITEBYTECODE says, so what is measured is a start with warm caches,
as a learner's second run is. Each command has a TUTOR_HOME of its own, kept across its runs,
and each home first sees one whole lesson run to its end, as a learner's home has: a child
stopped at its first line is killed, and a killed process writes no scenario cache, so
without that every measured run would check its scenario afresh.
Linux only (pseudo-terminals).

    uv run python benchmarks/startup.py [--runs 21]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from terminal import ROOT, Terminal, child_env, running_engine, tutor_command

SAY = ["call", "a1_taxi_bogota", "--headless", "--text-only", "--say", "Buenas tardes."]
SCRIPT = ["call", "--headless", "--text-only", "--script", "examples/taxi_bogota.toml"]
MINIMAL_APP = """
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("minimal app ready")

Minimal().run()
"""


def until_exit(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
        check=True,
    )
    return time.perf_counter() - start


def until_line(command: list[str], prefix: str, env: dict[str, str]) -> float:
    """Seconds until a line starting with `prefix` is printed; the process is then stopped."""
    start = time.perf_counter()
    child = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
        text=True,
    )
    assert child.stdout is not None
    try:
        for line in child.stdout:
            if line.startswith(prefix):
                return time.perf_counter() - start
        raise RuntimeError(f"{command[1:4]}: no line starting with {prefix!r}")
    finally:
        child.kill()
        child.wait()


def until_painted(command: list[str], marker: str, env: dict[str, str]) -> float:
    terminal = Terminal(command, env=env)
    try:
        return terminal.wait_for(marker, timeout=60)
    finally:
        terminal.process.kill()
        terminal.stop(grace=5)


def pairs(
    ours: Callable[[], float], floor: Callable[[], float], runs: int
) -> tuple[float, float, float]:
    """Medians of ours, of the floor, and of the per-pair ratios."""
    for _ in range(3):  # warm the OS file cache and the bytecode caches
        ours()
        floor()
    mine, base = [], []
    for _ in range(runs):
        mine.append(ours())
        base.append(floor())
    ratios = [m / b for m, b in zip(mine, base, strict=True)]
    return statistics.median(mine), statistics.median(base), statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    tutor = tutor_command()
    python_floor = [sys.executable, "-c", "import typer, rich"]
    env = child_env(COLUMNS="120")
    with tempfile.TemporaryDirectory() as folder:

        def home_env(name: str) -> dict[str, str]:
            # One home per command, kept across its runs, as a learner's is: the second run
            # on starts as every later start will (scenarios checked once, store created).
            return {**env, "TUTOR_HOME": str(Path(folder) / name)}

        def floor() -> float:
            return until_exit(python_floor, env)

        checks = [
            (
                "tutor list",
                lambda: until_exit([*tutor, "list"], home_env("list")),
                floor,
                1.5,
            ),
            (
                "headless text call, first tutor line",
                lambda: until_line(
                    [*tutor, *SAY],
                    "Jairo:",
                    home_env("say"),
                ),
                floor,
                3.0,
            ),
            (
                "scripted lesson, end to end",
                lambda: until_exit(
                    [*tutor, *SCRIPT],
                    home_env("script"),
                ),
                floor,
                4.0,
            ),
        ]
        for name in ("say", "screen"):  # a learner's earlier lesson, run to its end
            until_exit([*tutor, *SAY], home_env(name))
        engine = running_engine(home_env("engine"))
        url = f"ws://127.0.0.1:{engine.port}/v1/realtime"
        checks.insert(
            2,
            (
                "  the same, engine already running",
                lambda: until_line([*tutor, *SAY, "--engine", url], "Jairo:", home_env("say")),
                floor,
                None,
            ),
        )
        print(f"runs: {args.runs} alternating pairs each; floor: python -c 'import typer, rich'")
        try:
            for name, ours, base, target in checks:
                mine, floor_s, ratio = pairs(ours, base, args.runs)
                verdict = (
                    ""
                    if target is None
                    else f" (target <= {target:g}: " + ("met)" if ratio <= target else "NOT met)")
                )
                print(
                    f"  {name:38s} {mine * 1000:6.0f} ms, floor {floor_s * 1000:4.0f} ms, "
                    f"ratio {ratio:.2f}{verdict}"
                )
        finally:
            engine.process.kill()
            engine.process.wait()
        mine, floor_s, ratio = pairs(
            lambda: until_painted(
                [*tutor, "call", "a1_taxi_bogota", "--text-only"], "transcript", home_env("screen")
            ),
            lambda: until_painted([sys.executable, "-c", MINIMAL_APP], "minimal app", env),
            max(5, args.runs // 3),
        )
        print(
            f"  {'call screen, first paint':38s} {mine * 1000:6.0f} ms, minimal Textual app "
            f"{floor_s * 1000:4.0f} ms, ratio {ratio:.2f}"
        )


if __name__ == "__main__":
    main()
