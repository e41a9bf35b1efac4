"""The CodeCommit operations this server implements, grouped by what they work on."""

from __future__ import annotations

from gitserver.api.ops import branches, comments, content, pulls, repositories, tags, triggers
from gitserver.api.registry import Operation, build_table


def operation_table() -> dict[str, Operation]:
    """Every implemented operation by name."""
    return build_table(
        repositories.OPERATIONS,
        branches.OPERATIONS,
        content.OPERATIONS,
        pulls.OPERATIONS,
        comments.OPERATIONS,
        tags.OPERATIONS,
        triggers.OPERATIONS,
    )
