"""`tutor serve --relay` and `tutor serve --add-user`: the classroom relay, and its learners.

Parsed by `system.serve`; this module checks the relay's options and runs it."""

from __future__ import annotations

import logging
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tutor_cli.datatypes import datatype
from tutor_cli.errors import BadInput
from tutor_cli.views.literal import printable
from tutor_cli.views.numbers import count_of

if TYPE_CHECKING:
    from tutor_cli.relay.server import Relay
    from tutor_cli.relay.users import UserBook


@datatype
class RelayOptions:
    """What `tutor serve --relay` was given."""

    upstream: str
    host: str
    port: int
    users: Path | None
    allow_origin: list[str]
    max_sessions_per_user: int
    max_minutes: float
    insecure: bool
    pace: float
    scenario_dirs: list[Path]


def add_user(name: str, users: Path | None) -> None:
    """Add a learner to the users file and print their token, once."""
    from tutor_cli.relay.users import add_user as add

    if users is None:
        raise BadInput("--add-user needs --users FILE: the file the learner is added to")
    token = add(users, name)
    print(f"added {name} to {users}. Their token (shown this once; give it to them):")
    print(f"  {token}")


def serve_relay(options: RelayOptions) -> None:
    """Check the options, then run the relay until Ctrl+C."""
    if options.max_sessions_per_user < 1:
        raise BadInput(
            f"--max-sessions-per-user: {options.max_sessions_per_user} must be 1 or more"
        )
    if not math.isfinite(options.max_minutes) or options.max_minutes <= 0:
        raise BadInput(f"--max-minutes: {options.max_minutes:g} must be a number more than 0")
    import asyncio

    from tutor_cli.engine.access import check_exposure, origins_option
    from tutor_cli.relay.limits import Limits
    from tutor_cli.relay.server import Relay
    from tutor_cli.relay.users import UserBook

    origins = origins_option(options.allow_origin)
    users = UserBook.load(options.users) if options.users is not None else None
    check_exposure(
        options.host,
        protected=users is not None,
        insecure=options.insecure,
        remedy="give each learner a token with --users FILE (made with --add-user)",
    )
    relay = Relay(
        upstream=options.upstream,
        host=options.host,
        port=options.port,
        users=users,
        allowed_origins=origins,
        limits=Limits(
            sessions_per_user=options.max_sessions_per_user, max_minutes=options.max_minutes
        ),
        scenario_dirs=options.scenario_dirs,
        pace=options.pace,
    )
    _log_to_stderr()

    async def run() -> None:
        import signal

        # A kill (SIGTERM) ends the relay as Ctrl+C does: every session closed, its client told.
        serving = asyncio.current_task()
        assert serving is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, serving.cancel)
        await relay.start()
        _announce(relay, options, users)
        try:
            await relay.serve_forever()
        finally:
            await relay.stop()

    try:
        asyncio.run(run())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\nstopped.")


def _announce(relay: Relay, options: RelayOptions, users: UserBook | None) -> None:
    base = relay.url.removesuffix("/ws")
    print(f"classroom relay listening on {relay.url} (and {base}/v1/realtime)", flush=True)
    keyless = " (no API key needed)" if relay.upstream_name == "offline" else ""
    print(f"  engine: {relay.upstream_name}{keyless}", flush=True)
    if users is not None:
        learners = count_of(len(users), "user")
        print(f"  {count_of(len(relay.catalogue), 'scenario')}, {learners} ({options.users})")
        token = "TUTOR_ENGINE_KEY=<their token> "
    else:
        scenarios = count_of(len(relay.catalogue), "scenario")
        print(f"  {scenarios}; no users file: anyone who can reach it")
        token = ""
    print(f"  learners: {token}tutor call SCENARIO --engine {base}", flush=True)
    print(f"  scenarios: http://{base.removeprefix('ws://')}/api/scenarios", flush=True)
    print("Ctrl+C stops it.", flush=True)


class _Line(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return printable(f"{self.formatTime(record, '%H:%M:%S')} relay: {record.getMessage()}")


def _log_to_stderr() -> None:
    """The relay's own log (sessions opened and ended, refusals, drops) on standard error:
    users by their tag, never a token or a key."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Line())
    logger = logging.getLogger("tutor.relay")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
