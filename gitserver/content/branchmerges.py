"""Merges between branches or commits (MergeBranchesBy*, CreateUnreferencedMergeCommit,
GetMergeOptions, GetMergeCommit): commit specifiers in, typed results out.

The target branch moves from the tip read before the merge was computed to the merge
commit by compare-and-swap (`store.updates.update_ref`), recorded and announced as a
push's update is: a push or another merge in between makes it fail with
`ConcurrentReferenceUpdateException` and changes nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from dulwich.refs import Ref

from gitserver.content.errors import BranchNameIsTagName, InvalidTargetBranch
from gitserver.content.merges import (
    MergeOption,
    MergeRequest,
    MergeResult,
    conflicts_at,
    is_ancestor,
    merge_commits,
)
from gitserver.content.mergetree import merge_base, merge_tree
from gitserver.content.reader import Reader
from gitserver.content.writer import Limits
from gitserver.db import Database, Repository
from gitserver.gitcmd import Git
from gitserver.store.branches import branch_ref
from gitserver.store.errors import BranchNotFound
from gitserver.store.refs import RefKind
from gitserver.store.repositories import RepositoryStore
from gitserver.store.updates import update_ref
from triggers.events import Event, EventType, record_event


@dataclass(frozen=True, slots=True)
class MergeOptions:
    options: tuple[MergeOption, ...]
    source: str
    destination: str
    base: str  # "" when the histories are unrelated


@dataclass(frozen=True, slots=True)
class MergeCommitInfo:
    source: str
    destination: str
    base: str
    merged: str | None  # the commit that merged the source in; None if none did


@dataclass(frozen=True, slots=True)
class _Resolved:
    source: str
    destination: str
    target: str | None  # the target branch's name and tip, when there is one
    target_tip: str | None


class BranchMerges:
    def __init__(self, db: Database, git: Git, store: RepositoryStore, limits: Limits) -> None:
        self.db = db
        self.git = git
        self.store = store
        self.limits = limits

    async def merge(
        self,
        repo: Repository,
        source: str,
        destination: str,
        request: MergeRequest,
        actor: str,
        *,
        target_branch: str | None = None,
    ) -> MergeResult:
        """Merge and move the target branch (`target_branch`, else the destination's).

        Raises:
            InvalidCommit, CommitNotFound, BranchNotFound, InvalidTargetBranch,
            ManualMergeRequired and the resolution's errors, RefMoved.
        """
        path = self.store.path(repo.id)
        found = await asyncio.to_thread(
            _resolve, path, repo, source, destination, target_branch, True
        )
        assert found.target is not None and found.target_tip is not None
        result = await self._merge(path, found, request, actor)
        if result.commit_id != found.target_tip:
            await update_ref(
                self.db,
                self.git,
                path,
                repo.id,
                ref=branch_ref(found.target),
                old=found.target_tip,
                new=result.commit_id,
                actor=actor,
                # Every merge result descends from the destination: no merge-base to ask.
                kind=RefKind.FAST_FORWARD if found.target_tip == found.destination else None,
                merge=result.detail(request, found.source, found.destination),
                guard=self.store.guard,
            )
        return result

    async def unreferenced(
        self, repo: Repository, source: str, destination: str, request: MergeRequest, actor: str
    ) -> MergeResult:
        """The merge commit, in the repository but on no branch, announced as
        `unreferencedMergeCommitCreated` when it is a new commit."""
        path = self.store.path(repo.id)
        found = await asyncio.to_thread(_resolve, path, repo, source, destination, None, False)
        result = await self._merge(path, found, request, actor)
        if result.commit_id in (found.source, found.destination):
            return result  # a fast-forward or nothing to merge: no commit was made
        detail: dict[str, object] = {
            "repositoryId": repo.id,
            "repositoryName": repo.name,
            "commitId": result.commit_id,
            **result.detail(request, found.source, found.destination).fields(),
        }
        async with self.db.session() as session:
            record_event(
                session,
                Event(
                    EventType.UNREFERENCED_MERGE_COMMIT_CREATED,
                    repo.name,
                    actor,
                    detail,
                    repository_id=repo.id,
                ),
            )
        return result

    async def options(
        self, repo: Repository, source: str, destination: str, level: str, strategy: str
    ) -> MergeOptions:
        """The merge options that would succeed with this level and strategy."""
        path = self.store.path(repo.id)
        found = await asyncio.to_thread(_resolve, path, repo, source, destination, None, False)
        base = await merge_base(self.git, path, found.destination, found.source)
        options: list[MergeOption] = []
        if base == found.destination:
            options.append(MergeOption.FAST_FORWARD)
        merged = await merge_tree(self.git, path, found.destination, found.source, base=base)
        request = MergeRequest(MergeOption.THREE_WAY, strategy=strategy, level=level)
        conflicts = await asyncio.to_thread(
            conflicts_at, path, merged, request, (found.destination, found.source)
        )
        if not conflicts or strategy in ("ACCEPT_SOURCE", "ACCEPT_DESTINATION"):
            options += [MergeOption.SQUASH, MergeOption.THREE_WAY]
        return MergeOptions(tuple(options), found.source, found.destination, base)

    async def merge_commit(
        self, repo: Repository, source: str, destination: str
    ) -> MergeCommitInfo:
        """Where the source was merged into the destination: the oldest commit on the
        destination's first-parent line that contains the source, if it is a merge whose
        other side brought the source in (a fast-forward has no merge commit)."""
        path = self.store.path(repo.id)
        found = await asyncio.to_thread(_resolve, path, repo, source, destination, None, False)
        base = await merge_base(self.git, path, found.destination, found.source)
        merged: str | None = None
        if found.source != found.destination and base == found.source:
            listed = await self.git.run(
                "rev-list",
                "--first-parent",
                "--ancestry-path",
                f"{found.source}..{found.destination}",
                repo=path,
            )
            line = listed.stdout.split()
            if line:
                merged = await self._merger(path, line[-1].decode(), found.source)
        return MergeCommitInfo(found.source, found.destination, base, merged)

    async def _merger(self, path: Path, candidate: str, source: str) -> str | None:
        parents = (
            await self.git.run("rev-list", "--parents", "-n", "1", candidate, repo=path)
        ).stdout.split()[1:]
        if len(parents) < 2 or await is_ancestor(self.git, path, source, parents[0].decode()):
            return None
        return candidate

    async def _merge(
        self, path: Path, found: _Resolved, request: MergeRequest, actor: str
    ) -> MergeResult:
        return await merge_commits(
            self.git,
            path,
            source=found.source,
            destination=found.destination,
            request=request,
            committer=actor,
            limits=self.limits,
        )


def _resolve(
    path: Path,
    repo: Repository,
    source: str,
    destination: str,
    target: str | None,
    with_target: bool,
) -> _Resolved:
    with Reader(path) as reader:
        source_id = reader.resolve(source, repo.default_branch).id.decode()
        destination_id = reader.resolve(destination, repo.default_branch).id.decode()
        if not with_target:
            return _Resolved(source_id, destination_id, None, None)
        name = (target or destination).removeprefix("refs/heads/")
        try:
            tip = reader.repo.refs[Ref(branch_ref(name).encode())]
        except KeyError:
            if Ref(f"refs/tags/{name}".encode()) in reader.repo.refs:
                raise BranchNameIsTagName(f"{name} is the name of a tag, not a branch") from None
            if target:
                raise BranchNotFound(f"Branch {name} does not exist") from None
            raise InvalidTargetBranch(
                f"The destination {destination} is not a branch: give a targetBranch"
            ) from None
        return _Resolved(source_id, destination_id, name, tip.decode())
