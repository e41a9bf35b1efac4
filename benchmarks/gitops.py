"""The client side: timed `git clone`, `push` and `fetch`, and checks of their results.

Client git runs with no system or global config, so the user's settings never leak in.
A check that fails raises `Mismatch`: a broken run must never report a time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CLIENT_CONFIG = ("-c", "gc.auto=0", "-c", "maintenance.auto=false")


class Mismatch(RuntimeError):
    """A clone, push or fetch did not produce the original's refs and history."""


def client_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        LC_ALL="C",
    )
    return env


def git(*args: str, cwd: Path | None = None, timeout: float = 3600) -> str:
    """Run client git; its stdout, or an error that shows stderr."""
    out = subprocess.run(
        ["git", *CLIENT_CONFIG, *args],
        cwd=cwd,
        env=client_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if out.returncode != 0:
        raise Mismatch(f"git {' '.join(args[:3])} exited {out.returncode}: {out.stderr[-2000:]}")
    return out.stdout


def timed(*args: str, cwd: Path | None = None) -> float:
    started = time.perf_counter()
    git(*args, cwd=cwd)
    return time.perf_counter() - started


@dataclass(frozen=True)
class Expected:
    """What every copy of the original must hold."""

    refs: dict[str, str]
    commits: int

    @classmethod
    def of(cls, repo: Path) -> Expected:
        return cls(refs(repo), int(git("rev-list", "--all", "--count", cwd=repo)))

    def check_shallow_main(self, repo: Path, what: str) -> None:
        """A `--depth 1` clone (one branch): main's tip, and no commit behind it."""
        main = git("rev-parse", "refs/heads/main", cwd=repo).strip()
        if main != self.refs["refs/heads/main"]:
            raise Mismatch(f"{what}: main is {main}, expected {self.refs['refs/heads/main']}")
        if git("rev-list", "--count", "refs/heads/main", cwd=repo).strip() != "1":
            raise Mismatch(f"{what}: more than one commit of main")

    def check(self, repo: Path, what: str) -> None:
        got = refs(repo)
        if got != self.refs:
            missing = sorted(set(self.refs.items()) - set(got.items()))[:5]
            extra = sorted(set(got.items()) - set(self.refs.items()))[:5]
            raise Mismatch(f"{what}: refs differ; missing/wrong {missing}, unexpected {extra}")
        commits = int(git("rev-list", "--all", "--count", cwd=repo))
        if commits != self.commits:
            raise Mismatch(f"{what}: {commits} commits, expected {self.commits}")


def refs(repo: Path) -> dict[str, str]:
    text = git("for-each-ref", "--format=%(objectname) %(refname)", cwd=repo)
    pairs = (line.split(" ", 1) for line in text.splitlines())
    return {ref: oid for oid, ref in pairs if not ref.startswith("refs/remotes/")}


def clone(url: str, dest: Path) -> float:
    return timed("clone", "--bare", "--quiet", url, str(dest))


def concurrent_clones(url: str, dests: Sequence[Path], *extra: str) -> float:
    """Wall time for all of `dests` to be cloned from `url` at once (`extra`: clone options)."""
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            ["git", *CLIENT_CONFIG, "clone", "--bare", "--quiet", *extra, url, str(dest)],
            env=client_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for dest in dests
    ]
    try:
        errors = [proc.communicate()[1] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:  # interrupted: leave no clone behind
                proc.kill()
                proc.wait()
    elapsed = time.perf_counter() - started
    for proc, err in zip(procs, errors, strict=True):
        if proc.returncode != 0:
            raise Mismatch(f"concurrent clone exited {proc.returncode}: {err[-2000:]!r}")
    return elapsed


def push_mirror(source: Path, url: str) -> float:
    """Push every branch and tag of `source` into the (empty) repository at `url`."""
    return timed("push", "--mirror", "--quiet", url, cwd=source)


class OneCommitPusher:
    """Pushes one-commit changes to branch `ref` of `url`, from a fresh work repository."""

    def __init__(self, url: str, work: Path, *via: str, ref: str = "main") -> None:
        self.url, self.work, self.via, self.ref = url, work, via, ref
        self.step = 0
        git("init", "-q", "-b", "main", str(work))

    def push(self) -> tuple[float, float]:
        """Commit (untimed) and push; the push's perf_counter start and end."""
        author = ("-c", "user.name=bench", "-c", "user.email=bench@example.com")
        (self.work / "counter.txt").write_text(f"{self.step}\n")
        git("add", "counter.txt", cwd=self.work)
        git(*author, "commit", "-q", "-m", f"step {self.step}", cwd=self.work)
        self.step += 1
        started = time.perf_counter()
        git(*self.via, "push", "-q", self.url, f"main:refs/heads/{self.ref}", cwd=self.work)
        return started, time.perf_counter()

    def check(self) -> None:
        head = git("rev-parse", "HEAD", cwd=self.work).strip()
        ref = f"refs/heads/{self.ref}"
        remote = git(*self.via, "ls-remote", self.url, ref, cwd=self.work).split("\t")[0]
        if remote != head:
            raise Mismatch(f"one-commit pushes to {self.url}: {ref} is {remote}, expected {head}")


def one_commit_pushes(url: str, work: Path, count: int, *via: str) -> list[float]:
    """Push `count` one-commit changes to `url` one after another (the fixed cost every
    developer and CI job pays per push): each commit made untimed, each push timed and
    checked against the work tree's head. `url` must be an empty repository."""
    pusher = OneCommitPusher(url, work, *via)
    pusher.push()  # the first push creates the branch: not the steady state
    seconds = [end - start for start, end in (pusher.push() for _ in range(count))]
    pusher.check()
    return seconds


def init_bare(path: Path, *config: tuple[str, str]) -> None:
    git("init", "--quiet", "--bare", str(path))
    for key, value in config:
        git("config", key, value, cwd=path)


def make_behind(original: Path, dest: Path, behind: int) -> int:
    """A repository lacking the newest `behind` commits of main (and refs reaching them).

    Returns how many refs a fetch has to bring up to date.
    """
    tip = git("rev-parse", "refs/heads/main", cwd=original).strip()
    old = git("rev-parse", f"refs/heads/main~{behind}", cwd=original).strip()
    newest = set(git("rev-list", f"{old}..{tip}", cwd=original).split())
    keep = []
    for ref, oid in refs(original).items():
        if ref == "refs/heads/main":
            keep.append(f"{old}:{ref}")
        elif not newest & set(git("rev-list", oid, "--not", old, cwd=original).split()):
            keep.append(f"{oid}:{ref}")
    init_bare(dest)
    git("push", "--quiet", f"file://{dest}", *keep, cwd=original)
    return len(refs(original)) - len(keep) + 1


def fetch_all(repo: Path, url: str) -> float:
    return timed(
        "fetch", "--quiet", url, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", cwd=repo
    )


def local_copy(source: Path, dest: Path) -> None:
    """A hard-linked mirror copy: cheap, and later writes never touch `source`."""
    git("clone", "--quiet", "--mirror", str(source), str(dest))


def without_bitmap(repo: Path) -> None:
    """Repack `repo` into one pack with no bitmap, multi-pack index or commit-graph: a
    repository whose full clone makes pack-objects walk every object."""
    git("-c", "repack.writeBitmaps=false", "repack", "-a", "-d", "-q", cwd=repo)
    for stale in (
        *(repo / "objects" / "pack").glob("multi-pack-index*"),
        *(repo / "objects" / "pack").glob("*.bitmap"),
        *(repo / "objects" / "info").glob("commit-graph*"),
    ):
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink()


def remove(*paths: Path) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def warm(repo: Path) -> None:
    """Read the packs once so no contender pays for a cold page cache."""
    for pack in (repo / "objects" / "pack").glob("*"):
        with pack.open("rb") as f:
            while f.read(1 << 20):
                pass
