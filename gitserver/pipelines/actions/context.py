"""What an action provider runs with: the job, its places, and the runner's services."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auth.secretbox import SecretBox
from gitserver.db import Database
from gitserver.gitcmd import Git
from gitserver.pipelines.buildspec import BuildLimits
from gitserver.pipelines.paths import Layout
from triggers.sender import Sender


@dataclass(frozen=True, slots=True)
class RunnerServices:
    """The runner's dependencies, shared by every job it runs."""

    db: Database
    git: Git
    box: SecretBox
    layout: Layout
    repository_path: Callable[[str], Path]
    sender: Sender
    executor: str = "bwrap"
    limits: BuildLimits = field(default_factory=BuildLimits)


@dataclass(frozen=True, slots=True)
class Job:
    """One job as a provider sees it: the payload, its log, its stop signal."""

    id: str
    payload: dict[str, Any]
    log: Callable[[str], None]
    stop: asyncio.Event

    @property
    def configuration(self) -> dict[str, str]:
        """The action's configuration, variables resolved."""
        return dict(self.payload.get("configuration") or {})

    @property
    def execution_id(self) -> str:
        """The execution's id."""
        return str(self.payload["executionId"])

    @property
    def source(self) -> dict[str, Any]:
        """The execution's source for this action (the first source's, for non-sources)."""
        return dict(self.payload.get("source") or {})


Provider = Callable[[RunnerServices, Job], Awaitable[Any]]
