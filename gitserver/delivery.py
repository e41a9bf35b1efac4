"""Assembly of event delivery: the dispatcher and payload contexts, from the services.

Used by `gitserver serve` (when `workers` is on), `gitserver worker` and the webhook
commands of the CLI (ping, test). Also the pipelines' background parts: the runner and
the scheduler (triggering and housekeeping).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from gitserver.db import Repository
from gitserver.gitcmd import GitError, user_value
from gitserver.pipelines.scheduler import Scheduler
from gitserver.services import Services
from gitserver.store.commits import CommitLog
from gitserver.store.repositories import RepositoryStore
from triggers.dispatcher import DEFAULT_SCHEDULE, Dispatcher, DispatchSettings, Send
from triggers.formats import PayloadContext, RepositoryInfo
from triggers.metrics import DeliveryMetrics
from triggers.notifications import EmailSender, SmtpSettings
from triggers.outcome import Outcome
from triggers.rendering import Prepared
from triggers.sender import Sender
from triggers.ssrf import Allowed

if TYPE_CHECKING:
    from gitserver.pipelines.runner import Runner


def repository_info(store: RepositoryStore, repo: Repository) -> RepositoryInfo:
    endpoints = store.endpoints
    return RepositoryInfo(
        id=repo.id,
        name=repo.name,
        description=repo.description,
        default_branch=repo.default_branch,
        created_at=repo.created_at,
        updated_at=repo.updated_at,
        pushed_at=repo.pushed_at,
        clone_url_http=endpoints.clone_url_http(repo.name),
        clone_url_ssh=endpoints.clone_url_ssh(repo.name),
        arn=endpoints.arn(repo.name),
    )


def payload_context(services: Services, repo: Repository | None) -> PayloadContext:
    endpoints = services.store.endpoints
    return PayloadContext(
        base_url=endpoints.http_base,
        region=endpoints.region,
        account_id=endpoints.account_id,
        repository=repository_info(services.store, repo) if repo else None,
        commits=CommitLog(services.git, services.store),
    )


def trigger_targets(values: tuple[str, ...]) -> dict[str, str]:
    """`trigger_targets`: `ARN=URL` pairs naming where SNS/Lambda trigger targets live here."""
    targets = {}
    for value in values:
        arn, sep, url = value.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise ValueError(f"trigger_targets: {value!r} is not ARN=http(s)://URL")
        targets[arn.strip()] = url.strip()
    return targets


def retry_schedule(values: tuple[str, ...]) -> tuple[float, ...]:
    schedule = tuple(float(v) for v in values) if values else DEFAULT_SCHEDULE
    if not schedule or any(v <= 0 for v in schedule):
        raise ValueError("webhook_retry_schedule needs positive numbers of seconds")
    return schedule


def build_dispatcher(services: Services, metrics: DeliveryMetrics) -> Dispatcher:
    settings = services.settings
    endpoints = services.store.endpoints
    return Dispatcher(
        services.db,
        services.box,
        DispatchSettings(
            base_url=endpoints.http_base,
            region=endpoints.region,
            account_id=endpoints.account_id,
            retry_schedule=retry_schedule(settings.webhook_retry_schedule),
            retry_window=settings.webhook_retry_window,
            lease=settings.webhook_lease,
        ),
        repository_info=lambda repo: repository_info(services.store, repo),
        commits=CommitLog(services.git, services.store),
        sender=Sender(Allowed.parse(settings.webhook_allowed_hosts)),
        metrics=metrics,
        extra_senders={"email": _email_sender(services)},
    )


def _email_sender(services: Services) -> Send:
    settings = services.settings
    smtp = EmailSender(
        SmtpSettings(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            sender=settings.smtp_from,
        )
    )

    async def send(prepared: Prepared) -> Outcome:
        body = json.loads(prepared.body or b"{}")
        return await smtp(prepared.url.removeprefix("mailto:"), body)

    return send


def build_pipeline_runner(services: Services, concurrency: int) -> Runner:
    """A runner of `concurrency` jobs at once, with the services' settings."""
    # Build actions and the sandbox: only runners need them, and a delivery worker
    # starts (and sends its first delivery) sooner without.
    from gitserver.pipelines.actions import RunnerServices
    from gitserver.pipelines.buildspec import BuildLimits
    from gitserver.pipelines.runner import Runner, RunnerSettings

    settings = services.settings
    engine = services.pipelines.engine
    return Runner(
        RunnerServices(
            db=services.db,
            git=services.git,
            box=services.box,
            layout=engine.layout,
            repository_path=services.store.path,
            sender=Sender(Allowed.parse(settings.webhook_allowed_hosts)),
            executor=settings.build_executor,
            limits=BuildLimits(total_timeout=settings.pipeline_build_timeout),
        ),
        engine,
        RunnerSettings(
            concurrency=concurrency,
            lease=settings.pipeline_lease,
            heartbeat=max(0.2, min(2.0, settings.pipeline_lease / 4)),
            poll=settings.pipeline_interval,
        ),
    )


def build_pipeline_scheduler(services: Services) -> Scheduler:
    """The trigger consumer and housekeeping of pipelines."""
    store, git = services.store, services.git

    async def changed_paths(repository_id: str, old: str, new: str) -> list[str]:
        repo = store.path(repository_id)
        if not new or set(old) <= {"0"}:
            args = ["diff-tree", "--no-commit-id", "--name-only", "-r", "--root", user_value(new)]
        else:
            args = ["diff", "--name-only", user_value(old), user_value(new), "--"]
        try:
            result = await git.run(*args, repo=repo)
        except GitError:
            return []
        return [line for line in result.stdout.decode("utf-8", "replace").splitlines() if line]

    return Scheduler(
        services.db,
        services.pipelines.engine,
        changed_paths,
        lambda name: store.endpoints.clone_url_http(name),
        interval=services.settings.pipeline_interval,
    )
