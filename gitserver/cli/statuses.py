"""CLI handlers for commit statuses, required status checks and merge when green.

`status set` is how an external CI reports on a commit (the operator's CLI, acting as
`cli`: like every CLI change it is not decided by a policy). `pr merge-when-green` arms
on behalf of a user, so it is decided as that user's own merge request would be
(`MergePullRequestBy<strategy>` on the destination, audited), and the server merges as
that user when the statuses turn green.
"""

from __future__ import annotations

import argparse
from typing import Any

from auth.authorizer import Authorizer
from auth.principals import principal_named
from gitserver.access import Access, RequestInfo
from gitserver.audit import AuditLog
from gitserver.cli.commands import CLI_ACTOR, open_services
from gitserver.cli.output import CommandError, Output, Result, table
from gitserver.config import Settings
from gitserver.content.merges import MergeOption
from gitserver.pipelines.statuses import STATES
from gitserver.pulls.automerge import MERGE_ACTIONS

STRATEGIES = {
    "fast-forward": MergeOption.FAST_FORWARD,
    "squash": MergeOption.SQUASH,
    "three-way": MergeOption.THREE_WAY,
}


async def status_set(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s:
        view = await s.statuses.set_status(
            CLI_ACTOR,
            args.repo,
            args.commit,
            args.context,
            args.state,
            args.url or "",
            args.description or "",
        )
    return Result(view.as_json(), f"{view.context}: {view.state} on {view.commit_id}")


async def status_list(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s:
        combined = await s.statuses.combined_state(args.repo, args.commit)
        required = await s.required_checks.contexts(args.repo)
    items = [v.as_json() for v in combined.statuses]
    rows = [[v.context, v.state, v.description, v.target_url] for v in combined.statuses]
    text = f"combined: {combined.state}\n" + table(rows, ["CONTEXT", "STATE", "DESCRIPTION", "URL"])
    data = {"commitId": args.commit, "state": combined.state, "statuses": items}
    data["requiredContexts"] = required
    return Result(data, text)


async def repo_require_status(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s:
        checks = s.required_checks
        if args.context is None:
            contexts = await checks.contexts(args.name)
        elif args.remove:
            contexts = await checks.remove(args.name, args.context)
        else:
            contexts = await checks.require(args.name, args.context)
    return Result(
        {"repositoryName": args.name, "requiredContexts": contexts},
        "\n".join(contexts) or "(no required status checks)",
    )


async def pr_merge_when_green(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    option = STRATEGIES[args.strategy]
    async with open_services(settings) as s:
        location = await s.pulls.location(args.id)
        if location is None or location[0] != args.repo:
            raise CommandError(f"pull request {args.id} is not in repository {args.repo}")
        async with s.db.reader() as session:
            principal = await principal_named(session, args.user, settings.account_id, "cli")
        if principal is None:
            raise CommandError(f"no user named {args.user}")
        audit = AuditLog(s.db, settings.audit_retention_days)
        access = Access(Authorizer(audit=audit), s.endpoints, s.db)
        request = RequestInfo(source_ip="127.0.0.1", secure=True, transport="cli")
        target = access.repository(args.repo, references=(location[1],))
        try:
            await access.authorize(principal, MERGE_ACTIONS[option], [target], request)
        finally:
            await audit.flush()
        if args.cancel:
            was = await s.automerges.disarm(principal, args.id, args.repo)
            return Result(
                {"pullRequestId": args.id, "armed": False, "wasArmed": was},
                f"pull request {args.id}: merge when green " + ("cancelled" if was else "was off"),
            )
        view = await s.automerges.arm(
            principal, args.id, args.repo, option, source_commit_id=args.commit
        )
    data: dict[str, Any] = {
        "pullRequestId": view.pull_request_id,
        "armed": True,
        "mergeOption": view.strategy,
        "sourceCommitId": view.source_commit,
        "armedBy": view.armed_by,
    }
    text = (
        f"pull request {view.pull_request_id} merges ({args.strategy}) as {view.armed_by} "
        f"when its statuses succeed on {view.source_commit}"
    )
    return Result(data, text)


def add_commands(groups: Any, leaf: Any) -> None:
    """`status set|list`, `repo require-status` (added to `repo`), `pr merge-when-green`."""
    status = groups.add_parser("status", help="commit statuses").add_subparsers(required=True)
    c = leaf(status, "set", status_set, "report a status on a commit (external CI)")
    c.add_argument("--repo", required=True)
    c.add_argument("--commit", required=True, help="the full commit id")
    c.add_argument("--context", required=True, help="the pipeline's or CI's name")
    c.add_argument("--state", required=True, choices=STATES)
    c.add_argument("--url", help="a link to the build")
    c.add_argument("--description", help="at most 140 characters")
    c = leaf(status, "list", status_list, "a commit's statuses and combined state")
    c.add_argument("--repo", required=True)
    c.add_argument("--commit", required=True)
    pr = groups.add_parser("pr", help="pull requests").add_subparsers(required=True)
    c = leaf(pr, "merge-when-green", pr_merge_when_green, "merge when the statuses succeed")
    c.add_argument("--repo", required=True)
    c.add_argument("id", metavar="ID")
    c.add_argument("--strategy", choices=sorted(STRATEGIES), default="fast-forward")
    c.add_argument(
        "--user", default="admin", help="who arms it (default admin): the merge runs as them"
    )
    c.add_argument("--commit", help="the source commit reviewed (refused if it moved)")
    c.add_argument("--cancel", action="store_true", help="disarm instead")


def add_repo_commands(repo: Any, leaf: Any) -> None:
    c = leaf(
        repo,
        "require-status",
        repo_require_status,
        "require a status context to succeed before pull requests merge (no --context: list)",
    )
    c.add_argument("name")
    c.add_argument("--context", help="the pipeline's or CI's name")
    c.add_argument("--remove", action="store_true", help="stop requiring it")
