"""One phase of a build: its commands, its `finally` block, its retries and its timeout."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime

from gitserver.pipelines.buildspec.buildlog import BuildLog
from gitserver.pipelines.buildspec.result import BuildStatus, PhaseResult
from gitserver.pipelines.buildspec.shellrun import BuildShell, Interrupted
from gitserver.pipelines.buildspec.spec import Buildspec, FailureAction, Phase, PhaseName


class PhaseRunner:
    """Runs phases in the build's shell and records a `PhaseResult` for each."""

    def __init__(
        self,
        shell: BuildShell,
        build_log: BuildLog,
        phase_timeout: float | None,
        results: list[PhaseResult],
    ) -> None:
        self._shell = shell
        self._log = build_log
        self._timeout = phase_timeout
        self._results = results
        self._failing = False

    @staticmethod
    def phase_of(spec: Buildspec, name: PhaseName) -> Phase:
        """The buildspec's phase `name`, or an empty one (it succeeds at once)."""
        return spec.phase(name) or Phase(name)

    async def run(self, phase: Phase) -> bool:
        """Run `phase` (with its retries); whether it succeeded.

        Raises:
            Interrupted: a timeout or a stop (the phase is recorded as such first).
        """
        label = phase.name.label
        started, clock = datetime.now(UTC), time.monotonic()
        attempts, reason = 0, ""
        rule = phase.on_failure
        try:
            while True:
                attempts += 1
                self._arm_timeout()
                self._log.container(f"Entering phase {label}")
                mark = self._log.lines
                reason = await self._attempt(phase)
                if not reason:
                    break
                if (
                    rule is None
                    or rule.action is not FailureAction.RETRY
                    or attempts > rule.retries
                    or not rule.retry_matches(self._log.since(mark))
                ):
                    break
                self._log.container(
                    f"Phase {label} failed; retrying ({attempts} of {rule.retries} retries)"
                )
        except Interrupted as interrupted:
            self._record(label, interrupted.status, started, clock, attempts, interrupted.reason)
            raise
        finally:
            self._shell.phase_deadline = math.inf
        status = BuildStatus.FAILED if reason else BuildStatus.SUCCEEDED
        self._record(label, status, started, clock, attempts, reason)
        return not reason

    def _arm_timeout(self) -> None:
        if self._timeout is not None:
            self._shell.phase_deadline = asyncio.get_running_loop().time() + self._timeout

    async def _attempt(self, phase: Phase) -> str:
        reason = await self._commands(phase.commands)
        finally_reason = await self._commands(phase.finally_commands)
        return reason or finally_reason

    async def _commands(self, commands: tuple[str, ...]) -> str:
        for command in commands:
            self._log.container(f"Running command {command.rstrip()}")
            status, _ = await self._shell.run(command)
            if status != 0:
                reason = (
                    f"Error while executing command: {command.rstrip()}. "
                    f"Reason: exit status {status}"
                )
                self._log.container(f"Command did not exit successfully {reason}")
                return reason
        return ""

    async def mark_failing(self) -> None:
        """Set CODEBUILD_BUILD_SUCCEEDING=0 for the rest of the build (in a new shell too)."""
        if self._failing:
            return
        self._failing = True
        self._shell.env["CODEBUILD_BUILD_SUCCEEDING"] = "0"
        await self._shell.run("export CODEBUILD_BUILD_SUCCEEDING=0", capture=True)

    def _record(
        self,
        label: str,
        status: BuildStatus,
        started: datetime,
        clock: float,
        attempts: int,
        reason: str,
    ) -> None:
        duration = time.monotonic() - clock
        self._results.append(PhaseResult(label, status, started, duration, attempts, reason))
        self._log.container(f"Phase complete: {label} State: {status}")
        if reason:
            self._log.container(f"Phase context status code: {reason}")
