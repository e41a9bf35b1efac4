"""CLI handlers for the life cycle of customer-managed policies: versions and deletion."""

from __future__ import annotations

import argparse

from auth import policies
from gitserver.cli.commands import open_services
from gitserver.cli.output import Output, Result, table
from gitserver.config import Settings


async def policy_delete_managed(
    settings: Settings, args: argparse.Namespace, out: Output
) -> Result:
    async with open_services(settings) as s, s.db.session() as session:
        await policies.delete_policy(session, args.name)
    return Result({"deleted": args.name}, f"deleted policy {args.name}")


async def policy_list_versions(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s, s.db.reader() as session:
        versions = await policies.list_policy_versions(session, args.name)
    rows = [
        [
            f"v{v.version}",
            "yes" if v.is_default else "",
            v.created_at.isoformat() if v.created_at else "",
        ]
        for v in versions
    ]
    return Result(
        {"PolicyName": args.name, "Versions": [v.as_json() for v in versions]},
        table(rows, ["VERSION", "DEFAULT", "CREATED"]),
    )


async def policy_set_default_version(
    settings: Settings, args: argparse.Namespace, out: Output
) -> Result:
    version = policies.parse_version_id(args.version)
    async with open_services(settings) as s, s.db.session() as session:
        await policies.set_default_policy_version(session, args.name, version)
    return Result(
        {"PolicyName": args.name, "DefaultVersionId": f"v{version}"},
        f"{args.name}: v{version} is now the default",
    )


async def policy_delete_version(
    settings: Settings, args: argparse.Namespace, out: Output
) -> Result:
    version = policies.parse_version_id(args.version)
    async with open_services(settings) as s, s.db.session() as session:
        await policies.delete_policy_version(session, args.name, version)
    return Result(
        {"PolicyName": args.name, "deleted": f"v{version}"}, f"deleted {args.name} v{version}"
    )
