"""CLI handlers for tags: users (`aws:PrincipalTag/*`) and repositories (`aws:ResourceTag/*`)."""

from __future__ import annotations

import argparse

from auth import identities
from gitserver.cli.commands import open_services
from gitserver.cli.output import CommandError, Output, Result
from gitserver.config import Settings
from gitserver.store import repositories
from gitserver.tags import TagRuleError, parse_pairs


def _pairs(args: argparse.Namespace) -> dict[str, str]:
    try:
        return parse_pairs(args.tags)
    except TagRuleError as exc:
        raise CommandError(str(exc)) from None


def _shown(tags: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted(tags.items())) or "(no tags)"


async def user_get(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s, s.db.reader() as session:
        info = await identities.get_user_info(session, args.name)
    data = {**info.as_json(), "Arn": settings.user_arn(info.name)}
    return Result(data, "\n".join(f"{k}: {v}" for k, v in data.items()))


async def user_tag(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    tags = _pairs(args)
    async with open_services(settings) as s, s.db.session() as session:
        result = await identities.tag_user(session, args.name, tags)
    return Result({"UserName": args.name, "Tags": _tag_list(result)}, _shown(result))


async def user_untag(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s, s.db.session() as session:
        result = await identities.untag_user(session, args.name, args.keys)
    return Result({"UserName": args.name, "Tags": _tag_list(result)}, _shown(result))


async def repo_tag(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    tags = _pairs(args)
    async with open_services(settings) as s, s.db.session() as session:
        result = await repositories.tag_repository(session, args.name, tags)
    return Result({"repositoryName": args.name, "tags": result}, _shown(result))


async def repo_untag(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with open_services(settings) as s, s.db.session() as session:
        result = await repositories.untag_repository(session, args.name, args.keys)
    return Result({"repositoryName": args.name, "tags": result}, _shown(result))


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    """IAM's shape for a user's tags: a list of {Key, Value}."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
