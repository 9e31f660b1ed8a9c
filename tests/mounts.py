"""The command line run where the file system misbehaves for real: a read-only folder, a tiny
disk that fills up. Each run gets its own mount namespace (`unshare`, as an unprivileged user
may where user namespaces are enabled), so the mounts vanish with the process and nothing
outside the test changes. Tests skip where namespaces are not available."""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

UNSHARE = ["unshare", "--user", "--map-root-user", "--mount"]


@functools.cache
def _namespaces_work() -> bool:
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return False
    probe = subprocess.run([*UNSHARE, "true"], capture_output=True, timeout=30)
    return probe.returncode == 0


def read_only(folder: Path) -> str:
    """Shell that makes `folder` read-only (a read-only bind mount over itself)."""
    where = shlex.quote(str(folder))
    return f"mount --bind {where} {where} && mount -o remount,bind,ro {where}"


def small_disk(folder: Path, size: str) -> str:
    """Shell that puts a file system of `size` (`24k`) at `folder`: writes past it fail with
    ENOSPC, as on a full disk."""
    return f"mount -t tmpfs -o size={size},mode=0700 tmpfs {shlex.quote(str(folder))}"


def tutor_mounted(
    setup: str, *args: str, keep: tuple[Path, Path] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `tutor ARGS` (with this process's environment, so the test's TUTOR_HOME) after
    the mounts `setup` makes; `keep=(src, dst)` copies `src` out before the mounts go."""
    if not _namespaces_work():
        pytest.skip("needs unshare with user and mount namespaces")
    after = ""
    if keep is not None:
        src, dst = (shlex.quote(str(path)) for path in keep)
        after = f"; cp -a {src}/. {dst}/"
    script = f'set -e; {setup}; set +e; "$@"; code=$?{after}; exit $code'
    command = [sys.executable, "-m", "tutor_cli", *args]
    return subprocess.run(
        [*UNSHARE, "sh", "-c", script, "sh", *command],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        cwd=REPO,
        timeout=timeout,
    )
