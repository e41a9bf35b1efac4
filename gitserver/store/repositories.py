"""Repositories: a bare git directory named by id, and a row in SQL that names it."""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import Database, Repository, utcnow
from gitserver.gitcmd import Git
from gitserver.store.errors import (
    InvalidDescription,
    InvalidSystemTagUsageException,
    InvalidTagKeysListException,
    InvalidTagsMapException,
    RepositoryExists,
    RepositoryNotFound,
    TagError,
    TagKeysListRequiredException,
    TooManyTagsException,
)
from gitserver.store.naming import validate_repository_name
from gitserver.store.updates import RefGuard
from gitserver.tags import TagRule, TagRuleError, merge_tags, remove_tags, stored_tags
from triggers.events import Event, EventType, record_event

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 1000  # CodeCommit's limit


@dataclass(frozen=True, slots=True)
class Endpoints:
    """What the outside world calls things: ARNs and clone URLs."""

    region: str
    account_id: str
    http_base: str
    ssh_base: str

    def arn(self, name: str) -> str:
        return f"arn:aws:codecommit:{self.region}:{self.account_id}:{name}"

    def clone_url_http(self, name: str) -> str:
        return f"{self.http_base}/v1/repos/{name}"

    def clone_url_ssh(self, name: str) -> str:
        return f"{self.ssh_base}/v1/repos/{name}"


class RepositoryStore:
    """Knows where repositories live on disk and how to make and remove them."""

    def __init__(self, data_dir: Path, git: Git, endpoints: Endpoints) -> None:
        self.root = data_dir / "repos"
        self.trash = data_dir / "trash"
        self.git = git
        self.endpoints = endpoints
        # Push protection (`Services.build` sets it): every ref the server moves in one
        # of these repositories passes it (`store.updates.prepare_ref_update`).
        self.guard: RefGuard | None = None
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, repository_id: str) -> Path:
        return self.root / f"{repository_id}.git"

    def metadata(self, repo: Repository) -> dict[str, Any]:
        """The contract's `repo create` output, a superset of CodeCommit's metadata."""
        data: dict[str, Any] = {
            "repositoryName": repo.name,
            "repositoryId": repo.id,
            "repositoryDescription": repo.description,
            "accountId": self.endpoints.account_id,
            "Arn": self.endpoints.arn(repo.name),
            "cloneUrlHttp": self.endpoints.clone_url_http(repo.name),
            "cloneUrlSsh": self.endpoints.clone_url_ssh(repo.name),
            "creationDate": repo.created_at.timestamp(),
            "lastModifiedDate": repo.updated_at.timestamp(),
            "path": str(self.path(repo.id)),
        }
        if repo.default_branch:
            data["defaultBranch"] = repo.default_branch
        return data

    async def init_bare(self, repository_id: str) -> Path:
        path = self.path(repository_id)
        # No template: no sample hooks, no description file; hooks come from the server.
        await self.git.run("init", "--bare", "--quiet", "--template=", str(path))
        # CodeCommit has no default branch until one exists; HEAD stays unborn until then.
        await self.git.run("symbolic-ref", "HEAD", "refs/heads/main", repo=path)
        return path

    async def remove(self, repository_id: str) -> None:
        path = self.path(repository_id)
        if not path.exists():
            return
        self.trash.mkdir(parents=True, exist_ok=True)
        doomed = self.trash / f"{repository_id}.{uuid.uuid4().hex[:8]}"
        path.rename(doomed)  # atomic: the repository is gone for readers at once
        await asyncio.to_thread(shutil.rmtree, doomed, True)


async def get_repository(session: AsyncSession, name: str) -> Repository:
    repo = await session.scalar(select(Repository).where(Repository.name == name))
    if repo is None:
        raise RepositoryNotFound(f"{name} does not exist")
    return repo


async def find_repository(session: AsyncSession, name: str) -> Repository | None:
    return await session.scalar(select(Repository).where(Repository.name == name))


async def list_repositories(session: AsyncSession) -> list[Repository]:
    return list(await session.scalars(select(Repository).order_by(Repository.name)))


def _validate_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION:
        raise InvalidDescription(
            f"The repository description is too long (max {MAX_DESCRIPTION} characters)"
        )
    return description


