"""Run a buildspec the way CodeBuild does, in one shell, inside an executor's sandbox.

Phase transitions (https://docs.aws.amazon.com/codebuild/latest/userguide/
view-build-details-phases.html): a failed INSTALL or PRE_BUILD ends the build (no later
phase, no artifacts); a failed BUILD still runs POST_BUILD, with
CODEBUILD_BUILD_SUCCEEDING=0; artifacts are uploaded after POST_BUILD whatever BUILD
did. A phase's `on-failure` changes that: ABORT ends the build, CONTINUE goes on to the
next phase, RETRY runs the phase again (in the same shell) before the default applies.
Within a phase the first failing command skips the phase's other commands, then
`finally` runs; the phase fails if either failed.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from gitserver.pipelines.buildspec.buildlog import BuildLog, Masker
from gitserver.pipelines.buildspec.environment import (
    build_environment,
    missing_secrets,
    secret_values,
)
from gitserver.pipelines.buildspec.phases import PhaseRunner
from gitserver.pipelines.buildspec.request import BuildRequest
from gitserver.pipelines.buildspec.result import (
    ArtifactResult,
    BuildResult,
    BuildStatus,
    PhaseResult,
    ReportResult,
)
from gitserver.pipelines.buildspec.sandbox import Executor, Launch
from gitserver.pipelines.buildspec.shellrun import BuildShell, Interrupted
from gitserver.pipelines.buildspec.spec import Buildspec, FailureAction, PhaseName
from gitserver.pipelines.buildspec.upload import Uploader

log = logging.getLogger(__name__)

SHELLS = {"bash": ("bash", "--noprofile", "--norc", "/dev/stdin"), "sh": ("sh", "/dev/stdin")}


async def run_build(
    spec: Buildspec,
    request: BuildRequest,
    executor: Executor,
    *,
    stop: asyncio.Event | None = None,
) -> BuildResult:
    """Run `spec` for `request` in `executor`; the log is written as the build runs.

    Setting `stop` ends the build within a second (STOPPED); cancelling the task kills
    the build the same way, then the cancellation propagates.
    """
    started = datetime.now(UTC)
    masker = Masker(secret_values(spec, request).values())
    build_log = BuildLog(request.log_path, masker, request.limits.output_cap)
    scratch = Path(tempfile.mkdtemp(prefix="gitserver-build-"))
    phases: list[PhaseResult] = []
    shell: BuildShell | None = None
    launch: Launch | None = None
    try:
        missing = missing_secrets(spec, request)
        if missing:
            build_log.container(f"Secrets not provided: {', '.join(missing)}")
            phases.append(_instant("PROVISIONING", BuildStatus.FAILED, "secrets not provided"))
            return _result(BuildStatus.FAILED, phases, started, build_log, "secrets not provided")
        launch = executor.launch(SHELLS[spec.env.shell], request.workspace, scratch, request.limits)
        env = build_environment(spec, request, launch, started)
        loop = asyncio.get_running_loop()
        shell = BuildShell(
            launch,
            env,
            build_log.output,
            build_log.container,
            deadline=loop.time() + request.limits.total_timeout,
            stop=stop,
        )
        build_log.container(
            f"Running build {request.build_id} with the {executor.kind} executor "
            f"(source {request.source.resolved_version})"
        )
        if spec.run_as or any(p.run_as for p in spec.phases):
            build_log.container("run-as is ignored: every command runs as the build user")
        if not request.workspace.is_dir():
            build_log.container("The workspace does not exist")
            return _result(BuildStatus.FAULT, phases, started, build_log, "no workspace")
        try:
            await shell.start()
            ready = await shell.ready()
        except OSError as error:
            build_log.container(f"The build shell could not start: {error.strerror}")
            ready = False
        if not ready:
            log.warning("build shell did not start", extra={"build_id": request.build_id})
            phases.append(_instant("PROVISIONING", BuildStatus.FAULT, "the shell did not start"))
            return _result(BuildStatus.FAULT, phases, started, build_log, "shell did not start")
        status, exported, artifacts, reports = await _run(spec, request, shell, build_log, phases)
        message = "" if status is BuildStatus.SUCCEEDED else _message(phases, status)
        build_log.container(f"Build {request.build_id} finished: {status}")
        return _result(status, phases, started, build_log, message, exported, artifacts, reports)
    finally:
        if shell is not None:
            shell.kill()
            await asyncio.shield(shell.close())
        build_log.close()
        if launch is not None:
            await asyncio.shield(asyncio.to_thread(launch.release))
        shutil.rmtree(scratch, ignore_errors=True)


async def _run(
    spec: Buildspec,
    request: BuildRequest,
    shell: BuildShell,
    build_log: BuildLog,
    phases: list[PhaseResult],
) -> tuple[BuildStatus, dict[str, str], tuple[ArtifactResult, ...], tuple[ReportResult, ...]]:
    runner = PhaseRunner(shell, build_log, request.limits.phase_timeout, phases)
    uploader = Uploader(spec, request, shell, build_log, phases)
    status = BuildStatus.SUCCEEDED
    upload = True
    exported: dict[str, str] = {}
    try:
        await uploader.restore_cache()
        for name in PhaseName:
            phase = runner.phase_of(spec, name)
            if await runner.run(phase):
                continue
            status = BuildStatus.FAILED
            await runner.mark_failing()
            action = phase.on_failure.action if phase.on_failure else None
            if action is FailureAction.CONTINUE:
                continue
            if action is FailureAction.ABORT or name in (PhaseName.INSTALL, PhaseName.PRE_BUILD):
                upload = False
                break
        exported = await uploader.exported_variables()
        if upload and not await uploader.upload_artifacts():
            status = BuildStatus.FAILED
        await uploader.save_cache()
    except Interrupted as interrupted:
        build_log.container(f"Build interrupted: {interrupted.reason}")
        return interrupted.status, exported, uploader.artifacts, ()
    reports = uploader.read_reports() if upload else ()
    return status, exported, uploader.artifacts, reports


def _instant(name: str, status: BuildStatus, message: str) -> PhaseResult:
    return PhaseResult(name, status, datetime.now(UTC), 0.0, 1, message)


def _message(phases: list[PhaseResult], status: BuildStatus) -> str:
    failed = [p for p in phases if p.status is not BuildStatus.SUCCEEDED]
    if not failed:
        return str(status)
    return f"{failed[0].name}: {failed[0].message or failed[0].status}"


def _result(
    status: BuildStatus,
    phases: list[PhaseResult],
    started: datetime,
    build_log: BuildLog,
    message: str,
    exported: dict[str, str] | None = None,
    artifacts: tuple[ArtifactResult, ...] = (),
    reports: tuple[ReportResult, ...] = (),
) -> BuildResult:
    return BuildResult(
        status,
        tuple(phases),
        started,
        datetime.now(UTC),
        dict(exported or {}),
        artifacts,
        reports,
        build_log.truncated,
        message,
    )
