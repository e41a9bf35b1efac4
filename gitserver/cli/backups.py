"""`gitserver backup DEST` and `gitserver restore SRC` (see gitserver.backup)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gitserver.backup import BackupError
from gitserver.backup.run import backup, restore
from gitserver.cli.output import CommandError, Output, Result
from gitserver.config import Settings


async def backup_command(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    try:
        made = await backup(settings, Path(args.dest))
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    text = (
        f"backed up {made['repositoryCount']} repositories and {sum(made['rows'].values())} "
        f"rows (schema {made['schemaRevision']}) to {args.dest}"
    )
    return Result({"backup": str(args.dest), **made}, text)


async def restore_command(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    try:
        done = await restore(settings, Path(args.src))
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    text = (
        f"restored {done['repositoryCount']} repositories and {sum(done['rows'].values())} "
        f"rows into {done['data']}; `gitserver serve` settles pushes that were under way"
    )
    return Result(done, text)


def add_commands(groups: Any, leaf: Any) -> None:
    """Register `backup` and `restore` on the CLI's parser."""
    c = leaf(groups, "backup", backup_command, "copy the database and repositories (live)")
    c.add_argument("dest", metavar="DEST", help="a new or empty directory")
    c = leaf(groups, "restore", restore_command, "restore a backup into an empty data dir")
    c.add_argument("src", metavar="SRC", help="a directory written by `gitserver backup`")


__all__ = ["add_commands"]
