"""`manifest.json`: what a backup holds, and the checksums restore verifies first."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitserver.backup.errors import BackupError

MANIFEST = "manifest.json"
FORMAT = 1
_CHUNK = 1024 * 1024


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def files_under(root: Path) -> Iterator[Path]:
    """Every regular file below `root` (the manifest itself excluded), sorted."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and path != root / MANIFEST:
            yield path


def write(root: Path, facts: dict[str, Any]) -> dict[str, Any]:
    """Checksum every file and write the manifest last: a DEST without one is partial."""
    files = {str(path.relative_to(root)): sha256_file(path) for path in files_under(root)}
    manifest = {"format": FORMAT, **facts, "files": files}
    target = root / MANIFEST
    tmp = root / f".{MANIFEST}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(target)
    return manifest


def read_verified(root: Path) -> dict[str, Any]:
    """The manifest, once every file it lists has its checksum and nothing is extra.

    Raises:
        BackupError: no manifest, an unknown format, or a file missing, changed or added.
    """
    path = root / MANIFEST
    if not path.is_file():
        raise BackupError(f"{root} is not a gitserver backup (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
        files = dict(manifest["files"])
        version = int(manifest["format"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{path} is unreadable: {exc}") from None
    if version != FORMAT:
        raise BackupError(f"{path}: backup format {version} is not supported (only {FORMAT})")
    present = {str(p.relative_to(root)) for p in files_under(root)}
    missing = sorted(set(files) - present)
    extra = sorted(present - set(files))
    if missing or extra:
        what = "missing: " + ", ".join(missing[:5]) if missing else "unexpected: " + extra[0]
        raise BackupError(f"the backup in {root} is incomplete or altered ({what})")
    for name, expected in files.items():
        if sha256_file(root / name) != expected:
            raise BackupError(f"the backup in {root} is damaged: {name} fails its checksum")
    return dict(manifest)