async def create_repository(
    db: Database,
    store: RepositoryStore,
    name: str,
    description: str,
    actor: str,
    tags: Mapping[str, object] | None = None,
) -> Repository:
    """Create the bare repository, then its row and `repositoryCreated` in one transaction.

    Raises:
        InvalidRepositoryName, InvalidDescription, RepositoryExists.
    """
    validate_repository_name(name)
    _validate_description(description)
    initial_tags = _checked(lambda: merge_tags({}, tags, case_sensitive=True)) if tags else {}
    async with db.reader() as session:
        if await find_repository(session, name):
            raise RepositoryExists(f"Repository named {name} already exists")
    repo_id = str(uuid.uuid4())
    await store.init_bare(repo_id)
    try:
        async with db.session() as session:
            repo = Repository(id=repo_id, name=name, description=description, tags=initial_tags)
            session.add(repo)
            await session.flush()
            record_event(
                session,
                Event(
                    EventType.REPOSITORY_CREATED,
                    name,
                    actor,
                    {"repositoryId": repo_id, "repositoryName": name},
                    repository_id=repo_id,
                ),
            )
    except IntegrityError:
        await store.remove(repo_id)
        raise RepositoryExists(f"Repository named {name} already exists") from None
    except BaseException:
        await store.remove(repo_id)
        raise
    return repo


async def delete_repository(
    db: Database, store: RepositoryStore, name: str, actor: str
) -> str | None:
    """Delete the row (with `repositoryDeleted`), then the directory. Idempotent, like AWS."""
    async with db.session() as session:
        repo = await find_repository(session, name)
        if repo is None:
            return None
        repo_id = repo.id
        await session.delete(repo)
        record_event(
            session,
            Event(
                EventType.REPOSITORY_DELETED,
                name,
                actor,
                {"repositoryId": repo_id, "repositoryName": name},
                repository_id=repo_id,
            ),
        )
    await store.remove(repo_id)
    return repo_id


_TAG_ERRORS: dict[TagRule, type[TagError]] = {
    TagRule.TOO_MANY: TooManyTagsException,
    TagRule.INVALID_TAG: InvalidTagsMapException,
    TagRule.SYSTEM_KEY: InvalidSystemTagUsageException,
    TagRule.KEYS_REQUIRED: TagKeysListRequiredException,
    TagRule.INVALID_KEYS: InvalidTagKeysListException,
}


def _checked(apply: Callable[[], dict[str, str]]) -> dict[str, str]:
    """Run a tag rule check, raising the CodeCommit error for the rule it breaks."""
    try:
        return apply()
    except TagRuleError as exc:
        raise _TAG_ERRORS[exc.rule](str(exc)) from None


async def _retag(
    session: AsyncSession, name: str, change: Callable[[dict[str, str]], dict[str, str]]
) -> dict[str, str]:
    # Locked: concurrent taggers of one repository queue instead of losing an update.
    repo = await session.scalar(select(Repository).where(Repository.name == name).with_for_update())
    if repo is None:
        raise RepositoryNotFound(f"{name} does not exist")
    repo.tags = _checked(lambda: change(stored_tags(repo.tags)))
    return dict(repo.tags)


async def tag_repository(
    session: AsyncSession, name: str, tags: Mapping[str, object]
) -> dict[str, str]:
    """CodeCommit's TagResource: add or replace tags (keys case-sensitive); all tags after.

    Runs in the caller's transaction.

    Raises:
        RepositoryNotFound, TooManyTagsException, InvalidTagsMapException,
        InvalidSystemTagUsageException.
    """
    return await _retag(session, name, lambda old: merge_tags(old, tags, case_sensitive=True))


async def untag_repository(
    session: AsyncSession, name: str, keys: Sequence[object]
) -> dict[str, str]:
    """CodeCommit's UntagResource: remove tags by key (absent keys are ignored); all after.

    Raises:
        RepositoryNotFound, TagKeysListRequiredException, InvalidTagKeysListException.
    """
    return await _retag(session, name, lambda old: remove_tags(old, keys, case_sensitive=True))


async def list_tags(session: AsyncSession, name: str) -> dict[str, str]:
    """CodeCommit's ListTagsForResource for a repository.

    Raises:
        RepositoryNotFound.
    """
    return stored_tags((await get_repository(session, name)).tags)


def resource_tags(repo: Repository | None) -> dict[str, str]:
    """A repository's tags for ``aws:ResourceTag/*``. A repository that does not exist has
    none, so a decision on an unknown name is the same as on an untagged one."""
    return stored_tags(repo.tags) if repo is not None else {}


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def rename_repository(db: Database, old: str, new: str) -> Repository:
    """Rename: one row changes (the directory is named by id); the ARN follows the name.

    Raises:
        InvalidRepositoryName, RepositoryNotFound, RepositoryExists.
    """
    validate_repository_name(new)
    try:
        async with db.session() as session:
            repo = await get_repository(session, old)
            if old != new:
                if await find_repository(session, new):
                    raise RepositoryExists(f"Repository named {new} already exists")
                repo.name = new
                repo.updated_at = utcnow()
    except IntegrityError:
        raise RepositoryExists(f"Repository named {new} already exists") from None
    return repo


async def update_description(db: Database, name: str, description: str) -> None:
    """Raises: InvalidDescription, RepositoryNotFound."""
    _validate_description(description)
    async with db.session() as session:
        repo = await get_repository(session, name)
        repo.description = description
        repo.updated_at = utcnow()
