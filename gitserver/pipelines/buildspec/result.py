"""What a build returns: its status, its phases, exported variables, artifacts, reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType


class BuildStatus(StrEnum):
    """CodeBuild's build and phase statuses (IN_PROGRESS never leaves the runner)."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    FAULT = "FAULT"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"


@dataclass(frozen=True, slots=True)
class PhaseResult:
    """One phase that ran: `name` is CodeBuild's (`PRE_BUILD`, `UPLOAD_ARTIFACTS`)."""

    name: str
    status: BuildStatus
    started_at: datetime
    duration: float
    attempts: int = 1
    message: str = ""


@dataclass(frozen=True, slots=True)
class ArtifactResult:
    """A zip written under the request's `artifacts_dir`."""

    identifier: str
    path: Path
    name: str
    files: int


@dataclass(frozen=True, slots=True)
class ReportResult:
    """A report group's test counts (JUnit XML)."""

    group: str
    total: int
    passed: int
    failed: int
    skipped: int
    files: int
    message: str = ""


@dataclass(frozen=True, slots=True)
class BuildResult:
    """The outcome of `run_build`; `message` says why a build did not succeed."""

    status: BuildStatus
    phases: tuple[PhaseResult, ...]
    started_at: datetime
    ended_at: datetime
    exported_variables: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    artifacts: tuple[ArtifactResult, ...] = ()
    reports: tuple[ReportResult, ...] = ()
    log_truncated: bool = False
    message: str = ""

    def phase(self, name: str) -> PhaseResult | None:
        """The last result of the phase called `name` (`BUILD`), if it ran."""
        return next((p for p in reversed(self.phases) if p.name == name), None)
