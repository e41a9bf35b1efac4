"""Pull-request content operations against the git command line doing the same work.

On one generated repository (5,000 files in 50 folders; `dest` and `source` each change
500 files from their common base, 50 of them the same files on different lines; `wide`
changes all 5,000), one `gitserver serve` (SQLite, no SSH), medians of --runs:

- `GetMergeConflicts` (FILE_LEVEL, CodeCommit's default: the 50 files both sides changed
  are its conflicts) vs `git merge-tree --write-tree dest source` in a bare copy;
- `MergeBranchesByThreeWay` (into a fresh branch at `dest` each run) vs the same
  `git merge-tree --write-tree`;
- `GetDifferences` base..wide in one page (MaxResults 5000) vs `git diff-tree -r`.

Each figure is a ratio to its git command measured in the same run, alternating; the
API side includes signing, HTTP and authorization, the git side a process start. The
floor row is `GetRepository` (no git, no content) against the same merge-tree: what a
request costs before it does any work.

    scripts/bench  (BENCH=pr)      or      .venv/bin/python benchmarks/pr.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from api import Client
from servers import GitServer

FOLDERS, PER_FOLDER, LINES = 50, 100, 30
CHANGED, OVERLAP = 500, 50
TARGETS = {"GetMergeConflicts": 1.3, "MergeBranchesByThreeWay": 1.3, "GetDifferences": 2.0}


def _names() -> list[str]:
    return [f"d{d:02}/f{f:03}.txt" for d in range(FOLDERS) for f in range(PER_FOLDER)]


def _content(name: str, changed: dict[int, str]) -> bytes:
    lines = [changed.get(n, f"{name} line {n}") for n in range(LINES)]
    return ("\n".join(lines) + "\n").encode()


def _commit(branch: str, parent: str | None, files: dict[str, bytes], mark: int) -> bytes:
    out = [f"commit refs/heads/{branch}\nmark :{mark}\n".encode()]
    out.append(b"committer Bench <bench@example.com> 1500000000 +0000\ndata 6\nbench\n")
    if parent:
        out.append(f"from {parent}\n".encode())
    for name, data in files.items():
        out.append(f"M 100644 inline {name}\ndata {len(data)}\n".encode() + data + b"\n")
    return b"".join(out)


def generate(work: Path) -> None:
    """The repository, through `git fast-import`."""
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(work)], check=True)
    names = _names()
    base = {n: _content(n, {}) for n in names}
    dest = {n: _content(n, {0: "destination"}) for n in names[:CHANGED]}
    first = CHANGED - OVERLAP
    source = {n: _content(n, {LINES - 1: "source"}) for n in names[first : first + CHANGED]}
    wide = {n: _content(n, {15: "wide"}) for n in names}
    stream = b"".join(
        [
            _commit("main", None, base, 1),
            _commit("dest", ":1", dest, 2),
            _commit("source", ":1", source, 3),
            _commit("wide", ":1", wide, 4),
        ]
    )
    subprocess.run(["git", "-C", str(work), "fast-import", "--quiet"], input=stream, check=True)


def git_time(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run(["git", *args], check=True, capture_output=True)
    return time.perf_counter() - started


async def api_time(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


async def measure(server: GitServer, copy: Path, repo: str, runs: int) -> dict[str, list[float]]:
    client = Client(f"http://127.0.0.1:{server.port}", server.cli("access-key", "create", "admin"))
    times: dict[str, list[float]] = {}
    both = {"repositoryName": repo, "sourceCommitSpecifier": "source"}
    merge_tree = ("-C", str(copy), "merge-tree", "--write-tree", "dest", "source")
    async with aiohttp.ClientSession() as http:

        async def conflicts() -> None:
            found = await client.call(
                http,
                "GetMergeConflicts",
                {**both, "destinationCommitSpecifier": "dest", "mergeOption": "THREE_WAY_MERGE"},
            )
            assert len(found["conflictMetadataList"]) == OVERLAP, found

        async def differences() -> None:
            found = await client.call(
                http,
                "GetDifferences",
                {
                    "repositoryName": repo,
                    "beforeCommitSpecifier": "main",
                    "afterCommitSpecifier": "wide",
                    "MaxResults": FOLDERS * PER_FOLDER,
                },
            )
            assert len(found["differences"]) == FOLDERS * PER_FOLDER

        async def floor() -> None:
            await client.call(http, "GetRepository", {"repositoryName": repo})

        dest = (
            await client.call(http, "GetBranch", {"repositoryName": repo, "branchName": "dest"})
        )["branch"]["commitId"]
        await conflicts()  # warm caches and connections
        for run in range(runs):
            branch = f"into-{run}"
            await client.call(
                http,
                "CreateBranch",
                {"repositoryName": repo, "branchName": branch, "commitId": dest},
            )

            async def merge(branch: str = branch) -> None:
                await client.call(
                    http,
                    "MergeBranchesByThreeWay",
                    # The 50 files both sides changed merge line by line, as git does;
                    # at AWS's default FILE_LEVEL they would be conflicts.
                    {
                        **both,
                        "destinationCommitSpecifier": branch,
                        "conflictDetailLevel": "LINE_LEVEL",
                    },
                )

            pairs: list[tuple[str, Callable[[], Awaitable[Any]], tuple[str, ...]]] = [
                ("GetMergeConflicts", conflicts, merge_tree),
                ("MergeBranchesByThreeWay", merge, merge_tree),
                (
                    "GetDifferences",
                    differences,
                    ("-C", str(copy), "diff-tree", "-r", "main", "wide"),
                ),
            ]
            pairs.append(("GetRepository", floor, merge_tree))
            for name, call, command in pairs:
                times.setdefault(f"git:{name}", []).append(git_time(*command))
                times.setdefault(name, []).append(await api_time(call))
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 runs")
    args, _ = parser.parse_known_args(argv)
    runs = 3 if args.quick else args.runs
    with tempfile.TemporaryDirectory(prefix="bench-pr-") as tmp:
        scratch = Path(tmp)
        generated = scratch / "generated.git"
        generate(generated)
        server = GitServer(scratch)
        server.start()
        try:
            repo = "bench-pr"
            server.create(repo)
            subprocess.run(
                ["git", "-C", str(generated), "push", "-q", server.url(repo), "--all"],
                check=True,
            )
            copy = scratch / "copy.git"
            subprocess.run(["git", "clone", "-q", "--bare", str(generated), str(copy)], check=True)
            times = asyncio.run(measure(server, copy, repo, runs))
        finally:
            server.stop()
    print(
        f"\nPull-request content, {CHANGED} changed files each side ({OVERLAP} on both), "
        f"{FOLDERS * PER_FOLDER} for GetDifferences; median of {runs}"
    )
    floor = statistics.median(times["GetRepository"]) / statistics.median(
        times["git:GetRepository"]
    )
    # What any request costs (SigV4, authorization, audit, HTTP) before it does anything.
    print(f"  {'GetRepository (floor)':<26} {floor:5.2f}x git merge-tree")
    for name, target in TARGETS.items():
        ours, git = statistics.median(times[name]), statistics.median(times[f"git:{name}"])
        verdict = "ok" if ours / git <= target else "over"
        print(
            f"  {name:<26} {ours / git:5.2f}x git (target <= {target}x, {verdict})"
            f"  [{ours * 1000:.0f} ms vs {git * 1000:.0f} ms]"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
