"""The runner's handle on the build shell: deadlines, stop requests and shell restarts.

Every command (the build's and the runner's own) goes through `BuildShell.run`, which
races it against the phase and build deadlines and the stop event; when one of those
wins, the whole process tree is killed at once and `Interrupted` says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Mapping
from pathlib import Path

from gitserver.pipelines.buildspec.result import BuildStatus
from gitserver.pipelines.buildspec.sandbox import Launch
from gitserver.pipelines.buildspec.session import ShellExited, ShellSession


class Interrupted(Exception):
    """A deadline passed (TIMED_OUT) or a stop was asked for (STOPPED)."""

    def __init__(self, status: BuildStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class BuildShell:
    """The build's shell, restarted (state lost) if a command ends it."""

    def __init__(
        self,
        launch: Launch,
        env: Mapping[str, str],
        on_line: Callable[[bytes], None],
        note: Callable[[str], None],
        *,
        deadline: float,
        stop: asyncio.Event | None,
    ) -> None:
        self._launch = launch
        self.env = dict(env)
        self._on_line = on_line
        self._note = note
        self._session: ShellSession | None = None
        self.build_deadline = deadline
        self.phase_deadline = math.inf
        self._stop = stop

    async def start(self) -> None:
        """Start (or restart) the shell process."""
        session = ShellSession(self._on_line)
        self._session = session
        await session.start(self._launch.argv, self.env, Path(self._launch.cwd))

    async def ready(self) -> bool:
        """Whether the shell started and answers (a sandbox that cannot start exits)."""
        if self._session is None:
            return False
        try:
            status, _ = await asyncio.wait_for(self._session.run(":", capture=True), 30)
        except (ShellExited, TimeoutError):
            return False
        return status == 0

    async def run(self, command: str, *, capture: bool = False) -> tuple[int, bytes]:
        """Run `command`; (status, captured output).

        Raises:
            Interrupted: a deadline passed or the build was stopped (all is killed).
        """
        if self._session is None or self._session.returncode is not None:
            if self._session is not None:
                self._note("The build shell had ended: later commands run in a new shell")
                await self._session.close()
            await self.start()
        assert self._session is not None
        session = self._session
        task = asyncio.create_task(session.run(command, capture=capture))
        waiters: set[asyncio.Future[object]] = {task}  # type: ignore[arg-type]
        stop_task = None
        if self._stop is not None:
            stop_task = asyncio.create_task(self._stop.wait())
            waiters.add(stop_task)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        deadline = min(self.build_deadline, self.phase_deadline)
        try:
            done, _ = await asyncio.wait(
                waiters, timeout=max(0.0, deadline - loop.time()), return_when="FIRST_COMPLETED"
            )
        except BaseException:
            session.kill()
            raise
        finally:
            if stop_task is not None:
                stop_task.cancel()
        if task in done:
            try:
                return task.result()
            except ShellExited as exited:
                return exited.status, b""
        session.kill()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ShellExited):
            await task
        if stop_task is not None and stop_task in done:
            raise Interrupted(BuildStatus.STOPPED, "the build was stopped")
        if self.phase_deadline < self.build_deadline:
            raise Interrupted(BuildStatus.TIMED_OUT, "the phase timed out")
        raise Interrupted(BuildStatus.TIMED_OUT, "the build timed out")

    def kill(self) -> None:
        """Kill the shell and everything it started."""
        if self._session is not None:
            self._session.kill()

    async def close(self) -> None:
        """Kill what is left and wait for the process."""
        if self._session is not None:
            await self._session.close()
