"""`gitserver webhook …` and `gitserver worker`."""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from sqlalchemy import select

from gitserver.cli.commands import CLI_ACTOR, open_services
from gitserver.cli.output import Output, Result, table
from gitserver.config import Settings, add_arguments
from gitserver.db import PipelineRow, Repository
from gitserver.pipelines.errors import PipelineNotFound
from gitserver.store.repositories import get_repository
from triggers import notifications, webhooks
from triggers import subscriptions as subs
from triggers.errors import HostNotAllowed, TargetRefused
from triggers.ssrf import Allowed, check_target

DELIVERY_SETTINGS = (
    "webhook_allowed_hosts",
    "webhook_retry_schedule",
    "webhook_retry_window",
    "webhook_lease",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "smtp_password",
    "smtp_from",
)


PIPELINE_SETTINGS = (
    "pipeline_runners",
    "build_executor",
    "pipeline_lease",
    "pipeline_approval_timeout",
    "pipeline_build_timeout",
    "pipeline_interval",
)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


async def _advice(settings: Settings, url: str, hook_id: str, delivery_id: str) -> str:
    """Why a ping just queued will fail, and how to recover; "" when nothing is known.

    This command cannot see the server's flags, only `webhook_allowed_hosts` from the
    environment or gitserver.toml, so it says what the server does unless it allows more.
    """
    try:
        await check_target(url, Allowed.parse(settings.webhook_allowed_hosts))
    except HostNotAllowed as exc:
        return (
            f"warning: the server refuses to send here unless its webhook_allowed_hosts "
            f"allows it: {exc.reason}.\n"
            "  To allow it, set webhook_allowed_hosts (gitserver serve --webhook-allowed-hosts "
            "HOST_OR_CIDR, GITSERVER_WEBHOOK_ALLOWED_HOSTS or gitserver.toml) and restart the "
            "server.\n"
            f"  Then send it again: gitserver webhook redeliver {delivery_id}"
            f"  (or a new one: gitserver webhook test {hook_id})"
        )
    except TargetRefused as exc:
        return f"warning: this delivery will fail: {exc}"
    return ""


def _with_advice(data: dict[str, Any], text: str, advice: str) -> Result:
    if advice:
        data["warning"] = advice
        text = f"{text}\n{advice}"
    return Result(data, text)


