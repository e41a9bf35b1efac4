"""Copying a live bare repository: its objects as they are now, its refs as the snapshot
has them.

Objects are only added while the server runs (maintenance repacks without pruning),
so objects copied after the database snapshot include every object the snapshot's refs
name. Maintenance's lock is held while copying: a repack would otherwise delete a pack
between listing it and copying it. A pack is copied only with its index (a push may be
moving one in: git renames the pack before its index). Multi-pack index, bitmaps and
commit-graphs are left out: they are derived, and maintenance writes them again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from gitserver.backup.errors import BackupError
from gitserver.gitcmd import Git
from gitserver.store.maintenance import LOCK_FILE

_LOOSE_DIR = re.compile(r"[0-9a-f]{2}")
_LOOSE_NAME = re.compile(r"[0-9a-f]{38,62}")
_COPIED_FILES = ("config", "HEAD", "description")


@contextlib.contextmanager
def maintenance_locked(repository: Path) -> Iterator[None]:
    """Hold the repository's maintenance lock (waiting for a run under way)."""
    fd = os.open(repository / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def copy_repository(git: Git, source: Path, target: Path, refs: Iterable[tuple[str, str]]) -> None:
    """Make `target` a bare repository with `source`'s objects and exactly `refs`.

    Raises:
        BackupError: `source` is gone, or a ref names an object the copy lacks.
    """
    if not (source / "objects").is_dir():
        raise BackupError(
            f"repository {source.name} is in the database snapshot but not on disk "
            "(deleted during the backup?); run the backup again"
        )
    _git(git, "init", "--bare", "--quiet", "--template=", str(target))
    with maintenance_locked(source):
        for name in _COPIED_FILES:
            if (source / name).is_file():
                shutil.copyfile(source / name, target / name)
        copy_objects(source / "objects", target / "objects")
    set_refs(git, target, refs)


def copy_objects(source: Path, target: Path) -> None:
    for directory in source.iterdir():
        if _LOOSE_DIR.fullmatch(directory.name) and directory.is_dir():
            for obj in directory.iterdir():
                if _LOOSE_NAME.fullmatch(obj.name):
                    _copy_if_there(obj, target / directory.name / obj.name)
    packs = source / "pack"
    if not packs.is_dir():
        return
    (target / "pack").mkdir(exist_ok=True)
    for index in sorted(packs.glob("pack-*.idx")):
        pack = index.with_suffix(".pack")
        # The pack before its index: a reader never sees an index without its pack.
        if _copy_if_there(pack, target / "pack" / pack.name):
            shutil.copyfile(index, target / "pack" / index.name)


def _copy_if_there(source: Path, target: Path) -> bool:
    target.parent.mkdir(exist_ok=True)
    try:
        shutil.copyfile(source, target)
    except FileNotFoundError:
        return False  # a loose object packed meanwhile is in a pack listed later
    return True


def set_refs(git: Git, repository: Path, refs: Iterable[tuple[str, str]]) -> None:
    """Create exactly `refs` (name, object id) in a repository that has none."""
    lines = b"".join(f"create {name}\0{target}\0".encode() for name, target in refs)
    if lines:
        _git(git, "update-ref", "-z", "--stdin", repo=repository, input=lines)


def _git(git: Git, *args: str, repo: Path | None = None, input: bytes | None = None) -> None:
    result = subprocess.run(
        [git.binary, *args],
        input=input,
        capture_output=True,
        env=git.env(repo=repo),
        cwd=str(repo or git.home),
        check=False,
        timeout=3600,
    )
    if result.returncode != 0:
        where = repo.name if repo else args[-1]
        raise BackupError(
            f"git {args[0]} failed for {where}: {result.stderr.decode(errors='replace')[-500:]}"
        )


def refs_by_repository(rows: Iterable[Mapping[str, object]]) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        found.setdefault(str(row["repository_id"]), []).append(
            (str(row["name"]), str(row["target"]))
        )
    return found
