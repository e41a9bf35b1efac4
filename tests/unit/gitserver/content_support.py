"""A real bare repository in the server's layout, a real SQLite database, the real git."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select

from gitserver.content.reader import Reader
from gitserver.db import Database, EventRow, Ref, RefUpdate, Repository
from gitserver.gitcmd import Git as ServerGit
from gitserver.services import GIT_CONFIG
from gitserver.store.repositories import Endpoints, RepositoryStore, create_repository
from tests.support import Git

T = TypeVar("T")


@dataclass
class Env:
    db: Database
    server_git: ServerGit
    store: RepositoryStore
    repo: Repository
    git: Git  # the test's own git, as a user's client
    work: Path  # a working copy whose `origin` is the bare repository

    @property
    def path(self) -> Path:
        return self.store.path(self.repo.id)

    def push(self, *refs: str) -> None:
        self.git("push", "-q", "origin", *(refs or ("main",)), cwd=self.work)

    def read(self, work: Callable[[Reader], T]) -> T:
        with Reader(self.path) as reader:
            return work(reader)

    def bare(self, *args: str) -> str:
        return self.git("--git-dir", str(self.path), *args).stdout.strip()

    async def fresh(self) -> Repository:
        async with self.db.reader() as session:
            found = await session.get(Repository, self.repo.id)
            assert found is not None
            self.repo = found
            return found

    async def events(self) -> list[dict[str, Any]]:
        async with self.db.reader() as session:
            rows = await session.scalars(
                select(EventRow)
                .where(EventRow.repository_id == self.repo.id)
                .order_by(EventRow.seq)
            )
            return [{"type": r.type, "actor": r.actor, "detail": dict(r.detail)} for r in rows]

    async def ledger(self) -> dict[str, str]:
        async with self.db.reader() as session:
            rows = await session.execute(
                select(Ref.name, Ref.target).where(Ref.repository_id == self.repo.id)
            )
            return {name: target for name, target in rows}

    async def updates(self) -> list[tuple[str, str, str]]:
        async with self.db.reader() as session:
            rows = await session.scalars(
                select(RefUpdate).where(RefUpdate.repository_id == self.repo.id)
            )
            return [(r.ref, r.state, r.transport) for r in rows]


def run_in_repo(
    tmp_path: Path, body: Callable[[Env], Awaitable[T]], database_url: str | None = None
) -> T:
    """Make the database (SQLite unless `database_url`), the store and an empty
    repository `r`, then run `body`."""

    async def main() -> T:
        db = Database(database_url or f"sqlite+aiosqlite:///{tmp_path / 'gitserver.db'}")
        await db.upgrade()
        server_git = ServerGit(tmp_path / "server-home", forced_config=GIT_CONFIG)
        endpoints = Endpoints("us-east-1", "111111111111", "http://h", "ssh://h")
        store = RepositoryStore(tmp_path / "data", server_git, endpoints)
        repo = await create_repository(db, store, "r", "", "admin")
        git = Git(tmp_path / "home")
        work = git.init(tmp_path / "work")
        git("remote", "add", "origin", str(store.path(repo.id)), cwd=work)
        try:
            return await body(Env(db, server_git, store, repo, git, work))
        finally:
            await db.close()

    return asyncio.run(main())
