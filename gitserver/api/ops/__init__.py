"""The CodeCommit operations this server implements, grouped by what they work on."""

from __future__ import annotations

from gitserver.api.ops import (
    approvals,
    branches,
    comments,
    conflicts,
    content,
    merges,
    pull_merges,
    pulls,
    repositories,
    tags,
    templates,
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
        pull_merges.OPERATIONS,
        approvals.OPERATIONS,
        templates.OPERATIONS,
        comments.OPERATIONS,
        tags.OPERATIONS,
        triggers.OPERATIONS,
    )
