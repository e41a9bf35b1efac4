"""`gitserver backup` while a writer pushes, `gitserver restore` into an empty data dir
and database, and a server on the restored data that agrees with the backup's ledger."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitserver.backup import BackupError
from gitserver.backup.run import backup, restore
from gitserver.config import load_settings
from tests.api_support import codecommit
from tests.support import Git, Server


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Writer(threading.Thread):
    """Pushes a new commit to `url` in a loop until stopped (bounded: 200 pushes)."""

    def __init__(self, git: Git, work: Path, url: str) -> None:
        super().__init__(daemon=True)
        self.git, self.work, self.url = git, work, url
        self.stop = threading.Event()
        self.pushed = threading.Event()
        self.failures: list[str] = []

    def run(self) -> None:
        for round_ in range(200):
            if self.stop.is_set():
                return
            self.git.commit(self.work, "loop.txt", f"{round_}\n")
            pushed = self.git("push", "-q", self.url, "main", cwd=self.work, check=False)
            if pushed.returncode != 0:
                self.failures.append(pushed.stderr)
            self.pushed.set()


def _fsck(git: Git, repository: Path) -> None:
    git("--git-dir", str(repository), "fsck", "--strict", "--no-progress")


@pytest.mark.database
def test_backup_of_a_live_server_restores_into_an_empty_one(
    make_server: Callable[..., Server],
    database_factory: Callable[[Path], str],
    backend: str,
    git: Git,
    tmp_path: Path,
) -> None:
    src = make_server("--no-ssh")
    key = src.cli("access-key", "create", "admin")
    api = codecommit(src, key)
    names = ["busy", "quiet"]
    work = {}
    for name in names:
        api.create_repository(repositoryName=name)
        work[name] = git.init(tmp_path / f"work-{name}")
        git.commit(work[name], "a.txt", f"{name}\n")
        git("push", "-q", src.url(name), "main", "main:topic", cwd=work[name])

    writer = Writer(git, work["busy"], src.url("busy"))
    writer.start()
    assert writer.pushed.wait(60)
    dest = tmp_path / "backup"
    try:
        made = src.cli("backup", str(dest))
    finally:
        writer.stop.set()
        writer.join(120)
    assert not writer.failures, writer.failures
    assert made["repositoryCount"] == 2
    assert oct(dest.stat().st_mode & 0o777) == "0o700"
    assert oct((dest / "files" / "server.key").stat().st_mode & 0o777) == "0o600"

    # The backup's ledger: its refs and its events.
    ids = {row["name"]: row["id"] for row in _jsonl(dest / "database" / "repositories.jsonl")}
    ledger: dict[str, dict[str, str]] = {name: {} for name in names}
    by_id = {rid: name for name, rid in ids.items()}
    for row in _jsonl(dest / "database" / "refs.jsonl"):
        ledger[by_id[row["repository_id"]]][row["name"]] = row["target"]
    events = [
        (row["seq"], row["id"], row["type"]) for row in _jsonl(dest / "database" / "events.jsonl")
    ]

    data = tmp_path / "restored"
    restored = Server(data=data, database_url=database_factory(data), extra_args=["--no-ssh"])
    _refusals(src, restored, dest, backend)
    restored.cli("restore", str(dest))
    restored.admin_password = src.admin_password
    restored.start()
    try:
        for name in names:
            _fsck(git, data / "repos" / f"{ids[name]}.git")
            clone = tmp_path / f"clone-{name}"
            git("clone", "-q", "--mirror", restored.url(name), str(clone))
            listed = git("for-each-ref", "--format=%(refname) %(objectname)", cwd=clone)
            assert dict(line.split() for line in listed.stdout.splitlines()) == ledger[name]
            _fsck(git, clone)

        # An access key from before the backup signs valid requests (server.key came too).
        again = codecommit(restored, key).get_repository(repositoryName="quiet")
        assert again["repositoryMetadata"]["repositoryId"] == ids["quiet"]
        # Pushes work, and their events follow the restored ones.
        git("fetch", "-q", restored.url("quiet"), "main", cwd=work["quiet"])
        git("reset", "-q", "--hard", "FETCH_HEAD", cwd=work["quiet"])
        new = git.commit(work["quiet"], "b.txt", "after\n")
        git("push", "-q", restored.url("quiet"), "main", cwd=work["quiet"])
        listed = restored.events()
        assert [(e["seq"], e["id"], e["type"]) for e in listed[: len(events)]] == events
        # The push after the restore is the one event more, numbered after the others.
        assert [
            (e["type"], e["repository"], e["detail"]["commitId"]) for e in listed[len(events) :]
        ] == [("referenceUpdated", "quiet", new)]
    finally:
        restored.stop()


def _refusals(src: Server, restored: Server, dest: Path, backend: str) -> None:
    """Bad targets are refused with a clear message and left as they were (in this
    process: the CLI prints the same message)."""
    # A database that is not empty (the source's), even with an empty data dir.
    into_used = Server(data=restored.data, database_url=src.database_url)
    refused = into_used.cli("restore", str(dest), check=False)
    assert refused.returncode == 1 and "restore goes into an empty database" in refused.stderr
    assert not restored.data.exists() or not os.listdir(restored.data)
    if backend != "sqlite":
        return  # the rest does not depend on the database
    settings = load_settings({"data": str(src.data), "database_url": src.database_url}, env={})
    with pytest.raises(BackupError, match="is not empty"):
        asyncio.run(backup(settings, dest))
    damaged = dest.parent / "damaged"
    shutil.copytree(dest, damaged)
    with (damaged / "database" / "users.jsonl").open("a") as users:
        users.write("\n")
    settings = load_settings({"data": str(restored.data)}, env={})
    with pytest.raises(BackupError, match=r"users\.jsonl fails its checksum"):
        asyncio.run(restore(settings, damaged))
    assert not restored.data.exists() or not os.listdir(restored.data)


def test_a_backup_of_an_older_schema_is_upgraded_after_its_rows_are_loaded(
    tmp_path: Path,
) -> None:
    """A backup written at revision 0010 (before `auth_epoch`): restore builds that
    schema, loads the rows, then upgrades to this version's head."""
    from sqlalchemy import text

    from gitserver.backup import manifest
    from gitserver.db import Database
    from gitserver.db.revision import HEAD_REVISION

    old, new, dest = tmp_path / "old", tmp_path / "new", tmp_path / "backup"

    async def make_source() -> None:
        db = Database(load_settings({"data": str(old)}, env={}).effective_database_url)
        try:
            await db.upgrade()
            async with db.session() as session:
                await session.execute(
                    text("INSERT INTO groups (id, name, created_at) VALUES ('g1', 'ops', :t)"),
                    {"t": "2026-01-01 00:00:00.000000"},
                )
        finally:
            await db.close()

    async def restored_rows() -> tuple[str, list[Any], list[Any]]:
        db = Database(load_settings({"data": str(new)}, env={}).effective_database_url)
        try:
            async with db.reader() as session:
                version = (
                    await session.execute(text("SELECT version_num FROM alembic_version"))
                ).scalar_one()
                groups = list(await session.execute(text("SELECT id, name FROM groups")))
                epoch = list(await session.execute(text("SELECT id FROM auth_epoch")))
        finally:
            await db.close()
        return str(version), groups, epoch

    asyncio.run(make_source())
    asyncio.run(backup(load_settings({"data": str(old)}, env={}), dest))
    # The tables later migrations add (0011: auth_epoch, 0012: push protection's): a
    # backup written at 0010 has none of them. A new migration's tables go here too.
    for table in ("auth_epoch", "protected_branches", "push_rules"):
        (dest / "database" / f"{table}.jsonl").unlink()
    written = json.loads((dest / manifest.MANIFEST).read_text())
    (dest / manifest.MANIFEST).unlink()
    facts = {k: v for k, v in written.items() if k not in ("files", "format")}
    manifest.write(dest, {**facts, "schemaRevision": "0010"})

    done = asyncio.run(restore(load_settings({"data": str(new)}, env={}), dest))
    assert (done["backupSchemaRevision"], done["schemaRevision"]) == ("0010", HEAD_REVISION)
    version, groups, epoch = asyncio.run(restored_rows())
    assert version == HEAD_REVISION
    assert [tuple(row) for row in groups] == [("g1", "ops")]
    assert len(epoch) == 1  # made by the upgrade that ran after the load
