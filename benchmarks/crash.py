"""Crash safety at length: `gitserver serve` SIGKILLed at seeded random moments during
pushes (HTTP and SSH, single and multi-ref, forced, deletions), `PutFile` and pull
request merges, restarted on the same data each time, until `--pushes` (50) pushes have
been cut or completed. Then the whole history is checked (tests/chaos.py `verify`):
`git fsck --strict`, no quarantine left, acknowledged changes there and refused ones not,
the ledger agreeing with git, exactly one event per ref change, every event delivered to
a webhook receiver (duplicates only under the same delivery id).

    scripts/bench (BENCH=crash) [--pushes N] [--seed S] [--postgres]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' crash loop

from events import drop_database, pg_database

from tests.chaos import SERVER_ARGS, SERVER_ENV, CrashLoop
from tests.support import Git, Server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pushes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL at 127.0.0.1:5432")
    parser.add_argument("--quick", action="store_true", help="10 pushes")
    args, _ = parser.parse_known_args(argv)
    pushes = 10 if args.quick and args.pushes == 50 else args.pushes
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\nCrash loop: {pushes} pushes with kills, {backend}, seed {args.seed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-crash-") as tmp:
        scratch = Path(tmp)
        data = scratch / "data"
        created = pg_database() if args.postgres else None
        if args.postgres and created is None:
            print("  PostgreSQL not reachable at 127.0.0.1:5432")
            return 1
        url = created[0] if created else f"sqlite+aiosqlite:///{data / 'gitserver.db'}"
        server = Server(data=data, database_url=url, extra_args=list(SERVER_ARGS), env=SERVER_ENV)
        server.start()
        loop = CrashLoop(server, Git(scratch / "home"), scratch / "chaos", args.seed)
        started = time.monotonic()
        try:
            while sum(n for k, n in loop.tally.outcomes.items() if k.startswith("push")) < pushes:
                loop.round()
            tally = loop.verify(timeout=180)
        finally:
            loop.close()
            server.stop()
            if created:
                drop_database(created[1])
    out = tally.outcomes
    print(f"  kills survived:   {tally.kills} ({time.monotonic() - started:.0f} s)")
    print(f"  pushes:           {out['push acked']} acked, {out['push failed']} failed,"
          f" {out['push unknown']} unknown")  # fmt: skip
    print(f"  API calls:        {out['api acked']} acked, {out['api failed']} failed,"
          f" {out['api unknown']} unknown")  # fmt: skip
    print(f"  operations:       {dict(sorted(tally.ops.items()))}")
    print(f"  events lost:      {tally.lost_events} (must be 0); events without a change:"
          f" {tally.extra_events}")  # fmt: skip
    print(f"  deliveries:       {tally.undelivered} events undelivered,"
          f" {tally.duplicate_deliveries} duplicate deliveries (same delivery id)")  # fmt: skip
    print(f"  quarantines left: {tally.quarantines_left} (SQLite: must be 0)")
    for violation in tally.violations[:20]:
        print(f"  !! {violation}")
    print(f"  seed {args.seed}: {'FAILED' if tally.violations else 'ok'}")
    return 1 if tally.violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
