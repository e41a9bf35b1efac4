"""`cache.paths`: files kept between builds of one pipeline action, in a directory the
caller owns. Restored before INSTALL without overwriting the source's own files; saved
after the build (whatever its outcome), replacing the previous copy whole.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from gitserver.pipelines.buildspec.paths import collect
from gitserver.pipelines.buildspec.spec import CacheSpec

_CURRENT = "current"


def restore(cache_dir: Path, workspace: Path) -> int:
    """Copy the saved files into the workspace; how many were restored."""
    saved = cache_dir / _CURRENT
    if not saved.is_dir():
        return 0
    count = 0
    for match in collect(saved, saved, ["**/*"]):
        target = workspace / match.relative
        if target.exists() or target.is_symlink():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(match.path, target, follow_symlinks=False)
        count += 1
    return count


def save(spec: CacheSpec, workspace: Path, cache_dir: Path) -> int:
    """Replace the saved copy with the workspace's files matching `spec.paths`; file count.

    Links are copied as links, never followed: the cache holds the build's files only.
    """
    matches = collect(workspace, workspace, spec.paths)
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=cache_dir))
    for match in matches:
        target = staging / match.relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(match.path, target, follow_symlinks=False)
    current = cache_dir / _CURRENT
    old = cache_dir / f".old-{os.getpid()}-{staging.name}"
    if current.exists():
        current.rename(old)
    staging.rename(current)
    shutil.rmtree(old, ignore_errors=True)
    return len(matches)
