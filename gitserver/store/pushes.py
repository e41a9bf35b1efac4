"""Push ledger: every ref update of a push, written to SQL before and after git applies it.

One `prepared` row per update is written in one transaction before git can take any ref
lock: by the front end while git receives the pack (or by pre-receive for updates the
front end did not plan). Once receive-pack has exited, `settle_push` turns the rows of
the updates git reported `ok` into ledger changes and events and closes the rest as
`aborted`, in one transaction. When there is no complete report (the client asked for
none, git died) or the server died first (the reconciler), the rows are resolved from
the repository itself: an update happened if its ref holds the new value, or if the
ref's reflog records the exact old -> new step (the server forces
`core.logAllRefUpdates`, so a ref that moved on again is still decided correctly).

A row's kind (fast-forward or forced) needs the pushed objects, so a row written before
they arrived holds "" until it is settled. No hook reports after git: git 2.39's
reference-transaction hook runs twice per ref for non-atomic pushes, which cost ~0.1 s
per ref (measured), and a post-receive hook costs a process start per push.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from gitserver.db import Database, RefUpdate, Repository, utcnow
from gitserver.gitcmd import Git
from gitserver.store.naming import ZERO_OID
from gitserver.store.refs import (
    RefChange,
    RefKind,
    apply_ref_changes_in,
    classify,
    known_kind,
    lock_repository,
    lock_repository_row,
    read_refs,
    reflog_has,
    touch_repository,
    write_ref_changes,
)


@dataclass(frozen=True, slots=True)
class PushContext:
    repository_id: str
    push_id: str
    actor: str
    transport: str


Update = tuple[str, str, str]  # old, new, ref


async def record_prepared(
    db: Database,
    push: PushContext,
    updates: Sequence[Update],
    kinds: Mapping[Update, RefKind],
    merge: Mapping[str, str] | None = None,
) -> None:
    """Durably note the updates git is about to attempt (`merge`: the merge API's fields
    for the event of each, see `refs.MergeDetail`). An update missing from `kinds` that
    is neither a creation nor a deletion is classified when it is settled."""
    rows = [
        {
            "repository_id": push.repository_id,
            "push_id": push.push_id,
            "ref": ref,
            "old": old,
            "new": new,
            "kind": str(kinds.get((old, new, ref)) or known_kind(old, new) or ""),
            "state": "prepared",
            "actor": push.actor,
            "transport": push.transport,
            "merge": dict(merge) if merge else None,
        }
        for old, new, ref in updates
    ]

    def write(session: Session) -> None:
        lock_repository_row(session, push.repository_id)
        if rows:
            session.execute(_PREPARE, rows)

    await db.write(write)


def _pending(session: Session, push_id: str) -> list[RefUpdate]:
    rows = session.scalars(
        select(RefUpdate)
        .where(RefUpdate.push_id == push_id, RefUpdate.state == "prepared")
        .order_by(RefUpdate.id)
    )
    return list(rows)


async def touch_prepared(db: Database, push_ids: Sequence[str]) -> None:
    """Mark the rows of running pushes as fresh (the reconciler leaves fresh rows be)."""
    async with db.session() as session:
        await session.execute(
            update(RefUpdate)
            .where(RefUpdate.push_id.in_(push_ids), RefUpdate.state == "prepared")
            .values(created_at=utcnow())
        )


async def classify_applied(
    git: Git,
    path: Path,
    rows: Sequence[RefUpdate],
    applied: Collection[int],
    kinds: Mapping[Update, RefKind] | None = None,
) -> None:
    """Give the applied rows written before their objects arrived their kind (the objects
    are in the repository now)."""
    for row in rows:
        if row.kind or row.id not in applied:
            continue
        known = (kinds or {}).get((row.old, row.new, row.ref))
        row.kind = str(known or await classify(git, path, row.old, row.new))


async def settle(
    session: AsyncSession, repo: Repository, rows: Sequence[RefUpdate], applied: set[int]
) -> str | None:
    """Close `rows`: those whose id is in `applied` become ledger changes and events.

    The caller holds the repository lock. Returns the branch that became the default.
    """
    return await session.run_sync(settle_in, repo, rows, applied)


def settle_in(
    session: Session, repo: Repository, rows: Sequence[RefUpdate], applied: set[int]
) -> str | None:
    """`settle` in a sync session (`Database.write`)."""
    now = utcnow()
    by_push: dict[tuple[str, str, str], list[RefChange]] = {}
    for row in rows:
        row.resolved_at = now
        if row.id in applied:
            row.state = "committed"
            change = RefChange(row.ref, row.old, row.new, RefKind(row.kind), row.merge)
            by_push.setdefault((row.push_id, row.actor, row.transport), []).append(change)
        else:
            row.state = "aborted"
    default = None
    for (push_id, actor, transport), changes in by_push.items():
        chosen = apply_ref_changes_in(
            session, repo, changes, actor=actor, push_id=push_id, transport=transport
        )
        default = default or chosen
    return default


async def was_applied(path: Path, row: RefUpdate, current: Mapping[str, str]) -> bool:
    """Decide from the repository alone whether git applied `row`'s update."""
    if current.get(row.ref, ZERO_OID) == row.new:
        return True
    if row.new == ZERO_OID:
        return False
    return await asyncio.to_thread(reflog_has, path, row.ref, row.old, row.new)


