"""`gitserver pipeline …` and `gitserver secret …`: pipelines as the local operator."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from gitserver.cli.commands import CLI_ACTOR, open_services
from gitserver.cli.output import CommandError, Output, Result, table
from gitserver.config import Settings
from gitserver.pipelines.service import parse_file, pipeline_arn, read_log
from gitserver.pipelines.store import StoredPipeline


def _read(path: str) -> tuple[str, str]:
    if path == "-":
        return sys.stdin.read(), "pipeline.json"
    try:
        return Path(path).read_text(), path
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None


def _described(settings: Settings, stored: StoredPipeline) -> dict[str, Any]:
    return {
        "pipeline": stored.wire(),
        "metadata": {
            "pipelineArn": pipeline_arn(settings.region, settings.account_id, stored.name),
            "created": stored.created.isoformat(),
            "updated": stored.updated.isoformat(),
        },
    }


async def create(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    definition = parse_file(*_read(args.file))
    async with open_services(settings) as s:
        stored = await s.pipelines.create(definition)
    return Result(_described(settings, stored), f"created pipeline {stored.name} (version 1)")


async def update(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    definition = parse_file(*_read(args.file))
    async with open_services(settings) as s:
        stored = await s.pipelines.update(definition)
    text = f"updated pipeline {stored.name} (version {stored.version})"
    return Result(_described(settings, stored), text)


async def get(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s:
        stored = await s.pipelines.get(args.name)
    data = _described(settings, stored)
    return Result(data, f"{stored.name} version {stored.version}")


async def list_(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s:
        found = await s.pipelines.list_pipelines()
    items: list[dict[str, Any]] = [
        {
            "name": p.name,
            "version": p.version,
            "pipelineType": p.pipeline_type,
            "executionMode": p.execution_mode,
            "created": p.created.isoformat(),
            "updated": p.updated.isoformat(),
        }
        for p in found
    ]
    rows = [[i["name"], str(i["version"]), i["executionMode"]] for i in items]
    return Result({"pipelines": items}, table(rows, ["NAME", "VERSION", "MODE"]))


async def delete(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s:
        deleted = await s.pipelines.delete(args.name)
    return Result({"name": args.name, "deleted": deleted}, f"deleted pipeline {args.name}")


async def start(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    variables = {}
    for pair in args.variable or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise CommandError(f"--variable {pair!r}: expected NAME=VALUE")
        variables[key] = value
    async with open_services(settings) as s:
        execution_id = await s.pipelines.start_execution(args.name, variables=variables)
    return Result({"pipelineExecutionId": execution_id}, execution_id)


async def executions(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s:
        found = await s.pipelines.list_executions(args.name, args.limit)
    items = [
        {
            "pipelineExecutionId": e["pipelineExecutionId"],
            "status": e["status"],
            "sourceRevision": e["sourceRevision"],
            "stages": e["stages"],
        }
        for e in found
    ]
    rows = [
        [
            i["pipelineExecutionId"],
            i["status"],
            i["sourceRevision"][:12],
            " ".join(f"{st['name']}:{st['status']}" for st in i["stages"]),
        ]
        for i in items
    ]
    return Result({"executions": items}, table(rows, ["EXECUTION", "STATUS", "SOURCE", "STAGES"]))


async def approve(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s:
        action = await s.pipelines.decide_approval(
            args.execution_id,
            args.stage,
            args.action,
            approved=not args.reject,
            summary=args.comment or "",
            actor=CLI_ACTOR,
        )
    status = "Rejected" if args.reject else "Approved"
    data = {
        "pipelineExecutionId": args.execution_id,
        "stageName": args.stage,
        "actionName": action,
        "status": status,
    }
    return Result(data, f"{status.lower()} {args.stage}.{action}")


async def retry(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    mode = "ALL_ACTIONS" if args.all else "FAILED_ACTIONS"
    async with open_services(settings) as s:
        await s.pipelines.retry_stage(args.execution_id, args.stage, mode)
    return Result({"pipelineExecutionId": args.execution_id}, f"retrying {args.stage} ({mode})")


async def stop(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s:
        await s.pipelines.stop(
            args.execution_id, abandon=args.abandon, reason=args.reason or "", actor=CLI_ACTOR
        )
    return Result({"pipelineExecutionId": args.execution_id}, f"stopping {args.execution_id}")


async def logs(settings: Settings, args: argparse.Namespace, out: Output) -> None:
    """The action's log as text on stdout (also under --json), in order; --follow waits
    for the action to end."""
    async with open_services(settings) as s:
        offset = 0
        while True:
            path, ended = await s.pipelines.action_log(args.execution_id, args.action)
            data, offset = await read_log(path, offset)
            if data:
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
            if ended or not args.follow:
                data, offset = await read_log(path, offset)
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
                return
            await asyncio.sleep(0.3)


async def secret_put(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    value = args.value if args.value is not None else sys.stdin.read().rstrip("\n")
    async with open_services(settings) as s:
        created = await s.pipelines.put_secret(args.name, value)
    verb = "created" if created else "replaced"
    return Result({"name": args.name, "created": created}, f"{verb} secret {args.name}")


async def secret_list(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s:
        names = await s.pipelines.list_secrets()
    return Result({"secrets": names}, "\n".join(names) or "(none)")


async def secret_delete(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s:
        await s.pipelines.delete_secret(args.name)
    return Result({"name": args.name, "deleted": True}, f"deleted secret {args.name}")


def add_commands(groups: Any, leaf: Any) -> None:
    """Register `pipeline …` and `secret …` on the CLI's parser."""
    p = groups.add_parser("pipeline", help="pipelines").add_subparsers(required=True)
    c = leaf(p, "create", create, "create a pipeline from a JSON or YAML file")
    c.add_argument("--file", required=True, help="PIPELINE.json|yaml; '-' for stdin")
    c = leaf(p, "update", update, "replace a pipeline's definition (a new version)")
    c.add_argument("--file", required=True, help="PIPELINE.json|yaml; '-' for stdin")
    leaf(p, "get", get, "show a pipeline's definition").add_argument("name")
    leaf(p, "list", list_, "list pipelines")
    leaf(p, "delete", delete, "delete a pipeline and its executions").add_argument("name")
    c = leaf(p, "start", start, "start an execution on the branches' tips")
    c.add_argument("name")
    c.add_argument("--variable", action="append", metavar="NAME=VALUE")
    c = leaf(p, "executions", executions, "a pipeline's executions, newest first")
    c.add_argument("name")
    c.add_argument("--limit", type=int, default=100)
    c = leaf(p, "approve", approve, "approve (or reject) a waiting Manual approval")
    c.add_argument("execution_id")
    c.add_argument("stage")
    c.add_argument("--action", help="the approval action (default: the stage's waiting one)")
    c.add_argument("--reject", action="store_true")
    c.add_argument("--comment", help="the summary kept with the decision")
    c = leaf(p, "logs", logs, "an action's log (text on stdout, in order)")
    c.add_argument("execution_id")
    c.add_argument("action", help="ACTION or STAGE.ACTION")
    c.add_argument("--follow", action="store_true", help="wait for the action to end")
    c = leaf(p, "retry", retry, "retry a failed or stopped stage")
    c.add_argument("execution_id")
    c.add_argument("stage")
    c.add_argument("--all", action="store_true", help="all actions, not only the failed ones")
    c = leaf(p, "stop", stop, "stop an execution")
    c.add_argument("execution_id")
    c.add_argument("--abandon", action="store_true", help="abandon in-flight actions")
    c.add_argument("--reason", help="why (kept as the execution's summary)")
    sec = groups.add_parser("secret", help="build secrets").add_subparsers(required=True)
    c = leaf(sec, "put", secret_put, "store a secret (the value from --value or stdin)")
    c.add_argument("name")
    c.add_argument("--value")
    leaf(sec, "list", secret_list, "list secret names")
    leaf(sec, "delete", secret_delete, "delete a secret").add_argument("name")
