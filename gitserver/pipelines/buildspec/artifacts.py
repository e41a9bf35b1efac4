"""Artifacts: zips built from a buildspec's globs, and their extraction for a later action.

https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html#build-spec.artifacts
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gitserver.pipelines.buildspec.errors import ArtifactNotFound, ArtifactTooLarge
from gitserver.pipelines.buildspec.paths import base_of, collect, readable
from gitserver.pipelines.buildspec.spec import ArtifactSpec

ARTIFACT_NAME = re.compile(r"[A-Za-z0-9_\-]{1,100}")
MAX_EXTRACTED = 4 * 1024 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Packed:
    """A zip that was written (`path`), or why none was (`problem`)."""

    path: Path | None
    files: int
    problem: str = ""


def pack(spec: ArtifactSpec, workspace: Path, target: Path, note: Callable[[str], None]) -> Packed:
    """Zip the files `spec` selects from `workspace` into `target` (replaced atomically).

    `note` receives lines for the build log (skipped links, duplicate names).
    """
    base = base_of(workspace, spec.base_directory)
    if base is None:
        return Packed(None, 0, f"base directory {spec.base_directory} does not exist")
    matches = collect(workspace, base, spec.files, spec.exclude_paths)
    if not matches:
        return Packed(None, 0, "no matching artifact paths found")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    names: set[str] = set()
    count = 0
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for match in matches:
            name = PurePosixPath(match.relative).name if spec.discard_paths else match.relative
            if name in names:
                note(f"Skipping {match.relative}: {name} is already in the artifact")
                continue
            if match.is_symlink and spec.enable_symlinks:
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, os.readlink(match.path))
            elif readable(workspace, match):
                archive.write(match.path.resolve(), name)
            else:
                note(f"Skipping {match.relative}: a link that leads outside the source")
                continue
            names.add(name)
            count += 1
    os.replace(partial, target)
    return Packed(target, count)


def artifact_path(artifacts_dir: Path, name: str) -> Path:
    """Where the artifact called `name` is stored.

    Raises:
        ArtifactNotFound: `name` is not an artifact name, or no such artifact exists.
    """
    if not ARTIFACT_NAME.fullmatch(name):
        raise ArtifactNotFound(f"artifact {name!r} does not exist")
    path = artifacts_dir / f"{name}.zip"
    if not path.is_file():
        raise ArtifactNotFound(f"artifact {name} does not exist")
    return path


def extract_artifact(
    artifacts_dir: Path, name: str, workspace: Path, *, max_bytes: int = MAX_EXTRACTED
) -> int:
    """Unzip the artifact `name` into `workspace` (an input of a later action); file count.

    Entries that would land outside the workspace are refused, links are recreated as
    links, and extraction stops at `max_bytes` of content.

    Raises:
        ArtifactNotFound: no such artifact.
        ArtifactTooLarge: its content passes `max_bytes`.
    """
    path = artifact_path(artifacts_dir, name)
    workspace.mkdir(parents=True, exist_ok=True)
    root = workspace.resolve()
    total = count = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            parts = PurePosixPath(info.filename).parts
            if not parts or info.filename.startswith("/") or ".." in parts:
                continue
            destination = root.joinpath(*parts)
            if not destination.parent.resolve().is_relative_to(root):
                continue
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            total += info.file_size
            if total > max_bytes:
                raise ArtifactTooLarge(f"artifact {name} is larger than {max_bytes} bytes")
            destination.parent.mkdir(parents=True, exist_ok=True)
            if destination.is_symlink():
                destination.unlink()
            if stat.S_ISLNK(info.external_attr >> 16):
                destination.unlink(missing_ok=True)
                destination.symlink_to(archive.read(info).decode("utf-8", "replace"))
            else:
                with archive.open(info) as source, destination.open("wb") as sink:
                    while chunk := source.read(1024 * 1024):
                        sink.write(chunk)
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    destination.chmod(mode)
            count += 1
    return count
