"""Starting executions from the outbox: pushes and pull-request events that match.

A consumer with its own cursor (row 2 of `dispatch_cursor`; event delivery has row 1)
reads new events under that row's lock (`FOR UPDATE` on PostgreSQL), starts the
executions they call for and moves the cursor in the same transaction: every event is
looked at exactly once, whichever process gets there. The source of each execution is
the exact commit of its event, not the branch's tip when the build starts.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import DispatchCursor, EventRow, PipelineRow, utcnow
from gitserver.pipelines import definitions
from gitserver.pipelines.definitions import PipelineDefinition, PullRequestEvent
from gitserver.pipelines.engine import EngineSettings
from gitserver.pipelines.executions import SourceRevision, Trigger, start
from gitserver.pipelines.store import TRIGGER_CURSOR, is_postgres, read_definition
from triggers.events import EventType

log = logging.getLogger(__name__)

BATCH = 200
# A sequence number may be committed after a higher one (PostgreSQL): wait this long
# for a gap to fill before passing over it (as event delivery does).
GAP_GRACE = timedelta(seconds=10)
ZERO = "0" * 40

ChangedPaths = Callable[[str, str, str], Awaitable[list[str]]]
"""(repository id, old commit or "", new commit) -> the paths that differ."""
CloneUrl = Callable[[str], str]

_PUSH = {EventType.REFERENCE_CREATED, EventType.REFERENCE_UPDATED}
_PULL_REQUEST = {
    EventType.PULL_REQUEST_CREATED: (PullRequestEvent.OPEN, "PULL_REQUEST_CREATED"),
    EventType.PULL_REQUEST_SOURCE_BRANCH_UPDATED: (
        PullRequestEvent.UPDATED,
        "PULL_REQUEST_UPDATED",
    ),
    EventType.PULL_REQUEST_STATUS_CHANGED: (PullRequestEvent.CLOSED, "PULL_REQUEST_CLOSED"),
    EventType.PULL_REQUEST_MERGE_STATUS_UPDATED: (PullRequestEvent.CLOSED, "PULL_REQUEST_MERGED"),
}


async def consume(
    session: AsyncSession,
    settings: EngineSettings,
    changed_paths: ChangedPaths,
    clone_url: CloneUrl,
) -> int:
    """Start the executions new events call for; returns how many events it read."""
    query = select(DispatchCursor).where(DispatchCursor.id == TRIGGER_CURSOR)
    cursor = await session.scalar(query.with_for_update() if is_postgres(session) else query)
    if cursor is None:
        last = await session.scalar(select(func.max(EventRow.seq)))
        cursor = DispatchCursor(id=TRIGGER_CURSOR, last_seq=last or 0)
        session.add(cursor)
        return 0
    rows = list(
        await session.scalars(
            select(EventRow)
            .where(EventRow.seq > cursor.last_seq)
            .order_by(EventRow.seq)
            .limit(BATCH)
        )
    )
    rows = _contiguous(rows, cursor.last_seq)
    pipelines = _Pipelines(session)
    for row in rows:
        try:
            await _on_event(session, settings, row, pipelines, changed_paths, clone_url)
        except definitions.DefinitionError as exc:
            log.warning("pipeline not started: %s", exc, extra={"event_id": row.id})
    if rows:
        cursor.last_seq = rows[-1].seq
    return len(rows)


class _Pipelines:
    """The pipelines, read once per batch and only if an event in it can start one: a
    push of 500 tags is 500 events, and a query each made the consumer the busiest part
    of a delivery worker."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._rows: list[PipelineRow] | None = None

    async def reading(self, repository: str) -> list[PipelineRow]:
        if self._rows is None:
            self._rows = list(
                await self._session.scalars(select(PipelineRow).order_by(PipelineRow.name))
            )
        return [r for r in self._rows if repository in (r.repositories or [])]


def _contiguous(rows: list[EventRow], last: int) -> list[EventRow]:
    now, expected, result = utcnow(), last + 1, []
    for row in rows:
        if row.seq != expected and now - row.time < GAP_GRACE:
            break
        result.append(row)
        expected = row.seq + 1
    return result


