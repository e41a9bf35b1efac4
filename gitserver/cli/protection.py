"""CLI handlers for push protection: protected-branch rules and push rules.

The operator's CLI changes them as `cli`, like every CLI change not decided by a policy
(the web UI decides `gitserver:UpdatePushProtection`); each change is logged.
"""

from __future__ import annotations

import argparse
import logging
import re
from typing import Any

from gitserver.cli.commands import open_services
from gitserver.cli.output import CommandError, Output, Result, table
from gitserver.config import Settings
from gitserver.protection import BranchRule, PushRulesView

log = logging.getLogger(__name__)

_SIZE = re.compile(r"(?i)(\d+)\s*([kmg]i?b?|b)?")
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_SCANNING = {"on": True, "off": False, "default": None}


def parse_size(text: str) -> int | None:
    """`none`, or bytes with an optional k/m/g (binary) suffix."""
    if text.lower() == "none":
        return None
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise CommandError(f"not a size: {text!r} (e.g. 5m, 100k, 1048576 or none)")
    return int(match.group(1)) * _UNITS[(match.group(2) or "")[:1].lower()]


def _rules_result(name: str, rules: list[BranchRule]) -> Result:
    rows = [[r.pattern, ", ".join(r.flags())] for r in rules]
    return Result(
        {"repositoryName": name, "protectedBranches": [r.as_json() for r in rules]},
        table(rows, ["PATTERN", "RULES"]),
    )


async def repo_protect(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    rule = BranchRule(
        args.pattern,
        args.no_force_push,
        args.no_deletion,
        args.require_pull_request,
        args.require_status_checks,
    )
    async with open_services(settings) as s:
        rules = await s.protection.protect(args.name, rule)
    log.info("branch protected", extra={"repository": args.name, "rule": rule.as_json()})
    return _rules_result(args.name, rules)


async def repo_unprotect(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s:
        rules = await s.protection.unprotect(args.name, args.pattern)
    log.info("branch unprotected", extra={"repository": args.name, "pattern": args.pattern})
    return _rules_result(args.name, rules)


async def repo_protections(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s:
        rules = await s.protection.protections(args.name)
    return _rules_result(args.name, rules)


async def repo_push_rules(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    changes: dict[str, Any] = {}
    if args.secret_scanning is not None:
        changes["secret_scanning"] = _SCANNING[args.secret_scanning]
    if args.size_limit is not None:
        changes["max_file_size"] = parse_size(args.size_limit)
    async with open_services(settings) as s:
        if changes:
            view = await s.protection.set_push_rules(args.name, **changes)
            log.info("push rules changed", extra={"repository": args.name, **changes})
        else:
            view = await s.protection.push_rules(args.name)
    return Result({"repositoryName": args.name, **view.as_json()}, _text(view))


def _text(view: PushRulesView) -> str:
    configured = {True: "on", False: "off", None: "default"}[view.secret_scanning]
    effective = "on" if view.secret_scanning_effective else "off"
    size = "none" if view.max_file_size is None else f"{view.max_file_size} bytes"
    return f"secret scanning: {effective} ({configured})\nmax file size: {size}"


def add_repo_commands(repo: Any, leaf: Any) -> None:
    c = leaf(repo, "protect", repo_protect, "protect the branches matching a glob")
    c.add_argument("name")
    c.add_argument("pattern", help="a branch name glob: main, release/*, **")
    c.add_argument("--no-force-push", action="store_true", help="refuse non-fast-forward pushes")
    c.add_argument("--no-deletion", action="store_true", help="refuse deleting the branch")
    c.add_argument(
        "--require-pull-request",
        action="store_true",
        help="the branch moves only by merging a pull request",
    )
    c.add_argument(
        "--require-status-checks",
        action="store_true",
        help="the new tip must pass the repository's required status checks",
    )
    c = leaf(repo, "unprotect", repo_unprotect, "remove a protected-branch rule")
    c.add_argument("name")
    c.add_argument("pattern")
    c = leaf(repo, "protections", repo_protections, "list protected-branch rules")
    c.add_argument("name")
    c = leaf(repo, "push-rules", repo_push_rules, "show or change secret scanning and size limit")
    c.add_argument("name")
    c.add_argument("--secret-scanning", choices=sorted(_SCANNING), help="default: the server's")
    # Its own dest: `max_file_size` is the server's API option (`config.py`).
    c.add_argument(
        "--max-file-size", dest="size_limit", metavar="SIZE|none", help="e.g. 5m; none: no limit"
    )
