"""What the caller hands the runner: the build's identity, source, places and limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

MiB = 1024 * 1024


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """The source a build runs on.

    `source_version` is what was asked for (a branch ref, a commit, or `pr/N` for a pull
    request); `resolved_version` is the exact commit, CODEBUILD_RESOLVED_SOURCE_VERSION.
    """

    resolved_version: str
    source_version: str = ""
    repo_url: str = ""


@dataclass(frozen=True, slots=True)
class WebhookInfo:
    """The event that started the build (the CODEBUILD_WEBHOOK_* variables)."""

    event: str = ""
    """PUSH, PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_MERGED, ..."""
    head_ref: str = ""
    base_ref: str = ""
    trigger: str = ""
    """`branch/NAME`, `tag/NAME` or `pr/N`."""
    actor_account_id: str = ""
    merge_commit: str = ""
    prev_commit: str = ""


@dataclass(frozen=True, slots=True)
class BuildLimits:
    """Time, output and resource limits of one build (None: no limit)."""

    total_timeout: float = 3600.0
    phase_timeout: float | None = None
    output_cap: int = 16 * MiB
    """Bytes of log; past it the log says so and drops the rest of the output."""
    memory_bytes: int | None = 4096 * MiB
    """RLIMIT_AS of every process of the build."""
    cpu_seconds: int | None = 3600
    processes: int | None = 512
    """RLIMIT_NPROC; the kernel exempts processes of host root (see sandbox.py)."""
    file_size: int | None = 4096 * MiB
    open_files: int | None = 4096


@dataclass(frozen=True, slots=True)
class BuildRequest:
    """One build to run: identity, source, directories, variables, secrets and limits.

    `workspace` holds the source (the caller exports the commit into it); the build may
    change it. `artifacts_dir` receives `<identifier>.zip` per artifact. `environment`
    overrides the buildspec's variables (CodeBuild's start-build and project variables).
    `secrets` maps a secret reference, as written in the buildspec, to its value.
    `cache_dir` keeps `cache.paths` between builds (None: no cache).
    """

    build_id: str
    workspace: Path
    log_path: Path
    artifacts_dir: Path
    source: SourceInfo
    build_number: int = 1
    initiator: str = ""
    webhook: WebhookInfo | None = None
    build_arn: str = ""
    project_arn: str = ""
    region: str = "us-east-1"
    primary_artifact: str = "primary"
    """The file name (without .zip) of the primary artifact; secondary ones use their id."""
    environment: Mapping[str, str] = field(default_factory=_empty, hash=False)
    secrets: Mapping[str, str] = field(default_factory=_empty, hash=False)
    cache_dir: Path | None = None
    limits: BuildLimits = BuildLimits()