async def _on_event(
    session: AsyncSession,
    settings: EngineSettings,
    row: EventRow,
    pipelines: _Pipelines,
    changed_paths: ChangedPaths,
    clone_url: CloneUrl,
) -> None:
    if row.repository_name is None or (row.type not in _PUSH and row.type not in _PULL_REQUEST):
        return
    kind = EventType(row.type)
    detail: dict[str, Any] = row.detail
    if (
        kind is EventType.PULL_REQUEST_STATUS_CHANGED
        and detail.get("pullRequestStatus") != "CLOSED"
    ):
        return
    paths: list[str] | None = None

    async def changed(old: str, new: str) -> list[str]:
        nonlocal paths
        if paths is None:
            paths = await changed_paths(row.repository_id or "", old, new)
        return paths

    for pipeline in await pipelines.reading(row.repository_name):
        if row.time < pipeline.created_at:
            # A push from before the pipeline existed, read after it was created (the
            # consumer lags behind): not a change the pipeline was there to see.
            continue
        definition = read_definition(pipeline.definition, pipeline.version)
        for action in definitions.source_actions_for_repository(definition, row.repository_name):
            if kind in _PUSH:
                revision = await _push_revision(definition, action.name, row, changed)
            else:
                revision = await _pull_request_revision(definition, action.name, row, changed)
            if revision is None:
                continue
            trigger = Trigger(
                type="WebhookV2" if definition.triggers else "CloudWatchEvent",
                detail=f"{row.type}:{row.id}",
                actor=row.actor,
            )
            await start(
                session,
                settings,
                pipeline.name,
                trigger=trigger,
                revisions={action.name: revision},
                clone_url=clone_url,
            )
            break  # one execution per event and pipeline


def _wants_paths(definition: PipelineDefinition, source: str) -> bool:
    config = definitions.trigger_for(definition, source)
    if config is None:
        return False
    return any(f.file_paths is not None for f in config.push or ()) or any(
        f.file_paths is not None for f in config.pull_request or ()
    )


async def _push_revision(
    definition: PipelineDefinition,
    source: str,
    row: EventRow,
    changed: Callable[[str, str], Awaitable[list[str]]],
) -> SourceRevision | None:
    d = row.detail
    name, commit = str(d.get("referenceName", "")), str(d.get("commitId", ""))
    is_tag = d.get("referenceType") == "tag"
    old = str(d.get("oldCommitId", "")) or ZERO
    paths = await changed(old, commit) if _wants_paths(definition, source) else []
    where = {"tag": name} if is_tag else {"branch": name}
    if not definitions.push_matches(definition, source, changed_paths=paths, **where):
        return None
    full = str(d.get("referenceFullName", ""))
    return SourceRevision(
        commit,
        "" if is_tag else name,
        full,
        {
            "event": "PUSH",
            "headRef": full,
            "trigger": f"{'tag' if is_tag else 'branch'}/{name}",
            "prevCommit": "" if old == ZERO else old,
            "actorAccountId": row.actor,
        },
    )


async def _pull_request_revision(
    definition: PipelineDefinition,
    source: str,
    row: EventRow,
    changed: Callable[[str, str], Awaitable[list[str]]],
) -> SourceRevision | None:
    d = row.detail
    kind, webhook_event = _PULL_REQUEST[EventType(row.type)]
    destination = str(d.get("destinationReference", "")).removeprefix("refs/heads/")
    commit = str(d.get("sourceCommit", ""))
    paths = (
        await changed(str(d.get("mergeBase", "")) or ZERO, commit)
        if _wants_paths(definition, source)
        else []
    )
    if not definitions.pull_request_matches(
        definition, source, event=kind, destination_branch=destination, changed_paths=paths
    ):
        return None
    number = str(d.get("pullRequestId", ""))
    return SourceRevision(
        commit,
        str(d.get("sourceReference", "")).removeprefix("refs/heads/"),
        f"pr/{number}",
        {
            "event": webhook_event,
            "headRef": str(d.get("sourceReference", "")),
            "baseRef": str(d.get("destinationReference", "")),
            "trigger": f"pr/{number}",
            "mergeCommit": str(d.get("mergeCommitId") or ""),
            "actorAccountId": row.actor,
        },
    )
