"""Ref updates made by the server itself (API writes, branch operations), never lost.

Each one goes the way a push does: a `prepared` row is written first, then git moves the
ref by compare-and-swap (`git update-ref REF NEW OLD`, so a concurrent push is never
overwritten), then the row is settled into the ledger with its event in one
transaction. If the server dies between the ref move and the SQL commit, the reconciler
finds the `prepared` row and settles it from the reflog, as for a push.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from gitserver.db import Database
from gitserver.gitcmd import Git, GitError
from gitserver.store.errors import InvalidBranchName, RefMoved
from gitserver.store.naming import ZERO_OID, ref_update_problem
from gitserver.store.pushes import PushContext, record_applied, record_prepared
from gitserver.store.refs import RefKind, classify, set_head

REFLOG_CONFIG = {"core.logAllRefUpdates": "true"}


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
) -> str | None:
    """Move `ref` from `old` to `new` (ZERO_OID: create / delete) and record it.

    `kind` may be given when the caller knows it (a commit built on `old`).
    Returns the branch that became the repository's default, if this gave it its first.

    Raises:
        RefMoved: the ref no longer holds `old`; nothing was changed.
        InvalidBranchName: `ref` is a name git clients could not use unambiguously
            (callers check first and say so in their own terms; this is the backstop
            for every ref the server moves).
    """
    problem = ref_update_problem(ref, new)
    if problem:
        raise InvalidBranchName(f"The reference name is not valid: {problem}")
    # A caller that built `new` on top of `old` knows it is a fast-forward: no merge-base.
    kind = kind or await classify(git, path, old, new)
    push = PushContext(repository_id, str(uuid.uuid4()), actor, transport)
    update = (old, new, ref)
    await record_prepared(db, push, [update], {update: kind})
    try:
        await git.run(
            *_update_ref_args(ref, old, new, f"{transport}: {kind} by {actor}"),
            repo=path,
            config=REFLOG_CONFIG,
            extra_env={"GIT_COMMITTER_NAME": actor, "GIT_COMMITTER_EMAIL": f"{actor}@{transport}"},
        )
    except GitError:
        await record_applied(db, push, [])
        raise RefMoved(f"{ref} was changed by someone else; read it again and retry") from None
    _, default = await record_applied(db, push, [update])
    if default is not None:
        await set_head(git, path, default)
    return default


def _update_ref_args(ref: str, old: str, new: str, message: str) -> list[str]:
    if new == ZERO_OID:
        return ["update-ref", "-m", message, "--no-deref", "-d", ref, old]
    return ["update-ref", "-m", message, "--no-deref", ref, new, old]
