"""The reconciler: makes SQL's ledger agree with the refs git really holds.

Two gaps close here. A `prepared` ref update whose `committed` never arrived (the
receive-pack died between writing the ref and reporting it) is resolved from what the
ref holds now. And refs changed behind the server's back (a `git push` straight into the
directory, a restored backup) become events with actor `system`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from gitserver.db import Database, RefUpdate, Repository, utcnow
from gitserver.store.naming import ZERO_OID
from gitserver.store.pushes import classify_applied, settle, was_applied
from gitserver.store.refs import (
    RefChange,
    apply_ref_changes,
    classify,
    known_refs,
    lock_repository,
    read_refs,
    set_head,
)
from gitserver.store.repositories import RepositoryStore

log = logging.getLogger(__name__)

RECONCILER_ACTOR = "system"


@dataclass(slots=True)
class ReconcileReport:
    repositories: int = 0
    resolved_committed: int = 0
    resolved_aborted: int = 0
    external_changes: int = 0
    errors: list[str] = field(default_factory=list)
    # Repositories with `prepared` rows still inside their grace: settled by a later pass.
    deferred: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "repositories": self.repositories,
            "resolvedCommitted": self.resolved_committed,
            "resolvedAborted": self.resolved_aborted,
            "externalChanges": self.external_changes,
            "errors": self.errors,
            "deferred": self.deferred,
        }


class Reconciler:
    def __init__(
        self,
        db: Database,
        store: RepositoryStore,
        grace: float,
        on_change: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._db = db
        self._store = store
        self._grace = timedelta(seconds=grace)
        self._on_change = on_change

    async def run(self, name: str | None = None) -> ReconcileReport:
        """Reconcile one repository by name, or all of them."""
        report = ReconcileReport()
        async with self._db.reader() as session:
            query = select(Repository.id, Repository.name)
            if name is not None:
                query = query.where(Repository.name == name)
            targets = [(row.id, row.name) for row in await session.execute(query)]
        for repo_id, repo_name in targets:
            try:
                if await self.reconcile_repository(repo_id, report):
                    report.deferred.append(repo_name)
            except Exception:
                log.exception("reconcile failed", extra={"repository": repo_name})
                report.errors.append(repo_name)
        return report

    async def reconcile_repository(self, repo_id: str, report: ReconcileReport) -> bool:
        """Settle one repository; True when rows inside their grace were left for later."""
        path = self._store.path(repo_id)
        git = self._store.git
        async with self._db.session() as session:
            repo = await lock_repository(session, repo_id)
            if repo is None or not path.exists():
                return False
            report.repositories += 1
            # Under the lock no prepared row can appear without us seeing it; a ref with a
            # fresh prepared row may be moving right now, so it is left to its push.
            actual = await read_refs(git, path)
            pending = list(
                await session.scalars(
                    select(RefUpdate)
                    .where(RefUpdate.repository_id == repo_id, RefUpdate.state == "prepared")
                    .order_by(RefUpdate.id)
                )
            )
            cutoff = utcnow() - self._grace
            in_flight = {row.ref for row in pending if row.created_at > cutoff}
            stale = [r for r in pending if r.created_at <= cutoff]
            applied = {r.id for r in stale if await was_applied(path, r, actual)}
            await classify_applied(git, path, stale, applied)
            report.resolved_committed += len(applied)
            report.resolved_aborted += len(stale) - len(applied)
            new_default = await settle(session, repo, stale, applied)
            changed = bool(applied)
            known = await known_refs(session, repo_id)
            external = []
            for ref in sorted(set(actual) | set(known)):
                if ref in in_flight:
                    continue
                old, new = known.get(ref, ZERO_OID), actual.get(ref, ZERO_OID)
                if old != new:
                    external.append(RefChange(ref, old, new, await classify(git, path, old, new)))
            if external:
                report.external_changes += len(external)
                changed = True
                default = await apply_ref_changes(
                    session,
                    repo,
                    external,
                    actor=RECONCILER_ACTOR,
                    push_id="reconcile",
                    transport="none",
                )
                new_default = new_default or default
        if new_default:
            await set_head(git, path, new_default)
        if changed and self._on_change is not None:
            await self._on_change(repo_id)
        return bool(in_flight)
