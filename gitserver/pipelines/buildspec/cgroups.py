"""Per-build cgroups (v1 `pids` and `memory`), where the host lets the server make them.

RLIMIT_NPROC does not bind for processes of host root, which is what the sandbox's uid
maps to when the server runs as root, and RLIMIT_AS limits each process, not the build.
A cgroup limits the whole tree: `pids.max` stops a fork bomb, `memory.limit_in_bytes`
brings the kernel's OOM killer to the build at its memory limit. The shell's launcher
joins the cgroups itself and then execs (no window in which a child could start
outside), and the runner removes them after the build. Where the controllers are not
writable (no cgroup v1 hierarchy, a read-only /sys/fs/cgroup) builds keep rlimits only.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
# Joins each cgroup given before `--`, then runs the rest: `sh -c JOIN sh CG... -- ARGV`.
_JOIN = (
    'while [ "$1" != -- ]; do echo $$ > "$1/cgroup.procs" || exit 125; shift; done; '
    'shift; exec "$@"'
)


@dataclass(frozen=True, slots=True)
class BuildCgroups:
    """The cgroup directories made for one build."""

    paths: tuple[Path, ...]

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """`argv`, started inside these cgroups."""
        if not self.paths:
            return list(argv)
        return ["/bin/sh", "-c", _JOIN, "sh", *map(str, self.paths), "--", *argv]

    def release(self) -> None:
        """Remove the cgroups (retried briefly: killed processes take a moment to go)."""
        for path in self.paths:
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
            else:
                log.warning("build cgroup not removed", extra={"cgroup": str(path)})


NO_CGROUPS = BuildCgroups(())


def create(
    processes: int | None, memory_bytes: int | None, root: Path = CGROUP_ROOT
) -> BuildCgroups:
    """Make the build's cgroups with these limits; none where the host does not allow it."""
    name = f"gitserver-build-{secrets.token_hex(6)}"
    wanted = {"pids": ("pids.max", processes), "memory": ("memory.limit_in_bytes", memory_bytes)}
    made: list[Path] = []
    for controller, (setting, value) in wanted.items():
        if value is None:
            continue
        path = root / controller / name
        try:
            path.mkdir()
        except OSError:
            continue
        try:
            (path / setting).write_text(str(value))
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            continue
        made.append(path)
    return BuildCgroups(tuple(made))
