"""How fast `tutor list` starts, against the floor of any Typer + Rich program.

Runs `tutor list` and `python -c "import typer, rich"` alternately (so machine noise hits
both alike), then prints each median and the median of the per-pair ratios. Target: <= 1.5.

    uv run python benchmarks/startup.py [--runs 31]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("tutor")
    tutor = [str(script)] if script.exists() else [sys.executable, "-m", "tutor_cli"]
    tutor_list = [*tutor, "list"]
    floor = [sys.executable, "-c", "import typer, rich"]
    os.environ.setdefault("COLUMNS", "120")
    for _ in range(3):  # warm the OS file cache and the bytecode caches
        wall(tutor_list)
        wall(floor)
    ours, base = [], []
    for _ in range(args.runs):
        ours.append(wall(tutor_list))
        base.append(wall(floor))
    ratios = [o / b for o, b in zip(ours, base, strict=True)]
    print(f"runs: {args.runs} alternating pairs")
    print(f"tutor list                     median {statistics.median(ours) * 1000:7.1f} ms")
    print(f"python -c 'import typer, rich' median {statistics.median(base) * 1000:7.1f} ms")
    print(f"ratio (median of pairs): {statistics.median(ratios):.2f}  (target <= 1.5)")


if __name__ == "__main__":
    main()
