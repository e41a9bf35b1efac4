"""Build and Test `CodeBuild`, and Deploy `Script`: a buildspec run by the buildspec runner.

The primary input (`PrimarySource`, else the first) is unpacked as the source directory;
other inputs go to `.inputs/<ArtifactName>` inside it. `EnvironmentVariables` of type
SECRETS_MANAGER or PARAMETER_STORE name a secret of the store: they join the buildspec's
own secrets, so their values are masked in the log like those.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from gitserver.db import ActionExecutionRow, JobRow
from gitserver.pipelines.actions.context import Job, RunnerServices
from gitserver.pipelines.buildspec import (
    BuildLimits,
    BuildRequest,
    Buildspec,
    BuildspecError,
    BuildStatus,
    SandboxUnavailable,
    SourceInfo,
    WebhookInfo,
    executor_for,
    extract_artifact,
    parse_buildspec,
    run_build,
)
from gitserver.pipelines.definitions import settings
from gitserver.pipelines.definitions.settings import VariableType
from gitserver.pipelines.jobs import Outcome
from gitserver.pipelines.secrets import resolve_secrets
from gitserver.pipelines.states import ActionStatus


class Refused(Exception):
    """The build cannot start; the message is the action's summary."""


async def run_codebuild(services: RunnerServices, job: Job) -> Outcome:
    """Run the CodeBuild action's buildspec on its inputs."""
    return await _guarded(services, job, _codebuild_spec)


async def run_script(services: RunnerServices, job: Job) -> Outcome:
    """Run the Script deploy; with RollbackOnFailure, re-run the last good revision."""
    outcome = await _guarded(services, job, _script_spec)
    rollback = settings.boolean(job.configuration.get("RollbackOnFailure") or "false")
    if outcome.status is not ActionStatus.FAILED or not rollback:
        return outcome
    previous = await _previous_deploy(services, job)
    if previous is None:
        job.log("Rollback: no earlier successful deploy of this action")
        return outcome
    execution_id, payload = previous
    job.log(f"Rollback: deploying the revision of execution {execution_id}")
    # That deploy as it ran: its revision's inputs and source, and its configuration as
    # resolved then (`#{SourceVariables.CommitId}` is the old commit's); this attempt's
    # identity and log. No outputs, and no rollback of the rollback.
    again = dataclasses.replace(
        job,
        payload={
            **job.payload,
            **{k: payload[k] for k in _REDEPLOYED if k in payload},
            "outputs": [],
        },
    )
    retried = await _guarded(services, again, _script_spec)
    verdict = "succeeded" if retried.status is ActionStatus.SUCCEEDED else "failed too"
    return dataclasses.replace(outcome, summary=f"{outcome.summary}; rollback {verdict}")


_REDEPLOYED = ("configuration", "inputs", "source", "variables", "trigger")
"""What a rollback takes from the job of the deploy it repeats."""


async def _previous_deploy(services: RunnerServices, job: Job) -> tuple[str, dict[str, Any]] | None:
    """The execution and job payload of this action's last successful deploy in an
    earlier execution."""
    p = job.payload
    async with services.db.reader() as session:
        found = (
            await session.execute(
                select(ActionExecutionRow.execution_id, JobRow.payload)
                .join(JobRow, JobRow.action_execution_id == ActionExecutionRow.id)
                .where(
                    ActionExecutionRow.pipeline == p["pipeline"],
                    ActionExecutionRow.stage == p["stage"],
                    ActionExecutionRow.action == p["action"],
                    ActionExecutionRow.status == ActionStatus.SUCCEEDED,
                    ActionExecutionRow.execution_id != job.execution_id,
                )
                .order_by(ActionExecutionRow.ended_at.desc())
                .limit(1)
            )
        ).first()
    if found is None:
        return None
    return str(found[0]), dict(found[1])


async def _guarded(services: RunnerServices, job: Job, spec_of: Any) -> Outcome:
    workspace = services.layout.workspace(job.id) / "src"
    try:
        await asyncio.to_thread(_unpack_inputs, services, job, workspace)
        spec = spec_of(job, workspace)
        return await _build(services, job, spec, workspace)
    except (Refused, BuildspecError) as exc:
        job.log(str(exc))
        return Outcome(ActionStatus.FAILED, str(exc))
    finally:
        await asyncio.to_thread(shutil.rmtree, workspace.parent, True)


def _unpack_inputs(services: RunnerServices, job: Job, workspace: Path) -> None:
    inputs: dict[str, str] = job.payload.get("inputs") or {}
    workspace.mkdir(parents=True, exist_ok=True)
    primary = job.configuration.get("PrimarySource") or next(iter(inputs), None)
    for name, stored in inputs.items():
        if not stored:
            raise Refused(f"Input artifact {name} was not produced")
        where = workspace if name == primary else workspace / ".inputs" / name
        extract_artifact(services.layout.absolute(stored).parent, name, where)


