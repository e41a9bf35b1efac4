"""Ref updates made by the server itself (API writes, branch operations, merges), never lost.

Each one goes the way a push does, in three steps:

1. `prepare_ref_update` writes a `prepared` ref_updates row in its own transaction, so
   it is durable before the ref moves;
2. `PreparedRefUpdate.apply` moves the ref by compare-and-swap (`git update-ref REF NEW
   OLD`, so a concurrent push is never overwritten);
3. `PreparedRefUpdate.settle` turns the row into the ledger change and its event inside
   the caller's transaction, so the caller's own writes (a pull request marked merged,
   its events) commit if and only if the ref's event does.

`ref_update` runs the three for a caller with writes of its own; `update_ref` for one
without. The crash story: after step 2 the ref has moved whatever happens to SQL. If the
process dies, or the caller's transaction fails or rolls back, the row stays `prepared`
and the reconciler settles it after `prepared_grace` from the repository (the ref holds
`new`, or its reflog records the step): committed, with its one event, actor and
transport as the row says. Whatever the caller meant to write with it is not written;
the caller's own logic must notice that later (a pull request whose destination
already contains its commits was merged outside).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import Database
from gitserver.gitcmd import Git, GitError
from gitserver.store.errors import InvalidBranchName, RefMoved
from gitserver.store.naming import ZERO_OID, ref_update_problem
from gitserver.store.pushes import PushContext, record_applied, record_prepared, settle_reported
from gitserver.store.refs import MergeDetail, RefKind, classify, read_refs, set_head

UPDATE_CONFIG = {
    "core.logAllRefUpdates": "true",
    # A push holds its ref locks only while git writes the refs. Waiting out such a lock
    # (git's default is 100 ms) lets the compare-and-swap see the pushed value and fail
    # as RefMoved, rather than as "unable to lock", which would say nothing of the ref.
    "core.filesRefLockTimeout": "1000",
}


class RefGuard(Protocol):
    """Rules beyond IAM every server-side ref move obeys (`gitserver.protection`)."""

    async def check_ref_update(
        self,
        repository_id: str,
        path: Path,
        ref: str,
        old: str,
        new: str,
        kind: RefKind,
        *,
        by_merge: bool,
    ) -> None:
        """Raise a domain error when the update may not happen."""


@dataclass(slots=True)
class PreparedRefUpdate:
    """A ref update whose `prepared` row is durable; `apply()` it, then `settle()` it."""

    db: Database
    git: Git
    path: Path
    push: PushContext
    ref: str
    old: str
    new: str
    kind: RefKind
    moved: bool = False

    async def apply(self) -> None:
        """Move the ref from `old` to `new` by compare-and-swap (no SQL transaction open).

        On a failure git has exited and the ref is read again to say why. When it no
        longer holds `old` the compare-and-swap failed: the row is aborted in a small
        transaction of its own and RefMoved raised. When it still holds `old`, git
        failed for another reason (a stale lock, a missing object, a full disk): the row
        is aborted and the GitError raised. Only when git was killed (a timeout) after
        the ref changed is the outcome unknown: the row is left `prepared` for the
        reconciler, which decides from the ref and its reflog.

        Raises:
            RefMoved: the ref no longer holds `old`; nothing was changed.
            InvalidBranchName: creating the ref collides with an existing ref's path
                (`a/b` next to `a`); nothing was changed.
        """
        message = f"{self.push.transport}: {self.kind} by {self.push.actor}"
        try:
            await self.git.run(
                *_update_ref_args(self.ref, self.old, self.new, message),
                repo=self.path,
                config=UPDATE_CONFIG,
                extra_env={
                    "GIT_COMMITTER_NAME": self.push.actor,
                    "GIT_COMMITTER_EMAIL": f"{self.push.actor}@{self.push.transport}",
                },
            )
        except GitError as error:
            await self._failed(error)
            raise
        self.moved = True

    async def _failed(self, error: GitError) -> None:
        # A GitError from reading the refs leaves the row prepared: the reconciler decides.
        current = await read_refs(self.git, self.path)
        moved_away = current.get(self.ref, ZERO_OID) != self.old
        if moved_away and error.returncode < 0:
            return
        await record_applied(self.db, self.push, [])
        if moved_away:
            raise RefMoved(
                f"{self.ref} was changed by someone else; read it again and retry"
            ) from None
        if self.old == ZERO_OID and _path_conflict(self.ref, current):
            raise InvalidBranchName(
                f"The reference name is not valid: {self.ref} and an existing reference "
                "cannot both exist (one is a directory of the other)"
            ) from None

    async def settle(self, session: AsyncSession) -> str | None:
        """Record the applied update in the caller's transaction: the row committed, the
        ledger, its event; the first branch becomes the default (and HEAD).

        Takes the repository row lock, as every ledger writer does, so call it before
        the caller's other writes to keep one lock order. HEAD is pointed at a new
        default at once: the branch exists in git whether or not this transaction
        commits, and the reconciler chooses the same default when it settles the row.
        Returns the branch that became the default, if any.
        """
        if not self.moved:
            raise RuntimeError("settle() called before a successful apply()")
        _, default = await settle_reported(session, self.push, [(self.old, self.new, self.ref)])
        if default is not None:
            await set_head(self.git, self.path, default)
        return default


async def prepare_ref_update(
    db: Database,
    git: Git,
    path: Path,
    repository_id: str,
    *,
    ref: str,
    old: str,
    new: str,
    actor: str,
    transport: str = "api",
    kind: RefKind | None = None,
    merge: MergeDetail | None = None,
    guard: RefGuard | None = None,
    by_pull_request: bool = False,
) -> PreparedRefUpdate:
    """Check and classify the update of `ref` from `old` to `new` (ZERO_OID: create /
    delete) and durably write its `prepared` row.

    Opens its own transaction: call it before the caller's unit of work (on SQLite a
    second writer in one task would wait for itself). `kind` may be given when the
    caller knows it (a commit built on `old`): no merge-base. `merge` is what a merge API
    call adds to the ref's event. `guard` (the repository's push protection) decides
    first; `by_pull_request` says the move is a pull request's merge, the one way a
    branch that requires pull requests may move.

    Raises:
        InvalidBranchName: `ref` is a name git clients could not use unambiguously
            (callers check first and say so in their own terms; this is the backstop
            for every ref the server moves).
        DomainError: what `guard` raises (a protected branch, a secret, a size).
    """
    problem = ref_update_problem(ref, new)
    if problem:
        raise InvalidBranchName(f"The reference name is not valid: {problem}")
    kind = kind or await classify(git, path, old, new)
    if guard is not None:
        await guard.check_ref_update(
            repository_id, path, ref, old, new, kind, by_merge=by_pull_request
        )
    push = PushContext(repository_id, str(uuid.uuid4()), actor, transport)
    update = (old, new, ref)
    await record_prepared(db, push, [update], {update: kind}, merge.fields() if merge else None)
    return PreparedRefUpdate(db, git, path, push, ref, old, new, kind)


@asynccontextmanager
async def ref_update(
    db: Database,
    git: Git,
    path: Path,
    repository_id: str,
    *,
    ref: str,
    old: str,
    new: str,
    actor: str,
    transport: str = "api",
    kind: RefKind | None = None,
    merge: MergeDetail | None = None,
    guard: RefGuard | None = None,
    by_pull_request: bool = False,
) -> AsyncIterator[AsyncSession]:
    """Prepare and apply the update, then yield the unit of work it is settled in.

    The ref has moved and its ledger change and event are in the session when the body
    runs; what the body writes commits with them. If the body raises, nothing of the
    session commits and the reconciler settles the ref (see the module docstring). The
    body writes through this session only: on SQLite a second `db.session()` in the same
    task would wait for this one.

    Raises:
        RefMoved, InvalidBranchName: as `prepare_ref_update` and `apply`; the body
            did not run.
    """
    prepared = await prepare_ref_update(
        db,
        git,
        path,
        repository_id,
        ref=ref,
        old=old,
        new=new,
        actor=actor,
        transport=transport,
        kind=kind,
        merge=merge,
        guard=guard,
        by_pull_request=by_pull_request,
    )
    await prepared.apply()
    async with db.session() as session:
        await prepared.settle(session)
        yield session


async def update_ref(
    db: Database,
    git: Git,
    path: Path,
    repository_id: str,
    *,
    ref: str,
    old: str,
    new: str,
    actor: str,
    transport: str = "api",
    kind: RefKind | None = None,
    merge: MergeDetail | None = None,
    guard: RefGuard | None = None,
) -> str | None:
    """Move `ref` from `old` to `new` (ZERO_OID: create / delete) and record it.

    Returns the branch that became the repository's default, if this gave it its first.

    Raises:
        RefMoved: the ref no longer holds `old`; nothing was changed.
        InvalidBranchName: as `prepare_ref_update` and `PreparedRefUpdate.apply`.
    """
    prepared = await prepare_ref_update(
        db,
        git,
        path,
        repository_id,
        ref=ref,
        old=old,
        new=new,
        actor=actor,
        transport=transport,
        kind=kind,
        merge=merge,
        guard=guard,
    )
    await prepared.apply()
    async with db.session() as session:
        return await prepared.settle(session)


def _path_conflict(ref: str, current: dict[str, str]) -> bool:
    # git keeps loose refs as files, so `refs/heads/a` and `refs/heads/a/b` cannot both be.
    return any(name.startswith(f"{ref}/") or ref.startswith(f"{name}/") for name in current)


def _update_ref_args(ref: str, old: str, new: str, message: str) -> list[str]:
    if new == ZERO_OID:
        return ["update-ref", "-m", message, "--no-deref", "-d", ref, old]
    return ["update-ref", "-m", message, "--no-deref", ref, new, old]
