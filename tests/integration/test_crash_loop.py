"""SIGKILL `gitserver serve` at seeded random moments while clients push (HTTP and SSH,
single and multi-ref, forced, deletions), write files and merge pull requests through
the API, restarting it each time: nothing acknowledged is lost, nothing refused moved,
every ref change has exactly one event and every event reaches the webhook receiver.
The long version is `BENCH=crash scripts/bench` (benchmarks/crash.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tests.chaos import SERVER_ARGS, SERVER_ENV, CrashLoop
from tests.support import Git, Server

# Seeded: a failure names the seed, and GITSERVER_CRASH_SEED replays it.
SEED = int(os.environ.get("GITSERVER_CRASH_SEED", "1414"))
# Three repositories, one operation each per round: 24 operations (every kind at least
# once) cut by 8 kills. Restarts are the cost; operations per kill are cheaper.
ROUNDS, REPOSITORIES = 8, 3


def test_kills_during_pushes_lose_no_acknowledged_change_and_no_event(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    srv = make_server(*SERVER_ARGS, env=SERVER_ENV)
    loop = CrashLoop(srv, git, tmp_path / "chaos", SEED, repos=REPOSITORIES)
    try:
        for _ in range(ROUNDS):
            loop.round()
        tally = loop.verify()
    finally:
        loop.close()
    assert tally.violations == [], f"seed {SEED}: {tally}"
    assert tally.kills == ROUNDS
    assert (tally.lost_events, tally.extra_events, tally.undelivered) == (0, 0, 0)
