"""What merging two commits gives, computed by git's own merge (`git merge-tree`, ort).

`git merge-tree --write-tree` merges without an index or a working tree and writes the
resulting tree, with conflict markers where it could not merge, exactly as `git merge`
would leave it checked out. git writes those objects itself, so it runs here with a
private object directory (the repository's objects as alternates), and what it wrote is
then installed through `content.packs.install_objects`: the server adds nothing to a
repository that a push could not add. Objects the repository already has are not
written again (git only freshens them), so repeating a merge adds nothing.

The -z output (git help merge-tree, "OUTPUT"):
    <tree>NUL (<mode> SP <oid> SP <stage> TAB <path> NUL)* NUL
    (<n>NUL <path>NUL*n <type>NUL <message>NUL)*
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dulwich.objects import ShaFile

from gitserver.content.packs import QUARANTINE_PREFIX, install_objects
from gitserver.gitcmd import Git, GitError, user_value

__all__ = ["ConflictedFile", "MergeTree", "Message", "Stage", "merge_base", "merge_tree"]


@dataclass(frozen=True, slots=True)
class Stage:
    mode: str  # git's octal mode, "100644"
    object_id: str


@dataclass(frozen=True, slots=True)
class ConflictedFile:
    path: str
    base: Stage | None  # index stage 1
    destination: Stage | None  # stage 2, "ours": the branch merged into
    source: Stage | None  # stage 3, "theirs": the branch merged from


@dataclass(frozen=True, slots=True)
class Message:
    paths: tuple[str, ...]
    kind: str  # "Auto-merging", "CONFLICT (contents)", "CONFLICT (rename/delete)", ...
    text: str


@dataclass(frozen=True, slots=True)
class MergeTree:
    tree_id: str  # with conflict markers in the files git could not merge
    clean: bool
    merge_base: str  # "" when the histories are unrelated
    conflicts: tuple[ConflictedFile, ...]
    messages: tuple[Message, ...]


async def merge_base(git: Git, path: Path, one: str, other: str) -> str:
    """The best common ancestor of two commits, or "" if they have none."""
    result = await git.run("merge-base", user_value(one), user_value(other), repo=path, check=False)
    if result.returncode == 1 and not result.stdout:
        return ""
    if result.returncode != 0:
        raise GitError(("merge-base",), result.returncode, result.stderr)
    return result.stdout.decode().strip()


async def merge_tree(
    git: Git, path: Path, destination: str, source: str, *, base: str | None = None
) -> MergeTree:
    """Merge commit `source` into commit `destination` as `git merge` would.

    Unrelated histories are merged as with `--allow-unrelated-histories`; the tree and
    every blob git wrote are in the repository when this returns. `base`: the merge base
    when the caller has already asked git for it.

    Raises:
        ObjectsRefused: what git wrote would not pass a push's object checks.
        GitError: git could not merge (an unknown commit, the disk, a timeout).
    """
    if base is None:
        # Two processes at once: merge-tree does not need the base, only its result does.
        # Both are awaited before either's error is raised: no process outlives the call.
        found, written = await asyncio.gather(
            merge_base(git, path, destination, source),
            _write_tree(git, path, destination, source),
            return_exceptions=True,
        )
        for outcome in (found, written):
            if isinstance(outcome, BaseException):
                raise outcome
        assert isinstance(found, str) and isinstance(written, tuple)
        base, (output, clean) = found, written
    else:
        output, clean = await _write_tree(git, path, destination, source)
    return parse(output, clean=clean, base=base)


async def _write_tree(git: Git, path: Path, destination: str, source: str) -> tuple[bytes, bool]:
    """`git merge-tree --write-tree`'s output and whether it was clean; what it wrote is
    installed in the repository."""
    objects = path / "objects"
    scratch = await asyncio.to_thread(_scratch, objects)
    try:
        result = await git.run(
            "merge-tree",
            "--write-tree",
            "-z",
            "--messages",
            "--allow-unrelated-histories",
            user_value(destination),
            user_value(source),
            repo=path,
            # The scratch objects are thrown away once installed, and installing them
            # (index-pack) is what makes them durable: no fsync per loose object here.
            config={"core.fsync": "none"},
            extra_env={
                "GIT_OBJECT_DIRECTORY": str(scratch),
                "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(objects.resolve()),
                "GIT_QUARANTINE_PATH": str(scratch),
            },
            check=False,
        )
        # 0: clean, 1: conflicts; anything else: no merge was made.
        if result.returncode not in (0, 1):
            raise GitError(("merge-tree", "--write-tree"), result.returncode, result.stderr)
        written = await asyncio.to_thread(_loose_objects, scratch)
        if written:
            await install_objects(git, path, written)
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)
    return result.stdout, result.returncode == 0


def _scratch(objects: Path) -> Path:
    return Path(tempfile.mkdtemp(prefix=QUARANTINE_PREFIX, dir=objects))


def _loose_objects(directory: Path) -> list[ShaFile]:
    return [
        ShaFile.from_path(str(file))
        for file in sorted(directory.glob("[0-9a-f][0-9a-f]/*"))
        if file.is_file()
    ]


def parse(output: bytes, *, clean: bool, base: str) -> MergeTree:
    """`git merge-tree --write-tree -z --messages` output as a MergeTree."""
    fields = output.split(b"\0")
    tree_id = fields[0].decode()
    at = 1
    stages: dict[str, dict[int, Stage]] = {}
    while at < len(fields) and fields[at]:
        info, _, name = fields[at].partition(b"\t")
        mode, oid, stage = info.decode().split(" ")
        stages.setdefault(_path(name), {})[int(stage)] = Stage(mode, oid)
        at += 1
    at += 1  # the empty field ending the conflicted-file section
    messages: list[Message] = []
    # The output ends with NUL, so the last field is empty.
    while at < len(fields) - 1:
        count = int(fields[at])
        paths = tuple(_path(p) for p in fields[at + 1 : at + 1 + count])
        kind = fields[at + 1 + count].decode("utf-8", "replace")
        text = fields[at + 2 + count].decode("utf-8", "replace").rstrip("\n")
        messages.append(Message(paths, kind, text))
        at += count + 3
    conflicts = tuple(
        ConflictedFile(name, found.get(1), found.get(2), found.get(3))
        for name, found in stages.items()
    )
    return MergeTree(tree_id, clean, base, conflicts, tuple(messages))


def _path(raw: bytes) -> str:
    # Paths are bytes in git; the API's paths are text, and a non-UTF-8 name survives
    # the round trip back to bytes.
    return raw.decode("utf-8", "surrogateescape")
