"""What the benchmarks share: programs run in a pseudo-terminal, their CPU time, and a Python
environment whose bytecode caches do not depend on the caller's.

Linux only: CPU time is read from /proc/PID/stat (user + system, all threads).
"""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
# Bytecode caches for every child, in one folder of our own: written during the warm-up runs
# even when the caller's environment says PYTHONDONTWRITEBYTECODE, and never in the source tree.
PYCACHE = Path(tempfile.gettempdir()) / "tutor-benchmarks-pycache"


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a measured child: bytecode caches on (in `PYCACHE`), a fixed
    terminal type, and `extra`."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env.setdefault("TERM", "xterm-256color")
    env.update(extra)
    return env


def tutor_command() -> list[str]:
    """`tutor`, as installed beside this Python, else `python -m tutor_cli`."""
    script = Path(sys.executable).with_name("tutor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tutor_cli"]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def listening(
    args: list[str], prefix: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """`python ARGS` in a child process (a server), and the URL its first line names; that
    line must start with `prefix` ("offline engine listening on ws://…")."""
    environment = dict(os.environ if env is None else env)
    # Keys or tokens in the caller's environment would shut the benchmark's own clients out.
    for name in ("OPENAI_API_KEY", "TUTOR_SERVE_TOKEN"):
        environment.pop(name, None)
    child = subprocess.Popen(
        [sys.executable, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env=environment,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line.startswith(prefix):
        child.kill()
        raise RuntimeError(f"{' '.join(args)}: said {line!r}, not {prefix!r}…")
    return child, line.split()[-1]


class Terminal:
    """A program in a pseudo-terminal of a fixed size; what it writes is read and kept (the
    last 64 KiB), so it never blocks on a full terminal."""

    def __init__(
        self, command: list[str], *, size: tuple[int, int] = (120, 40), env: dict[str, str]
    ) -> None:
        master, slave = pty.openpty()
        columns, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "COLUMNS": str(columns), "LINES": str(rows)},
            cwd=ROOT,
            start_new_session=True,
        )
        os.close(slave)
        self._master = master
        self._seen = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self._seen += data
                del self._seen[:-65536]

    def wait_for(self, text: str, timeout: float = 30.0) -> float:
        """Seconds from the start until `text` appeared in the output; TimeoutError if not."""
        wanted = text.encode()
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self._lock:
                if wanted in self._seen:
                    return time.perf_counter() - self.started
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.process.args[0]} exited ({self.process.returncode})")
            time.sleep(0.002)
        raise TimeoutError(f"{text!r} did not appear within {timeout:g} s")

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM (a call then closes itself properly), SIGKILL after `grace` seconds."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        os.close(self._master)
        self._reader.join(1.0)


@dataclass
class RunningEngine:
    process: subprocess.Popen[str]
    port: int


def running_engine(env: dict[str, str]) -> RunningEngine:
    """`tutor serve` on a free loopback port, for calls that do not start an engine of their
    own: what is left is the client's start."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [*tutor_command(), "serve", "--port", str(port), "--scenario", "a1_taxi_bogota"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as client:
            if client.connect_ex(("127.0.0.1", port)) == 0:
                return RunningEngine(process, port)
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("tutor serve did not start")
