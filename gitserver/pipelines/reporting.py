"""Commit statuses from executions: each execution reports its state on its source
commits under the pipeline's name, in the transaction that changes that state.

    InProgress (started, retried)   pending   "Running" / "Retrying stage S"
    Succeeded                       success   "Succeeded in 1m 5s"
    Failed                          failure   "Failed in stage S"
    Stopped                         failure   "Stopped: reason"
    Superseded                      error     "Superseded by a newer execution"
    Cancelled                       error     "Cancelled"

Superseded is `error` (GitHub's "could not produce a result"), not `failure`: the code
was never judged. Either way a merge that requires the context is refused until a new
execution reports on the pull request's current source commit.

A status is written only while this execution is the newest of its pipeline on that
commit: an older execution that settles late (superseded, stopped, retried) never
overwrites what a newer one reported on the same commit. A source whose repository or
commit is gone is skipped (logged): reporting never fails an execution.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.content.service import Contents
from gitserver.db import ExecutionRow, utcnow
from gitserver.errors import DomainError
from gitserver.pipelines.states import ExecutionStatus
from gitserver.pipelines.statuses import set_status_in
from gitserver.pipelines.statuses.model import ERROR, FAILURE, PENDING, SUCCESS
from gitserver.pipelines.statuses.service import MAX_DESCRIPTION
from gitserver.weburls import pipeline_execution_page

log = logging.getLogger(__name__)

_STATE = {
    ExecutionStatus.IN_PROGRESS: PENDING,
    ExecutionStatus.SUCCEEDED: SUCCESS,
    ExecutionStatus.FAILED: FAILURE,
    ExecutionStatus.STOPPED: FAILURE,
    ExecutionStatus.SUPERSEDED: ERROR,
    ExecutionStatus.CANCELLED: ERROR,
}


def _duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def describe(e: ExecutionRow, stage: str = "") -> str:
    """The status description of the execution's current state."""
    status = e.status
    if status == ExecutionStatus.IN_PROGRESS:
        text = f"Retrying stage {stage}" if stage else "Running"
    elif status == ExecutionStatus.SUCCEEDED:
        started = e.started_at
        if started is not None and started.tzinfo is None:
            started = started.replace(tzinfo=utcnow().tzinfo)
        text = "Succeeded" + (
            f" in {_duration((utcnow() - started).total_seconds())}" if started else ""
        )
    elif status == ExecutionStatus.FAILED:
        text = f"Failed in stage {stage}" if stage else "Failed"
    elif status == ExecutionStatus.STOPPED:
        text = "Stopped" + (f": {e.status_summary}" if e.status_summary else "")
    elif status == ExecutionStatus.SUPERSEDED:
        text = "Superseded by a newer execution"
    else:
        text = str(status)
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


def _targets(e: ExecutionRow) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for source in (e.sources or {}).values():
        pair = (str(source.get("repository") or ""), str(source.get("commitId") or ""))
        if all(pair) and pair not in found:
            found.append(pair)
    return found


async def _newer_on(session: AsyncSession, e: ExecutionRow, target: tuple[str, str]) -> bool:
    """Whether a newer execution of the pipeline has the same source commit."""
    if e.seq is None:
        return False
    newer = await session.scalars(
        select(ExecutionRow.sources).where(
            ExecutionRow.pipeline == e.pipeline, ExecutionRow.seq > e.seq
        )
    )
    return any(target in _targets_of(sources) for sources in newer)


def _targets_of(sources: dict[str, Any] | None) -> list[tuple[str, str]]:
    return [
        (str(s.get("repository") or ""), str(s.get("commitId") or ""))
        for s in (sources or {}).values()
    ]


async def report(
    session: AsyncSession,
    contents: Contents | None,
    base_url: Callable[[], str],
    e: ExecutionRow,
    actor: str,
    *,
    stage: str = "",
) -> None:
    """Set the pipeline's status on each source commit of `e`, as of its state now."""
    state = _STATE.get(ExecutionStatus(e.status))
    if contents is None or state is None:
        return
    await session.flush()  # e.seq
    url = pipeline_execution_page(base_url(), e.pipeline, e.id)
    if not url.startswith(("http://", "https://")):
        url = ""
    description = describe(e, stage)
    for repository, commit in _targets(e):
        if await _newer_on(session, e, (repository, commit)):
            continue
        try:
            await set_status_in(
                session, contents, actor, repository, commit, e.pipeline, state, url, description
            )
        except DomainError as exc:
            log.warning(
                "no commit status for execution %s on %s@%s: %s", e.id, repository, commit, exc
            )
