"""The outbox event of a change to a comment, in the change's transaction.

A comment on a pull request is `commentOnPullRequest*` through `history.record` (the
pull request's detail, and its last activity is now); a comment on compared commits is
`commentOnCommit*` (`details.commit_comment_event`). See `pulls/details.py`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from gitserver.db import Comment
from gitserver.pulls import history
from gitserver.pulls.details import commit_comment_event, iso
from gitserver.pulls.service import locked
from gitserver.store.refs import lock_repository
from triggers.events import EventType, record_event


async def record_comment_event(
    session: AsyncSession, actor: Principal, row: Comment, *, created: bool, **extra: Any
) -> None:
    fields: dict[str, Any] = {
        "commentId": row.id,
        "inReplyTo": row.in_reply_to or "",
        "content": row.content,
        "beforeCommitId": row.before_commit,
        "afterCommitId": row.after_commit,
    }
    if row.file_path is not None:
        fields["filePath"] = row.file_path
        fields["relativeFileVersion"] = row.relative_version
        if row.file_position is not None:
            fields["filePosition"] = row.file_position
    if not created:
        fields["deleted"] = row.deleted
    fields.update(extra)
    if row.pull_request_id is not None:
        repo, pr = await locked(session, row.pull_request_id)
        kind = (
            EventType.COMMENT_ON_PULL_REQUEST_CREATED
            if created
            else EventType.COMMENT_ON_PULL_REQUEST_UPDATED
        )
        history.record(
            session,
            pr,
            repo,
            actor=actor.name,
            actor_arn=actor.arn,
            history=None,
            outbox=kind,
            **fields,
        )
        return
    found = await lock_repository(session, row.repository_id)
    assert found is not None
    kind = EventType.COMMENT_ON_COMMIT_CREATED if created else EventType.COMMENT_ON_COMMIT_UPDATED
    fields.update(
        author=row.author_arn,
        creationDate=iso(row.created_at),
        lastModifiedDate=iso(row.updated_at),
    )
    record_event(session, commit_comment_event(kind, found, actor.name, actor.arn, **fields))
