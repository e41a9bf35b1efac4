"""The buildspec runner: CodeBuild's buildspec 0.2 run in one shell, in a sandbox.

A library with no database: the pipeline engine parses a buildspec, resolves its
secrets, prepares a workspace, and calls `run_build` with a `BuildRequest` and an
`Executor` (`executor_for("bwrap" | "shell", network=...)`).
"""

from __future__ import annotations

from gitserver.pipelines.buildspec.artifacts import artifact_path, extract_artifact
from gitserver.pipelines.buildspec.errors import (
    ArtifactNotFound,
    ArtifactTooLarge,
    BuildspecError,
    InvalidBuildspec,
    SandboxUnavailable,
)
from gitserver.pipelines.buildspec.parsing import parse_buildspec
from gitserver.pipelines.buildspec.request import (
    BuildLimits,
    BuildRequest,
    SourceInfo,
    WebhookInfo,
)
from gitserver.pipelines.buildspec.result import (
    ArtifactResult,
    BuildResult,
    BuildStatus,
    PhaseResult,
    ReportResult,
)
from gitserver.pipelines.buildspec.runner import run_build
from gitserver.pipelines.buildspec.sandbox import (
    SANDBOX_SRC_DIR,
    BwrapExecutor,
    Executor,
    ExecutorKind,
    Network,
    ShellExecutor,
    executor_for,
)
from gitserver.pipelines.buildspec.spec import (
    ArtifactSpec,
    Buildspec,
    CacheSpec,
    Env,
    FailureAction,
    OnFailure,
    Phase,
    PhaseName,
    ReportGroup,
)
from gitserver.pipelines.buildspec.workspace import export_commit

__all__ = [
    "SANDBOX_SRC_DIR",
    "ArtifactNotFound",
    "ArtifactResult",
    "ArtifactSpec",
    "ArtifactTooLarge",
    "BuildLimits",
    "BuildRequest",
    "BuildResult",
    "BuildStatus",
    "Buildspec",
    "BuildspecError",
    "BwrapExecutor",
    "CacheSpec",
    "Env",
    "Executor",
    "ExecutorKind",
    "FailureAction",
    "InvalidBuildspec",
    "Network",
    "OnFailure",
    "Phase",
    "PhaseName",
    "PhaseResult",
    "ReportGroup",
    "ReportResult",
    "SandboxUnavailable",
    "ShellExecutor",
    "SourceInfo",
    "WebhookInfo",
    "artifact_path",
    "executor_for",
    "export_commit",
    "extract_artifact",
    "parse_buildspec",
    "run_build",
]
