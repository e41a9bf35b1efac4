"""Objects the server writes itself go in only past the checks a push's objects get.

A push's pack is checked by `git index-pack --strict` (receive.fsckObjects) in a
quarantine directory and moved into the repository only if git accepts it. The server's
own commits (PutFile, DeleteFile, CreateCommit, and any later merge) take the same road:
the objects are written as one pack, fed to `git index-pack` with the push's own
`--strict` argument (`gitcmd.strict_option`) in a quarantine that sees the repository's
objects as alternates, and migrated into `objects/pack` only when it succeeds. git is the
authority: a Python pre-check may give a clearer message earlier, never a different
answer. A refused write leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from dulwich.object_format import DEFAULT_OBJECT_FORMAT
from dulwich.objects import ShaFile
from dulwich.pack import write_pack_objects

from gitserver.content.errors import ObjectsRefused
from gitserver.gitcmd import Git, GitError, strict_option
from gitserver.store.quarantine import SERVER_PREFIX

__all__ = ["QUARANTINE_PREFIX", "install_objects", "refused_checks"]

log = logging.getLogger(__name__)

# git's own quarantine is `objects/tmp_objdir-incoming-*`; ours is told apart by name
# (the start-up sweep removes both when a killed server left them).
QUARANTINE_PREFIX = SERVER_PREFIX
# fsck's report format (fsck.c `fsck_vreport`): "object <oid>: <msg-id>: <text>".
_FSCK_LINE = re.compile(rb"^(?:error|warning): object [0-9a-f]+: ([A-Za-z]+): ", re.MULTILINE)


def refused_checks(stderr: bytes) -> tuple[str, ...]:
    """The fsck message ids git reported on `stderr`, in order, each once."""
    return tuple(dict.fromkeys(m.decode() for m in _FSCK_LINE.findall(stderr)))


async def install_objects(git: Git, path: Path, objects: Sequence[ShaFile]) -> None:
    """Add `objects` to the repository at `path` if git accepts them as it would a push's.

    Call this before any ref points at them; on failure nothing was added.

    Raises:
        ObjectsRefused: git's object checks refuse them (`checks` says which).
        GitError: git failed otherwise (the disk, a timeout).
    """
    pack = await asyncio.to_thread(_pack, objects)
    quarantine = await asyncio.to_thread(_make_quarantine, path / "objects")
    try:
        result = await git.run(
            "index-pack",
            strict_option(),
            "--stdin",
            repo=path,
            input=pack,
            extra_env=_quarantine_env(path / "objects", quarantine),
            check=False,
        )
        if result.returncode != 0:
            checks = refused_checks(result.stderr)
            log.warning(
                "objects refused by git's checks",
                extra={"checks": checks, "stderr": result.stderr[-2000:]},
            )
            if not checks:
                raise GitError(("index-pack", "--stdin"), result.returncode, result.stderr)
            raise ObjectsRefused(
                "The change would not pass the object checks git applies to a push "
                f"({', '.join(checks)})",
                checks,
            )
        await asyncio.to_thread(_migrate, quarantine, path / "objects")
    finally:
        await asyncio.to_thread(shutil.rmtree, quarantine, True)


def _pack(objects: Sequence[ShaFile]) -> bytes:
    # Each object once: index-pack refuses a pack that holds one twice, and a commit
    # writing the same content to several files builds its blob several times.
    unique = {bytes(o.id): o for o in objects}
    buffer = io.BytesIO()
    write_pack_objects(buffer, [(o, None) for o in unique.values()], DEFAULT_OBJECT_FORMAT)
    return buffer.getvalue()


def _make_quarantine(objects: Path) -> Path:
    quarantine = Path(tempfile.mkdtemp(prefix=QUARANTINE_PREFIX, dir=objects))
    (quarantine / "pack").mkdir()
    return quarantine


def _quarantine_env(objects: Path, quarantine: Path) -> dict[str, str]:
    # What git's tmp-objdir sets for receive-pack: new objects go to the quarantine, the
    # repository's are visible (for connectivity and `.gitmodules` blobs already there),
    # and GIT_QUARANTINE_PATH makes git refuse any ref update from inside it.
    return {
        "GIT_OBJECT_DIRECTORY": str(quarantine),
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(objects.resolve()),
        "GIT_QUARANTINE_PATH": str(quarantine),
    }


def _migrate(quarantine: Path, objects: Path) -> None:
    """Move the checked files into `objects`, as git's tmp-objdir migration does: each
    pack's `.idx` last (a pack is used only once its index is there), and a file already
    present is the same object data, so it stays (`finalize_object_file`)."""
    files = sorted(
        (p for p in quarantine.rglob("*") if p.is_file()), key=lambda p: (p.suffix == ".idx", p)
    )
    touched: set[Path] = set()
    for source in files:
        target = objects / source.relative_to(quarantine)
        target.parent.mkdir(exist_ok=True)
        try:
            os.link(source, target)
        except FileExistsError:
            continue
        touched.add(target.parent)
    for directory in touched:
        # The files were fsynced by git (core.fsync); their names must be durable too.
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