def _codebuild_spec(job: Job, workspace: Path) -> Buildspec:
    given = job.configuration.get("BuildSpec")
    if given:
        ref = settings.buildspec(given)
        if ref.inline:
            return parse_buildspec(ref.text)
        path = workspace / ref.text
    else:
        path = workspace / "buildspec.yml"
    if not path.resolve().is_relative_to(workspace.resolve()) or not path.is_file():
        raise Refused(f"The source has no buildspec at {path.relative_to(workspace)}")
    return parse_buildspec(path.read_text(errors="replace"))


def _script_spec(job: Job, workspace: Path) -> Buildspec:
    config = job.configuration
    if "Commands" in config:
        phases: dict[str, Any] = {
            "build": {"commands": list(settings.commands(config["Commands"]))}
        }
    else:
        ref = settings.buildspec(config.get("BuildSpec", ""))
        text = ref.text if ref.inline else (workspace / ref.text).read_text(errors="replace")
        # The hooks in AppSpec's order onto the four phases; any failure ends the deploy.
        phases = {
            phase: {"on-failure": "ABORT", "commands": list(commands)}
            for phase, (_, commands) in zip(
                ("install", "pre_build", "build", "post_build"),
                _all_hooks(settings.hooks(text)),
                strict=True,
            )
            if commands
        }
    return parse_buildspec(yaml.safe_dump({"version": 0.2, "phases": phases}))


def _all_hooks(found: tuple[tuple[str, tuple[str, ...]], ...]) -> list[tuple[str, tuple[str, ...]]]:
    given = dict(found)
    return [(name, given.get(name, ())) for name in settings.DEPLOY_HOOKS]


async def _build(services: RunnerServices, job: Job, spec: Buildspec, workspace: Path) -> Outcome:
    payload, config = job.payload, job.configuration
    environment: dict[str, str] = {}
    secret_vars = list(spec.env.secrets)
    for variable in settings.environment_variables(config.get("EnvironmentVariables", "[]")):
        if variable.type is VariableType.PLAINTEXT:
            environment[variable.name] = variable.value
        else:
            secret_vars.append((variable.name, variable.value))
    spec = dataclasses.replace(spec, env=dataclasses.replace(spec.env, secrets=tuple(secret_vars)))
    async with services.db.reader() as session:
        secrets = await resolve_secrets(session, services.box, (r for _, r in secret_vars))
    try:
        executor = executor_for(services.executor, network=config.get("Network", "none"))
    except SandboxUnavailable as exc:
        raise Refused(f"The build was refused: {exc}") from None
    limits = services.limits
    if config.get("TimeoutInMinutes"):
        limits = dataclasses.replace(limits, total_timeout=float(config["TimeoutInMinutes"]) * 60)
    source = job.source
    webhook = source.get("webhook") or {}
    outputs = list(payload.get("outputs") or [])
    request = BuildRequest(
        build_id=f"{payload['pipeline']}:{payload['actionExecutionId']}",
        workspace=workspace,
        log_path=services.layout.absolute(payload["logPath"]),
        artifacts_dir=services.layout.artifacts(job.execution_id),
        source=SourceInfo(
            resolved_version=str(source.get("commitId", "")),
            source_version=str(source.get("sourceVersion", "")),
            repo_url=str(source.get("cloneUrl", "")),
        ),
        build_number=int(payload.get("buildNumber") or 1),
        initiator=f"codepipeline/{payload['pipeline']}",
        webhook=_webhook(webhook) if webhook else None,
        primary_artifact=outputs[0] if outputs else f"_{payload['actionExecutionId']}",
        environment=environment,
        secrets=secrets,
        cache_dir=services.layout.cache(payload["pipeline"], payload["stage"], payload["action"]),
        limits=limits,
    )
    result = await run_build(spec, request, executor, stop=job.stop)
    artifacts = {
        a.identifier: services.layout.relative(a.path)
        for a in result.artifacts
        if a.identifier in outputs
    }
    if result.status is BuildStatus.SUCCEEDED:
        missing = [name for name in outputs if name not in artifacts]
        if missing:
            return Outcome(ActionStatus.FAILED, f"No artifact was built for {', '.join(missing)}")
        exported = ", ".join(sorted(result.exported_variables))
        summary = f"Build succeeded; exported {exported}"[:200] if exported else "Build succeeded"
        return Outcome(ActionStatus.SUCCEEDED, summary, dict(result.exported_variables), artifacts)
    return Outcome(ActionStatus.FAILED, f"Build {result.status}: {result.message}"[:1000])


def _webhook(values: dict[str, str]) -> WebhookInfo:
    return WebhookInfo(
        event=values.get("event", ""),
        head_ref=values.get("headRef", ""),
        base_ref=values.get("baseRef", ""),
        trigger=values.get("trigger", ""),
        actor_account_id=values.get("actorAccountId", ""),
        merge_commit=values.get("mergeCommit", ""),
        prev_commit=values.get("prevCommit", ""),
    )


__all__ = ["BuildLimits", "run_codebuild", "run_script"]
