"""Branches as the API sees them: create, read, list, delete, and the default branch."""

from __future__ import annotations

import re

from gitserver.db import Database, Repository, utcnow
from gitserver.gitcmd import Git
from gitserver.store.errors import (
    BranchExists,
    BranchNotFound,
    CommitNotFound,
    DefaultBranchCannotBeDeleted,
    InvalidBranchName,
    InvalidCommitId,
)
from gitserver.store.naming import ZERO_OID, ambiguous_ref_problem
from gitserver.store.refs import lock_repository, set_head
from gitserver.store.repositories import RepositoryStore, get_repository
from gitserver.store.updates import update_ref

_FULL_OID = re.compile(r"[0-9a-f]{40}")
# git check-ref-format's forbidden characters, and CodeCommit's extra rules (reference §3);
# and surrogates: a name git and the database can hold is UTF-8 text.
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\\ud800-\udfff]")


def validate_branch_name(name: str) -> str:
    """Return `name` if it is a valid branch name (`main`, `feature/x`), as CodeCommit rules.

    Raises:
        InvalidBranchName: with the rule it breaks.
    """
    problem = None
    if not 1 <= len(name) <= 256:
        problem = "it must be 1-256 characters"
    elif _FULL_OID.fullmatch(name):
        problem = "it may not be a 40-character hexadecimal string"
    elif _FORBIDDEN.search(name):
        problem = "it may not contain spaces, control characters, surrogates or ~ ^ : ? * [ \\"
    elif name == "@" or ".." in name or "//" in name or "@{" in name:
        problem = "it may not be '@' or contain '..', '//' or '@{'"
    elif name.startswith(("/", ".", "-")) or name.endswith(("/", ".", ".lock")):
        problem = "it may not start with '/', '.' or '-', or end with '/', '.' or '.lock'"
    elif any(part.startswith(".") or part.endswith(".lock") for part in name.split("/")):
        problem = "no path component may start with '.' or end with '.lock'"
    if problem:
        raise InvalidBranchName(f"The branch name is not valid: {problem}")
    return name


def validate_new_branch_name(name: str) -> str:
    """Return `name` if a branch may be created or moved under it: a valid name that no
    other ref's name could be mistaken for (`heads/main`, `refs/heads/main`).

    Raises:
        InvalidBranchName: with the rule it breaks.
    """
    validate_branch_name(name)
    problem = ambiguous_ref_problem(branch_ref(name))
    if problem:
        raise InvalidBranchName(f"The branch name is not valid: {problem}")
    return name


def branch_ref(name: str) -> str:
    return f"refs/heads/{name}"


class Branches:
    """Branch operations on one server's repositories."""

    def __init__(self, db: Database, git: Git, store: RepositoryStore) -> None:
        self.db = db
        self.git = git
        self.store = store

    async def _repository(self, name: str) -> Repository:
        async with self.db.reader() as session:
            return await get_repository(session, name)

    async def tip(self, repo: Repository, branch: str) -> str | None:
        """The commit `branch` points at, or None."""
        result = await self.git.run(
            "rev-parse",
            "--verify",
            "--quiet",
            branch_ref(branch) + "^{commit}",
            repo=self.store.path(repo.id),
            check=False,
        )
        return result.stdout.decode().strip() if result.returncode == 0 else None

    async def list(self, repository: str) -> list[str]:
        repo = await self._repository(repository)
        result = await self.git.run(
            "for-each-ref",
            "--format=%(refname:strip=2)",
            "refs/heads/",
            repo=self.store.path(repo.id),
        )
        return sorted(result.stdout.decode("utf-8", "surrogateescape").splitlines())

    async def get(self, repository: str, branch: str) -> str:
        """The tip of `branch`.

        Raises:
            RepositoryNotFound, InvalidBranchName, BranchNotFound.
        """
        validate_branch_name(branch)
        repo = await self._repository(repository)
        commit = await self.tip(repo, branch)
        if commit is None:
            raise BranchNotFound(f"Branch {branch} does not exist in {repository}")
        return commit

    async def create(self, repository: str, branch: str, commit_id: str, actor: str) -> None:
        """Create `branch` at `commit_id`; the default branch is left alone unless unset.

        Raises:
            RepositoryNotFound, InvalidBranchName, BranchExists, InvalidCommitId,
            CommitNotFound.
        """
        validate_new_branch_name(branch)
        if not _FULL_OID.fullmatch(commit_id):
            raise InvalidCommitId("The commit ID is not valid: use a full 40-character ID")
        repo = await self._repository(repository)
        path = self.store.path(repo.id)
        kind = await self.git.run("cat-file", "-t", commit_id, repo=path, check=False)
        if kind.stdout.strip() != b"commit":
            raise CommitNotFound(f"Commit {commit_id} does not exist in {repository}")
        if await self.tip(repo, branch) is not None:
            raise BranchExists(f"Branch {branch} already exists in {repository}")
        await update_ref(
            self.db,
            self.git,
            path,
            repo.id,
            ref=branch_ref(branch),
            old=ZERO_OID,
            new=commit_id,
            actor=actor,
            guard=self.store.guard,
        )

    async def delete(self, repository: str, branch: str, actor: str) -> str | None:
        """Delete `branch`; returns the commit it pointed at, None if there was none.

        Raises:
            RepositoryNotFound, InvalidBranchName, DefaultBranchCannotBeDeleted.
        """
        validate_branch_name(branch)
        repo = await self._repository(repository)
        if repo.default_branch == branch:
            raise DefaultBranchCannotBeDeleted(
                f"Branch {branch} is the default branch of {repository} and cannot be deleted"
            )
        commit = await self.tip(repo, branch)
        if commit is None:
            return None
        await update_ref(
            self.db,
            self.git,
            self.store.path(repo.id),
            repo.id,
            ref=branch_ref(branch),
            old=commit,
            new=ZERO_OID,
            actor=actor,
            guard=self.store.guard,
        )
        return commit

    async def set_default(self, repository: str, branch: str) -> None:
        """Make `branch` the default branch and the repository's HEAD.

        Raises:
            RepositoryNotFound, InvalidBranchName, BranchNotFound.
        """
        validate_branch_name(branch)
        repo = await self._repository(repository)
        if await self.tip(repo, branch) is None:
            raise BranchNotFound(f"Branch {branch} does not exist in {repository}")
        async with self.db.session() as session:
            locked = await lock_repository(session, repo.id)
            if locked is None:
                raise BranchNotFound(f"Branch {branch} does not exist in {repository}")
            if locked.default_branch != branch:
                locked.default_branch = branch
                locked.updated_at = utcnow()
        await set_head(self.git, self.store.path(repo.id), branch)
