"""Matching a build's files against buildspec globs, without ever leaving the workspace.

The workspace was written by untrusted code. The walk never follows a symbolic link to a
directory, and a link to a file counts only when it resolves inside the workspace: a
build's `ln -s /srv/data/server.key out/key` must not put the server's key in a zip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from wcmatch import glob

_FLAGS = glob.GLOBSTAR | glob.DOTGLOB


@dataclass(frozen=True, slots=True)
class Match:
    """A matched file: its path relative to the base, and where it is on the host."""

    relative: str
    path: Path
    is_symlink: bool


def inside(root: Path, path: Path) -> bool:
    """Whether `path`, fully resolved, is `root` or below it."""
    try:
        return path.resolve(strict=True).is_relative_to(root.resolve(strict=True))
    except OSError:
        return False


def base_of(workspace: Path, base_directory: str | None) -> Path | None:
    """The directory globs are relative to; None if it is missing or leaves the workspace."""
    base = workspace / base_directory if base_directory else workspace
    if not base.is_dir() or not inside(workspace, base):
        return None
    return base


def _walk(base: Path) -> Iterator[tuple[str, Path]]:
    for directory, dirs, files in os.walk(base, followlinks=False):
        here = Path(directory)
        rel = here.relative_to(base).as_posix()
        prefix = "" if rel == "." else f"{rel}/"
        # Symbolic links to directories are listed as directories by os.walk: as files
        # here, so that they are matched (and kept as links) but never entered.
        for name in sorted(dirs):
            if (here / name).is_symlink():
                files.append(name)
        dirs[:] = sorted(d for d in dirs if not (here / d).is_symlink())
        for name in sorted(files):
            yield prefix + name, here / name


def collect(
    workspace: Path, base: Path, patterns: Sequence[str], excludes: Sequence[str] = ()
) -> list[Match]:
    """The files below `base` that match `patterns` and no `excludes`, in walk order.

    A pattern naming a directory (`dist`) takes everything below it, as `dist/**/*` would.
    """
    expanded = []
    for pattern in patterns:
        cleaned = pattern.strip().removeprefix("./").rstrip("/")
        if not cleaned:
            continue
        expanded.append(cleaned)
        if not glob.is_magic(cleaned) and (base / cleaned).is_dir():
            expanded.append(f"{cleaned}/**/*")
    found = []
    for relative, path in _walk(base):
        if not glob.globmatch(relative, expanded, flags=_FLAGS):
            continue
        if excludes and glob.globmatch(relative, list(excludes), flags=_FLAGS):
            continue
        if path.is_symlink():
            found.append(Match(relative, path, True))
        elif path.is_file():
            found.append(Match(relative, path, False))
    return found


def readable(workspace: Path, match: Match) -> bool:
    """Whether a match may be read on the host: a regular file, or a link resolving inside."""
    if not match.is_symlink:
        return True
    return inside(workspace, match.path) and match.path.resolve().is_file()
