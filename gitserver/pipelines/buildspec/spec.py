"""A parsed buildspec (version 0.2) as frozen values; `parsing.parse_buildspec` builds it.

https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class PhaseName(StrEnum):
    """The buildspec's phases, in the order they run."""

    INSTALL = "install"
    PRE_BUILD = "pre_build"
    BUILD = "build"
    POST_BUILD = "post_build"

    @property
    def label(self) -> str:
        """CodeBuild's name for the phase in logs and build details (`PRE_BUILD`)."""
        return self.value.upper()


class FailureAction(StrEnum):
    """What `on-failure` asks for when a phase fails."""

    ABORT = "ABORT"
    CONTINUE = "CONTINUE"
    RETRY = "RETRY"


@dataclass(frozen=True, slots=True)
class OnFailure:
    """`on-failure`: ABORT, CONTINUE, RETRY (3), RETRY-n, RETRY-regex or RETRY-n-regex."""

    action: FailureAction
    retries: int = 0
    pattern: str | None = None

    def retry_matches(self, output: str) -> bool:
        """Whether the failed attempt's output allows a retry (always without a pattern)."""
        return self.pattern is None or re.search(self.pattern, output) is not None


@dataclass(frozen=True, slots=True)
class Phase:
    """One phase: its commands, its `finally` block and its failure rule (None: default)."""

    name: PhaseName
    commands: tuple[str, ...] = ()
    finally_commands: tuple[str, ...] = ()
    on_failure: OnFailure | None = None
    run_as: str | None = None


@dataclass(frozen=True, slots=True)
class Env:
    """The `env` section; `variables` are literal values, never expanded by a shell."""

    shell: str = "bash"
    variables: tuple[tuple[str, str], ...] = ()
    secrets: tuple[tuple[str, str], ...] = ()
    """(variable name, secret reference) pairs; the caller resolves the references."""
    exported_variables: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ArtifactSpec:
    """`artifacts` or one of its `secondary-artifacts` (`identifier` None for the primary)."""

    files: tuple[str, ...]
    identifier: str | None = None
    name: str | None = None
    base_directory: str | None = None
    discard_paths: bool = False
    exclude_paths: tuple[str, ...] = ()
    enable_symlinks: bool = False


@dataclass(frozen=True, slots=True)
class CacheSpec:
    """`cache`: paths (globs, relative to the source directory) kept between builds."""

    paths: tuple[str, ...]
    key: str | None = None


@dataclass(frozen=True, slots=True)
class ReportGroup:
    """One `reports.<group>` entry."""

    name: str
    files: tuple[str, ...]
    base_directory: str | None = None
    discard_paths: bool = False
    file_format: str = "JUNITXML"


@dataclass(frozen=True, slots=True)
class Buildspec:
    """A whole buildspec; absent phases are simply not in `phases`."""

    version: str = "0.2"
    env: Env = field(default_factory=Env)
    phases: tuple[Phase, ...] = ()
    artifacts: ArtifactSpec | None = None
    secondary_artifacts: tuple[ArtifactSpec, ...] = ()
    cache: CacheSpec | None = None
    reports: tuple[ReportGroup, ...] = ()
    run_as: str | None = None

    def phase(self, name: PhaseName) -> Phase | None:
        """The phase called `name`, if the buildspec has it."""
        return next((p for p in self.phases if p.name == name), None)

    def secret_references(self) -> tuple[str, ...]:
        """The secret references the caller must resolve before the build."""
        return tuple(dict.fromkeys(ref for _, ref in self.env.secrets))
