"""Push protection's rows: protected-branch rules and per-repository push rules."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Connection, Table, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import ProtectedBranch, utcnow
from gitserver.db import PushRules as PushRulesRow
from gitserver.protection.rules import BranchRule

MAX_RULES = 100


async def branch_rules_in(session: AsyncSession, repository_id: str) -> list[BranchRule]:
    rows = await session.execute(_BRANCH_RULES, {"b_repo": repository_id})
    return [BranchRule(*row) for row in rows]


def read_rules(
    connection: Connection, repository_id: str
) -> tuple[list[BranchRule], bool | None, int | None]:
    """The branch rules, secret scanning (None: the server's default) and the maximum
    file size, in the caller's read (`Database.read`): every checked push reads them."""
    rows = connection.execute(_BRANCH_RULES, {"b_repo": repository_id})
    branches = [BranchRule(*row) for row in rows]
    row = connection.execute(_PUSH_RULES, {"b_repo": repository_id}).one_or_none()
    return branches, row.secret_scanning if row else None, row.max_file_size if row else None


_branches = cast(Table, ProtectedBranch.__table__)
_push_rules = cast(Table, PushRulesRow.__table__)
# Built once: a checked push reads both; the columns are BranchRule's, in its order.
_BRANCH_RULES = (
    select(
        _branches.c.pattern,
        _branches.c.no_force_push,
        _branches.c.no_deletion,
        _branches.c.require_pull_request,
        _branches.c.require_status_checks,
    )
    .where(_branches.c.repository_id == bindparam("b_repo"))
    .order_by(_branches.c.pattern)
)
_PUSH_RULES = select(_push_rules.c.secret_scanning, _push_rules.c.max_file_size).where(
    _push_rules.c.repository_id == bindparam("b_repo")
)


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
