"""Clones and pushes the cache tests share (pack cache, response cache, refs cache)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support import Git


def seed(git: Git, work: Path, url: str, commits: int = 3, size: int = 0) -> str:
    """Push `commits` commits (each adding `size` random bytes, if any) to `url`; the head."""
    git.init(work)
    for n in range(commits):
        if size:
            (work / f"blob{n}.bin").write_bytes(os.urandom(size))
            git("add", ".", cwd=work)
            git("commit", "-q", "-m", f"binary {n}", cwd=work)
        else:
            git.commit(work, f"file{n}.txt")
    git("push", "-q", url, "main", cwd=work)
    return git.rev_parse(work, "HEAD")


def clones(
    git: Git, url: str, dests: list[Path], *extra: str, protocol: str = "2"
) -> list[subprocess.CompletedProcess[str]]:
    """`git clone --bare` into every one of `dests` at once."""
    clone = ["git", "-c", f"protocol.version={protocol}", "clone", "--bare", "-q", *extra, url]
    procs = [
        subprocess.Popen(
            [*clone, str(dest)],
            env=git.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for dest in dests
    ]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def clone_ok(git: Git, url: str, dest: Path, *extra: str, protocol: str = "2") -> None:
    (done,) = clones(git, url, [dest], *extra, protocol=protocol)
    assert done.returncode == 0, done.stderr


def assert_whole(git: Git, clone: Path, head: str) -> None:
    git("fsck", "--no-progress", cwd=clone)
    assert git.rev_parse(clone, "refs/heads/main") == head


def delta(before: dict[str, float], after: dict[str, float], key: str) -> float:
    return after.get(key, 0) - before.get(key, 0)