async def webhook_create(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    from gitserver.delivery import payload_context  # aiohttp is only needed here

    async with open_services(settings) as s, s.db.session() as session:
        repo: Repository | None = None
        if args.repo:
            repo = await get_repository(session, args.repo)
        spec = subs.WebhookSpec(
            url=args.url,
            repository_id=repo.id if repo else None,
            secret=args.secret or "",
            events=_split(args.events) or ("push",),
            branches=_split(args.branches),
            format=args.format,
            timeout=args.timeout,
        )
        hook = await subs.create_webhook(session, s.box, spec)
        ping = webhooks.queue_ping(session, hook, payload_context(s, repo))
        data = subs.describe(hook, repo.name if repo else None) | {"pingDeliveryId": ping.id}
    hook_id, ping_id = data["webhookId"], data["pingDeliveryId"]
    advice = await _advice(settings, args.url, hook_id, ping_id)
    return _with_advice(data, f"created webhook {hook_id} (ping: delivery {ping_id})", advice)


async def webhook_list(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s, s.db.reader() as session:
        repo = await get_repository(session, args.repo) if args.repo else None
        hooks = await subs.list_subscriptions(session, "webhook", repo.id if repo else None)
        names = {r.id: r.name for r in await session.scalars(select(Repository))}
        items = [subs.describe(h, names.get(h.repository_id or "")) for h in hooks]
    rows = [[i["webhookId"], i["repository"] or "*", i["format"], i["url"]] for i in items]
    return Result({"webhooks": items}, table(rows, ["ID", "REPOSITORY", "FORMAT", "URL"]))


async def webhook_delete(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s, s.db.session() as session:
        hook = await subs.get_subscription(session, args.id, "webhook")
        await session.delete(hook)
    return Result({"webhookId": args.id, "deleted": True}, f"deleted webhook {args.id}")


async def webhook_deliveries(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s, s.db.reader() as session:
        await subs.get_subscription(session, args.id, "webhook")
        log = await webhooks.delivery_log(session, args.id, args.limit)
    rows = [
        [
            d["deliveryId"],
            d["event"],
            d["state"],
            str(len(d["attempts"])),
            "-" if d["lastStatus"] is None else str(d["lastStatus"]),
            d["lastError"] or "",
        ]
        for d in log
    ]
    headers = ["DELIVERY", "EVENT", "STATE", "ATTEMPTS", "STATUS", "ERROR"]
    return Result({"deliveries": log}, table(rows, headers))


async def webhook_redeliver(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s, s.db.session() as session:
        row = await webhooks.redeliver_one(session, args.delivery_id)
        data = {"deliveryId": row.id, "state": row.state}
    return Result(data, f"queued {row.id} again")


async def webhook_test(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    from gitserver.delivery import payload_context

    async with open_services(settings) as s, s.db.session() as session:
        hook = await subs.get_subscription(session, args.id, "webhook")
        repo = await session.get(Repository, hook.repository_id) if hook.repository_id else None
        delivery = await webhooks.queue_test(session, hook, payload_context(s, repo))
        data = {"deliveryId": delivery.id, "event": delivery.event_type}
        url = hook.url
    advice = await _advice(settings, url, args.id, data["deliveryId"])
    return _with_advice(data, f"queued test delivery {data['deliveryId']}", advice)


async def worker(settings: Settings, args: argparse.Namespace, out: Output) -> None:
    """Deliver events and schedule pipelines; with --runner, only run pipeline jobs."""
    from gitserver.delivery import (
        build_dispatcher,
        build_pipeline_runner,
        build_pipeline_scheduler,
    )
    from triggers.metrics import DeliveryMetrics

    async with open_services(settings) as s:
        # Signals first: a SIGTERM right after the banner must stop the worker cleanly.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        parts: list[Any] = []
        if args.runner:
            parts.append(build_pipeline_runner(s, max(1, args.jobs or settings.pipeline_runners)))
        else:
            parts.append(build_dispatcher(s, DeliveryMetrics()))
            parts.append(build_pipeline_scheduler(s))
        for part in parts:
            await part.start()
        doing = "running pipeline jobs" if args.runner else "delivering events"
        out.say(f"gitserver: worker {doing}")
        try:
            await stop.wait()
        except BaseException:
            for part in reversed(parts):
                await part.close()
            raise
        # SIGTERM: the deliveries and jobs under way finish within shutdown_timeout.
        for part in reversed(parts):
            drain = getattr(part, "drain", None)
            await (drain(settings.shutdown_timeout) if drain is not None else part.close())


async def rule_create(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s, s.db.session() as session:
        repository_id = None
        if args.pipeline is not None:
            if await session.get(PipelineRow, args.pipeline) is None:
                raise PipelineNotFound(f"Pipeline {args.pipeline} does not exist")
        else:
            repository_id = (await get_repository(session, args.repo)).id
        rule_id = await notifications.create_rule(
            session,
            name=args.name,
            repository_id=repository_id,
            event_type_ids=_split(args.events),
            detail=args.detail,
            emails=args.email or [],
            chat_urls=args.chat_url or [],
            pipeline=args.pipeline,
        )
    return Result({"ruleId": rule_id, "name": args.name}, f"created notification rule {rule_id}")


async def rule_list(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s, s.db.reader() as session:
        rules = await notifications.list_rules(session)
        names = {r.id: r.name for r in await session.scalars(select(Repository))}
    for rule in rules:
        rule["repository"] = names.get(rule.pop("repositoryId") or "")
    rows = [
        [
            r["ruleId"],
            r["name"],
            r["repository"] or f"pipeline {r['pipeline']}",
            str(len(r["targets"])),
        ]
        for r in rules
    ]
    return Result({"rules": rules}, table(rows, ["ID", "NAME", "RESOURCE", "TARGETS"]))


async def rule_delete(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s, s.db.session() as session:
        await notifications.delete_rule(session, args.id)
    return Result({"ruleId": args.id, "deleted": True}, f"deleted notification rule {args.id}")


def add_commands(groups: Any, leaf: Any) -> None:
    """Register `webhook …` and `worker` on the CLI's parser."""
    hook = groups.add_parser("webhook", help="webhooks").add_subparsers(required=True)
    c = leaf(hook, "create", webhook_create, "create a webhook (and send it a ping)")
    c.add_argument("--repo", help="the repository; every repository when omitted")
    c.add_argument("--url", required=True)
    c.add_argument("--secret", help="HMAC key for the signature headers")
    c.add_argument("--events", help="comma-separated event types, push, pull_request or *")
    c.add_argument("--branches", help="comma-separated ref globs, e.g. main,release/*")
    c.add_argument("--format", choices=subs.FORMATS, default="native")
    c.add_argument("--timeout", type=float, default=subs.DEFAULT_TIMEOUT, help="seconds")
    leaf(hook, "list", webhook_list, "list webhooks").add_argument("--repo")
    leaf(hook, "delete", webhook_delete, "delete a webhook").add_argument("id")
    c = leaf(hook, "deliveries", webhook_deliveries, "a webhook's deliveries and attempts")
    c.add_argument("id")
    c.add_argument("--limit", type=int, default=50)
    c = leaf(hook, "redeliver", webhook_redeliver, "send a delivery again (same delivery id)")
    c.add_argument("delivery_id")
    leaf(hook, "test", webhook_test, "send the latest event of its types again").add_argument("id")
    rule = groups.add_parser("notification-rule", help="notification rules").add_subparsers(
        required=True
    )
    c = leaf(
        rule, "create", rule_create, "notify by email or chat on repository or pipeline events"
    )
    resource = c.add_mutually_exclusive_group(required=True)
    resource.add_argument("--repo", help="the repository the rule watches")
    resource.add_argument("--pipeline", help="the pipeline the rule watches")
    c.add_argument("--name", required=True)
    c.add_argument(
        "--events",
        required=True,
        help="comma-separated event type ids, e.g. codecommit-repository-branches-and-tags-created"
        " or codepipeline-pipeline-manual-approval-needed",
    )
    c.add_argument("--detail", choices=notifications.DETAILS, default="BASIC")
    c.add_argument("--email", action="append", help="an email target (repeatable)")
    c.add_argument("--chat-url", action="append", help="a Slack-compatible webhook URL")
    leaf(rule, "list", rule_list, "list notification rules")
    leaf(rule, "delete", rule_delete, "delete a notification rule").add_argument("id")
    w = leaf(groups, "worker", worker, "deliver events, or run pipeline jobs (scale-out)")
    add_arguments(w, (*DELIVERY_SETTINGS, *PIPELINE_SETTINGS, "shutdown_timeout"))
    w.add_argument("--runner", action="store_true", help="only run pipeline jobs")
    w.add_argument("--jobs", type=int, default=0, help="pipeline jobs at once (--runner)")


__all__ = ["CLI_ACTOR", "add_commands"]
