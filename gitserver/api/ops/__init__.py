"""The CodeCommit operations this server implements, grouped by what they work on."""

from __future__ import annotations

from gitserver.api.ops import (
    branches,
    conflicts,
    content,
    merges,
    pulls,
    repositories,
    tags,
    triggers,
)
from gitserver.api.registry import Operation, build_table


def operation_table() -> dict[str, Operation]:
    """Every implemented operation by name."""
    return build_table(
        repositories.OPERATIONS,
        branches.OPERATIONS,
        content.OPERATIONS,
        merges.OPERATIONS,
        conflicts.OPERATIONS,
        pulls.OPERATIONS,
        tags.OPERATIONS,
        triggers.OPERATIONS,
    )
