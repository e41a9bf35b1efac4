"""Push ledger: what the reference-transaction hook reports, written to SQL in order.

`prepared` rows are durable before git commits a ref change (a non-zero exit aborts
it), `committed` turns them into ledger changes and events in one transaction, and
`aborted` closes them. The reconciler finishes whatever a crash leaves half done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import Database, RefUpdate, utcnow
from gitserver.store.refs import RefChange, RefKind, apply_ref_changes, lock_repository


@dataclass(frozen=True, slots=True)
class PushContext:
    repository_id: str
    push_id: str
    actor: str
    transport: str


Update = tuple[str, str, str]  # old, new, ref


async def record_prepared(
    db: Database, push: PushContext, updates: Sequence[Update], kinds: Mapping[Update, RefKind]
) -> None:
    async with db.session() as session:
        await lock_repository(session, push.repository_id)
        for update in updates:
            old, new, ref = update
            session.add(
                RefUpdate(
                    repository_id=push.repository_id,
                    push_id=push.push_id,
                    ref=ref,
                    old=old,
                    new=new,
                    kind=str(kinds[update]),
                    state="prepared",
                    actor=push.actor,
                    transport=push.transport,
                )
            )


async def _pending(
    db_session: AsyncSession, push: PushContext, updates: Sequence[Update]
) -> list[RefUpdate]:
    wanted = set(updates)
    rows = await db_session.scalars(
        select(RefUpdate)
        .where(RefUpdate.push_id == push.push_id, RefUpdate.state == "prepared")
        .order_by(RefUpdate.id)
    )
    return [row for row in rows if (row.old, row.new, row.ref) in wanted]


async def record_committed(
    db: Database, push: PushContext, updates: Sequence[Update]
) -> tuple[bool, str | None]:
    """Mark the updates committed and write their events.

    Returns whether anything was applied and the branch that became the default.
    Lines without a pending row were already resolved by the reconciler: skipped.
    """
    async with db.session() as session:
        repo = await lock_repository(session, push.repository_id)
        if repo is None:
            return False, None
        rows = await _pending(session, push, updates)
        now = utcnow()
        for row in rows:
            row.state = "committed"
            row.resolved_at = now
        changes = [RefChange(r.ref, r.old, r.new, RefKind(r.kind)) for r in rows]
        default = await apply_ref_changes(
            session,
            repo,
            changes,
            actor=push.actor,
            push_id=push.push_id,
            transport=push.transport,
        )
        return bool(changes), default


async def record_aborted(db: Database, push: PushContext, updates: Sequence[Update]) -> None:
    async with db.session() as session:
        now = utcnow()
        for row in await _pending(session, push, updates):
            row.state = "aborted"
            row.resolved_at = now
