"""Repository state after pushes (issue 15 §3), on a second `gitserver serve`.

That server runs with its pack cache off (`--pack-cache-max-age 0`): every clone runs
pack-objects on the repository as it is on disk, which is what is compared here. Its
maintenance comes due 0.5 s after a push (not 2 s): only the rounds below wait for it.

- `pushed` is filled by `git push --mirror` of the benchmark repository and left to
  gitserver's background maintenance; `gced` is filled the same way, maintained, then
  `git gc`-ed in its data directory (holding the maintenance lock, so no maintenance
  overlaps). Full clones of each, alternating: pushed/gc <= 1.05x is the target.
- Maintenance never blocks a push: into `busy` (also filled by a mirror push), one-commit
  pushes while gitserver's own background maintenance runs (each push starts only while
  the maintenance lock is held: `servers.maintenance_running`), against pushes while
  the benchmark holds that lock itself, so that no maintenance can run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import gitops
from servers import GitServer, cpu_seconds, maintenance_held, maintenance_running

MAINTENANCE_DELAY = 0.5
# Per round: pushes with maintenance held off, and at most while one maintenance runs.
IDLE_PUSHES = 4
MAX_BUSY_PUSHES = 20
# Rounds go on until this many pushes started during maintenance, or for ROUNDS_BUDGET
# seconds: on the quick repository a maintenance after a few pushes lasts ~0.3-0.5 s.
MIN_BUSY_PUSHES = 10
ROUNDS_BUDGET = 30.0


@dataclass
class PushTimes:
    """One-commit push seconds, and for those meant to overlap maintenance whether it
    still held the repository when the push ended."""

    idle: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)
    busy_until_end: list[bool] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)  # from the request to maintenance start


class RepoState:
    def __init__(self, scratch: Path, original: Path, expected: gitops.Expected) -> None:
        self.scratch = scratch
        self.original = original
        self.expected = expected
        self.server = GitServer(
            scratch,
            name="gitserver-nocache",
            args=("--pack-cache-max-age", "0", "--maintenance-delay", str(MAINTENANCE_DELAY)),
        )
        self.paths: dict[str, Path] = {}
        self.pusher: gitops.OneCommitPusher | None = None
        self.pushes = PushTimes()
        # Server CPU seconds per clone (the process and the git it reaped), by repository:
        # steadier than wall times when other work shares the machine.
        self.clone_cpu: dict[str, list[float]] = {}

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def _fill(self, name: str) -> Path:
        path = self.paths[name] = self.server.create(name)
        gitops.git("ls-remote", self.server.url(name))  # argon2 runs once per server, here
        gitops.push_mirror(self.original, self.server.url(name))
        self.expected.check(path, f"mirror push into {name}")
        return path

    def prepare(self) -> list[str]:
        """Fill `pushed` and `gced` and settle them; a line describing each's packs."""
        for name in ("pushed", "gced"):
            pushed = time.time()
            path = self._fill(name)
            self.server.wait_maintained(name, path, after=pushed)
        with maintenance_held(self.paths["gced"]):
            gitops.git("gc", "--quiet", cwd=self.paths["gced"])
        self.expected.check(self.paths["gced"], "gced after git gc")
        lines = []
        for name, path in self.paths.items():
            gitops.warm(path)
            files = sorted(p.name for p in (path / "objects" / "pack").iterdir())
            lines.append(f"  {name}: {', '.join(files)}")
        return lines

    def clone(self, name: str) -> float:
        dest = self.scratch / "state-clone.git"
        try:
            cpu = cpu_seconds(self.server.pid)
            seconds = gitops.clone(self.server.url(name), dest)
            time.sleep(0.1)  # the server reaps upload-pack a moment after the last byte
            self.clone_cpu.setdefault(name, []).append(cpu_seconds(self.server.pid) - cpu)
            self.expected.check(dest, f"clone of {name} (no pack cache)")
        finally:
            gitops.remove(dest)
        return seconds

    # --- maintenance against pushes ----------------------------------------------------------

    def push_rounds(self) -> None:
        started = time.monotonic()
        while len(self.pushes.busy) < MIN_BUSY_PUSHES:
            if self.pushes.busy and time.monotonic() - started > ROUNDS_BUDGET:
                break
            self.push_round()

    def push_round(self) -> None:
        """Pushes while background maintenance runs, then pushes with it held off.

        The first round's maintenance follows the mirror push that fills `busy`; each
        later one follows the previous round's idle pushes (gitserver schedules
        maintenance `maintenance_delay` after a push; the benchmark's lock is gone then).
        """
        if self.pusher is None:
            self._fill("busy")
            self.pusher = gitops.OneCommitPusher(
                self.server.url("busy"), self.scratch / "busy-work", ref="bench-pushes"
            )
            self.pusher.push()  # creates the branch: not the steady state
        path = self.paths["busy"]
        asked = time.monotonic()
        while not maintenance_running(path):
            if time.monotonic() - asked > 60:
                raise gitops.Mismatch("no background maintenance of busy within 60 s")
            time.sleep(0.01)
        self.pushes.waits.append(time.monotonic() - asked)
        for _ in range(MAX_BUSY_PUSHES):
            if not maintenance_running(path):
                break
            start, end = self.pusher.push()
            self.pushes.busy.append(end - start)
            self.pushes.busy_until_end.append(maintenance_running(path))
        with maintenance_held(path):  # waits for the running maintenance to end
            for _ in range(IDLE_PUSHES):
                start, end = self.pusher.push()
                self.pushes.idle.append(end - start)
        self.pusher.check()