async def record_applied(
    db: Database, push: PushContext, updates: Sequence[Update]
) -> tuple[bool, str | None]:
    """`updates` are exactly what git applied of the push; everything else was not.

    Returns whether anything was applied and the branch that became the default.
    """
    async with db.session() as session:
        return await settle_reported(session, push, updates)


async def settle_reported(
    session: AsyncSession, push: PushContext, updates: Sequence[Update]
) -> tuple[bool, str | None]:
    """`record_applied` inside the caller's transaction, so its writes commit with ours.

    Rows no longer `prepared` (the reconciler got there first) are left as they are, so
    the ref's event is written once whichever side settles it.
    """
    repo = await lock_repository(session, push.repository_id)
    if repo is None:
        return False, None
    rows = await session.run_sync(_pending, push.push_id)
    reported = set(updates)
    applied = {r.id for r in rows if (r.old, r.new, r.ref) in reported}
    default = await settle(session, repo, rows, applied)
    return bool(applied), default


async def settle_push(
    db: Database,
    git: Git,
    path: Path,
    push: PushContext,
    reported: Collection[str] | None,
    kinds: Mapping[Update, RefKind] | None = None,
) -> tuple[bool, str | None]:
    """After receive-pack exits, in one transaction: the rows of the refs git `reported`
    `ok` are applied, the others aborted; with no report (None), the repository decides.

    `kinds` may already hold what the caller classified. Returns whether anything was
    applied and the branch that became the default.
    """
    if reported is not None:
        # The common push: git's report decides and every kind is known (classified in
        # pre-receive, or by the caller), so no git runs inside the transaction, and it
        # is one database unit (`Database.write`).
        try:
            return await db.write(lambda s: _settle_reported_in(s, push, reported, kinds or {}))
        except _NeedsGit:
            pass  # an applied row of unknown kind: the transaction below classifies it
    async with db.session() as session:
        repo = await lock_repository(session, push.repository_id)
        if repo is None:
            return False, None
        rows = await session.run_sync(_pending, push.push_id)
        if not rows:
            return False, None
        if reported is None:
            current = await read_refs(git, path)
            applied = {r.id for r in rows if await was_applied(path, r, current)}
        else:
            applied = {r.id for r in rows if r.ref in reported}
        await classify_applied(git, path, rows, applied, kinds)
        default = await settle(session, repo, rows, applied)
        return bool(applied), default


class _NeedsGit(Exception):
    """The one-unit settle met a row whose kind only git can tell: rolled back."""


def _settle_reported_in(
    session: Session,
    push: PushContext,
    reported: Collection[str],
    kinds: Mapping[Update, RefKind],
) -> tuple[bool, str | None]:
    """`settle_push` with git's report, in a sync session, as statements built once (it
    runs on every push; the ORM's unit of work cost more than the SQL).

    Raises:
        _NeedsGit: an applied row has no kind and `kinds` does not hold it.
    """
    repo = lock_repository_row(session, push.repository_id)
    if repo is None:
        return False, None
    rows = session.execute(_PENDING, {"b_push": push.push_id}).all()
    if not rows:
        return False, None
    now = utcnow()
    closing: list[dict[str, object]] = []
    changes: list[RefChange] = []
    for row in rows:
        kind = row.kind
        if row.ref in reported:
            kind = kind or str(kinds.get((row.old, row.new, row.ref)) or "")
            if not kind:
                raise _NeedsGit(row.ref)
            changes.append(RefChange(row.ref, row.old, row.new, RefKind(kind), row.merge))
        state = "committed" if row.ref in reported else "aborted"
        closing.append({"b_id": row.id, "b_state": state, "b_kind": kind, "b_now": now})
    session.execute(_CLOSE, closing)
    if not changes:
        return False, None
    write_ref_changes(
        session,
        repo.id,
        repo.name,
        changes,
        actor=push.actor,
        push_id=push.push_id,
        transport=push.transport,
    )
    return True, touch_repository(session, repo.id, repo.default_branch, changes, now)


_updates = cast(Table, RefUpdate.__table__)
_PENDING = (
    select(
        _updates.c.id,
        _updates.c.ref,
        _updates.c.old,
        _updates.c.new,
        _updates.c.kind,
        _updates.c.merge,
    )
    .where(_updates.c.push_id == bindparam("b_push"), _updates.c.state == "prepared")
    .order_by(_updates.c.id)
)
_PREPARE = insert(_updates)
_CLOSE = (
    update(_updates)
    .where(_updates.c.id == bindparam("b_id"))
    .values(state=bindparam("b_state"), kind=bindparam("b_kind"), resolved_at=bindparam("b_now"))
)
