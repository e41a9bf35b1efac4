"""The commits a ref update brought, read with `git log` (for GitHub-style payloads)."""

from __future__ import annotations

from gitserver.gitcmd import Git, GitError
from gitserver.store.naming import ZERO_OID
from gitserver.store.repositories import RepositoryStore
from triggers.formats import CommitInfo

_RS, _US = "\x1e", "\x1f"
_FORMAT = _RS + _US.join(["%H", "%T", "%an", "%ae", "%cn", "%ce", "%aI", "%B"]) + _US


class CommitLog:
    def __init__(self, git: Git, store: RepositoryStore) -> None:
        self.git = git
        self.store = store

    async def __call__(
        self, repository_id: str, ref: str, old: str, new: str, limit: int
    ) -> list[CommitInfo]:
        """Commits in `old..new` (a new ref: those no other ref has), oldest first, at most
        `limit` (the newest ones)."""
        new_ref = [new, "--not", f"--exclude={ref}", "--glob=refs/*"]
        span = new_ref if old == ZERO_OID else [f"{old}..{new}"]
        try:
            result = await self.git.run(
                "log",
                f"-n{limit}",
                "--no-renames",
                "--name-status",
                f"--format={_FORMAT}",
                *span,
                repo=self.store.path(repository_id),
            )
        except GitError:
            return []  # an object gone since (forced push, gc): the payload goes without
        commits = [
            _parse(chunk) for chunk in result.stdout.decode("utf-8", "replace").split(_RS)[1:]
        ]
        commits.reverse()
        return commits


def _parse(chunk: str) -> CommitInfo:
    fields = chunk.split(_US)
    sha, tree, an, ae, cn, ce, date, message = fields[:8]
    changes: dict[str, list[str]] = {"A": [], "D": [], "M": []}
    for line in fields[8].splitlines():
        status, _, path = line.partition("\t")
        if path and status[:1] in changes:
            changes[status[:1]].append(path)
        elif path and status[:1] == "T":
            changes["M"].append(path)
    return CommitInfo(
        id=sha,
        tree_id=tree,
        message=message.rstrip("\n"),
        timestamp=date,
        author_name=an,
        author_email=ae,
        committer_name=cn,
        committer_email=ce,
        added=tuple(changes["A"]),
        removed=tuple(changes["D"]),
        modified=tuple(changes["M"]),
    )
