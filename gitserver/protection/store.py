"""Push protection's rows: protected-branch rules and per-repository push rules."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import ProtectedBranch, utcnow
from gitserver.db import PushRules as PushRulesRow
from gitserver.protection.rules import BranchRule

MAX_RULES = 100


async def branch_rules_in(session: AsyncSession, repository_id: str) -> list[BranchRule]:
    rows = await session.scalars(
        select(ProtectedBranch)
        .where(ProtectedBranch.repository_id == repository_id)
        .order_by(ProtectedBranch.pattern)
    )
    return [
        BranchRule(
            row.pattern,
            row.no_force_push,
            row.no_deletion,
            row.require_pull_request,
            row.require_status_checks,
        )
        for row in rows
    ]


async def put_branch_rule(session: AsyncSession, repository_id: str, rule: BranchRule) -> None:
    """Add the rule, or replace the one with the same pattern."""
    row = await session.get(ProtectedBranch, (repository_id, rule.pattern))
    if row is None:
        row = ProtectedBranch(repository_id=repository_id, pattern=rule.pattern)
        session.add(row)
    row.no_force_push = rule.no_force_push
    row.no_deletion = rule.no_deletion
    row.require_pull_request = rule.require_pull_request
    row.require_status_checks = rule.require_status_checks
    await session.flush()


async def delete_branch_rule(session: AsyncSession, repository_id: str, pattern: str) -> bool:
    result = await session.execute(
        delete(ProtectedBranch).where(
            ProtectedBranch.repository_id == repository_id, ProtectedBranch.pattern == pattern
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def push_rules_in(session: AsyncSession, repository_id: str) -> PushRulesRow | None:
    return await session.get(PushRulesRow, repository_id)


async def put_push_rules(
    session: AsyncSession,
    repository_id: str,
    secret_scanning: bool | None,
    max_file_size: int | None,
) -> None:
    row = await session.get(PushRulesRow, repository_id)
    if row is None:
        row = PushRulesRow(repository_id=repository_id)
        session.add(row)
    row.secret_scanning = secret_scanning
    row.max_file_size = max_file_size
    row.updated_at = utcnow()
    await session.flush()
