"""Errors of the buildspec runner and its sandbox.

BuildspecError                  base of the runner's domain errors (never raised itself)
├── InvalidBuildspec            the buildspec breaks a rule; names the YAML path and line
│                               (gitserver.errors.InvalidInput)
├── ArtifactNotFound            no artifact by that name for an action's input
│                               (gitserver.errors.NotFound)
└── ArtifactTooLarge            an input artifact unpacks past its size limit
                                (gitserver.errors.LimitExceeded)

SandboxUnavailable              an operator error, not a domain error: the configured
                                executor cannot run here (bwrap missing and `shell` not
                                chosen); logged, and the build is a FAULT.
"""

from __future__ import annotations

from gitserver.errors import DomainError, InvalidInput, LimitExceeded, NotFound


class BuildspecError(DomainError):
    """Base class of buildspec errors (raise a subclass)."""


class InvalidBuildspec(BuildspecError, InvalidInput):
    """The buildspec breaks a rule: `path` is its YAML path, `line` 1-based (0: unknown)."""

    def __init__(self, reason: str, *, path: str = "", line: int = 0) -> None:
        where = path or "buildspec"
        if line:
            where = f"{where} (line {line})"
        super().__init__(f"{where}: {reason}")
        self.reason = reason
        self.path = path
        self.line = line


class ArtifactNotFound(BuildspecError, NotFound):
    """No stored artifact by that name."""


class SandboxUnavailable(Exception):
    """The chosen executor cannot run on this host; the message says what to install or set."""


class ArtifactTooLarge(BuildspecError, LimitExceeded):
    """An artifact's content is larger than the limit for unpacking it."""
