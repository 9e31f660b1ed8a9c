"""What a call screen costs while nothing happens, early in a call and minutes into it.

Runs three programs side by side, each in its own 120x40 pseudo-terminal:
- a voice call with a silent microphone file and a speaker file, on the offline engine
  (in-process, so its turn detection on the silence is counted too):
  `tutor call a1_taxi_bogota --mic-file silence.wav --speaker-file out.wav`;
- the same voice call against the offline engine running apart (`tutor serve`), so the call's
  own share and the engine's (its turn detection on the silence) are seen separately;
- a text call: `tutor call a1_taxi_bogota --text-only`;
- a minimal Textual app (one Static), the floor of any Textual program.
Once the tutor's opening has played, nobody types or talks. Each process's CPU time (user +
system, all threads, from /proc) is sampled over a window starting 10 s into the call and
again one starting `--minutes` in, and printed as a percentage of one core. Targets: the idle
voice call <= 3 %, the idle text call <= 0.5 %, at both points (the cost must not grow with
the length of the call). Linux only.

    uv run python benchmarks/idle_cpu.py [--minutes 5] [--window 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import wave
from pathlib import Path

from terminal import Terminal, child_env, cpu_seconds, running_engine, tutor_command

MINIMAL_APP = """
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("minimal app ready")

Minimal().run()
"""
TARGETS = {"voice call": 3.0, "text call": 0.5}
ENGINE = "  its engine apart"


def silent_wav(path: Path) -> Path:
    """One second of silence; the call goes on with silence after it, as a quiet room."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(24000)
        wav.writeframes(bytes(48000))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="the second sample's start")
    parser.add_argument("--window", type=float, default=20.0, help="seconds per sample")
    args = parser.parse_args()
    points = [10.0, max(10.0 + args.window, args.minutes * 60)]
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        mic = silent_wav(tmp / "silence.wav")
        tutor = [*tutor_command(), "call", "a1_taxi_bogota"]
        engine = running_engine(child_env(TUTOR_HOME=str(tmp / "engine")))
        url = f"ws://127.0.0.1:{engine.port}/v1/realtime"
        apart_speaker = ("--speaker-file", str(tmp / "apart.wav"))
        programs = {
            "voice call": Terminal(
                [*tutor, "--mic-file", str(mic), "--speaker-file", str(tmp / "out.wav")],
                env=child_env(TUTOR_HOME=str(tmp / "voice")),
            ),
            "voice call, engine apart": Terminal(
                [*tutor, "--engine", url, *("--mic-file", str(mic)), *apart_speaker],
                env=child_env(TUTOR_HOME=str(tmp / "apart")),
            ),
            "text call": Terminal(
                [*tutor, "--text-only"], env=child_env(TUTOR_HOME=str(tmp / "text"))
            ),
            "minimal Textual app": Terminal([sys.executable, "-c", MINIMAL_APP], env=child_env()),
        }
        started = time.monotonic()
        results: dict[str, list[float]] = {name: [] for name in [*programs, ENGINE]}
        try:
            for name, program in programs.items():
                marker = "minimal app ready" if name.startswith("minimal") else "Jairo"
                program.wait_for(marker, timeout=60)
            for point in points:
                time.sleep(max(0.0, started + point - time.monotonic()))
                before = {name: p.cpu() for name, p in programs.items()}
                before[ENGINE] = cpu_seconds(engine.process.pid)
                begin = time.monotonic()
                time.sleep(args.window)
                elapsed = time.monotonic() - begin
                for name, program in programs.items():
                    used = program.cpu() - before[name]
                    results[name].append(100 * used / elapsed)
                used = cpu_seconds(engine.process.pid) - before[ENGINE]
                results[ENGINE].append(100 * used / elapsed)
        finally:
            for program in programs.values():
                program.stop()
            engine.process.kill()
            engine.process.wait()
    labels = [f"at {p / 60:.1f} min" if p >= 60 else f"at {p:.0f} s" for p in points]
    print(f"idle CPU, % of one core, over {args.window:g} s windows ({', '.join(labels)} in)")
    for name, figures in results.items():
        shown = "  ".join(
            f"{label}: {value:5.2f} %" for label, value in zip(labels, figures, strict=True)
        )
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            met = all(value <= target for value in figures)
            verdict = f"  (target <= {target:g} %: {'met' if met else 'NOT met'})"
        print(f"  {name:20s} {shown}{verdict}")


if __name__ == "__main__":
    main()
