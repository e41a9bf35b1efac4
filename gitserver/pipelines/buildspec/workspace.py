"""A build's workspace: the exact commit of the source, exported with `git archive`.

The tar is streamed to a file next to the workspace, then unpacked with tarfile's `data`
filter (no absolute paths, no `..`, no links out, no device files), in a thread.
"""

from __future__ import annotations

import asyncio
import tarfile
from pathlib import Path

from gitserver.gitcmd import Git, GitError, kill, user_value


async def export_commit(git: Git, repo: Path, commit: str, workspace: Path) -> None:
    """Write the tree of `commit` in the bare repository `repo` into `workspace`.

    Raises:
        GitError: git could not produce the archive (no such commit, a broken repository).
    """
    await asyncio.to_thread(workspace.mkdir, parents=True, exist_ok=True)
    archive = workspace.parent / f".{workspace.name}.tar"
    process = await git.spawn("archive", "--format=tar", user_value(commit), repo=repo)
    assert process.stdout is not None and process.stdin is not None
    process.stdin.close()
    try:
        with archive.open("wb") as sink:
            while chunk := await process.stdout.read(1024 * 1024):
                await asyncio.to_thread(sink.write, chunk)
        status = await asyncio.wait_for(process.wait(), git.default_timeout)
        if status != 0:
            stderr = await process.stderr.read() if process.stderr else b""
            raise GitError(("archive", commit), status, stderr)
        await asyncio.to_thread(_unpack, archive, workspace)
    finally:
        kill(process)
        archive.unlink(missing_ok=True)


def _unpack(archive: Path, workspace: Path) -> None:
    with tarfile.open(archive) as tar:
        tar.extractall(workspace, filter="data")
