"""The ref ledger: SQL's copy of every ref, and the events that changes to it produce."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import cast

from dulwich.errors import ApplyDeltaError, ObjectFormatException
from dulwich.object_store import DiskObjectStore
from dulwich.objects import Commit, ObjectID
from sqlalchemy import Row, Table, bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from gitserver.db import PullRequest, Ref, Repository, utcnow
from gitserver.gitcmd import Git, GitError
from gitserver.store.naming import ZERO_OID, reference_type, short_name
from triggers.events import Event, EventType, record_events

log = logging.getLogger(__name__)


class RefKind(StrEnum):
    CREATED = "created"
    DELETED = "deleted"
    FAST_FORWARD = "fast-forward"
    FORCED = "forced"


@dataclass(frozen=True, slots=True)
class RefChange:
    ref: str
    old: str
    new: str
    kind: RefKind
    # A merge API call's own fields for the ref's event (`MergeDetail.fields()`).
    merge: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class MergeDetail:
    """What a merge made through the API adds to its ref's `referenceUpdated`, as AWS's
    event has it: the commits merged and the options they were merged with."""

    base: str | None
    source: str
    destination: str
    option: str
    level: str
    strategy: str

    def fields(self) -> dict[str, str]:
        fields = {
            "sourceCommitId": self.source,
            "destinationCommitId": self.destination,
            "mergeOption": self.option,
            # sic: AWS's spelling in this event
            "conflictDetailsLevel": self.level,
            "conflictResolutionStrategy": self.strategy,
        }
        if self.base is not None:
            fields["baseCommitId"] = self.base
        return fields


def parse_update_lines(text: str) -> list[tuple[str, str, str]]:
    """`old new ref` lines (pre-receive and reference-transaction stdin).

    Deleting a packed ref makes git 2.39 report an extra zero-to-zero update, and an
    update through the HEAD symref is reported for HEAD too (for its reflog): drop both.
    """
    updates = []
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) != 3:
            continue
        old, new, ref = parts
        if (old == ZERO_OID and new == ZERO_OID) or not ref.startswith("refs/"):
            continue
        updates.append((old, new, ref))
    return updates


async def read_refs(git: Git, path: Path) -> dict[str, str]:
    """Every ref of the repository and the object it points at (symrefs excluded)."""
    result = await git.run("for-each-ref", "--format=%(objectname) %(refname)", repo=path)
    refs = {}
    for line in result.stdout.decode("utf-8", "surrogateescape").splitlines():
        oid, _, name = line.partition(" ")
        refs[name] = oid
    return refs


def known_kind(old: str, new: str) -> RefKind | None:
    """Created or deleted, which the values alone tell; None for an update (that needs
    the objects: fast-forward or forced)."""
    if old == ZERO_OID:
        return RefKind.CREATED
    if new == ZERO_OID:
        return RefKind.DELETED
    return None


async def classify(
    git: Git, path: Path, old: str, new: str, object_env: Mapping[str, str] | None = None
) -> RefKind:
    """Created, deleted, fast-forward or forced; `object_env` reaches quarantined objects."""
    if (kind := known_kind(old, new)) is not None:
        return kind
    if old in quarantined_parents(path, object_env, new):
        # A commit on top of the old tip (most pushes): no process to tell it.
        return RefKind.FAST_FORWARD
    try:
        result = await git.run(
            "merge-base", "--is-ancestor", old, new, repo=path, extra_env=object_env, check=False
        )
    except GitError:
        return RefKind.FORCED
    return RefKind.FAST_FORWARD if result.returncode == 0 else RefKind.FORCED


def quarantined_parents(path: Path, object_env: Mapping[str, str] | None, oid: str) -> list[str]:
    """The parents of commit `oid` if the push's quarantine (`object_env`) holds it,
    as it holds every pushed commit; [] when it does not, or cannot be read."""
    quarantine = (object_env or {}).get("GIT_OBJECT_DIRECTORY")
    if not quarantine or not Path(quarantine).resolve().is_relative_to(path.resolve()):
        return []
    # The quarantine holds the push's objects only (one pack, thin bases included): a
    # small store, opened in ~0.1 ms, against ~2-3 ms for a `merge-base` process.
    store = DiskObjectStore(quarantine)
    try:
        commit = store[ObjectID(oid.encode("ascii"))]
    except (KeyError, ValueError, OSError, ObjectFormatException, ApplyDeltaError):
        return []
    finally:
        store.close()
    if not isinstance(commit, Commit):
        return []
    return [parent.decode("ascii") for parent in commit.parents]


async def lock_repository(session: AsyncSession, repository_id: str) -> Repository | None:
    """Serialize ref-ledger writers of one repository, across processes and backends."""
    return await session.run_sync(lock_repository_in, repository_id)


def lock_repository_in(session: Session, repository_id: str) -> Repository | None:
    """`lock_repository` in a sync session (`Database.write`)."""
    # One statement: the row comes back with the lock (both backends have RETURNING).
    locked = session.scalars(
        update(Repository)
        .where(Repository.id == repository_id)
        .values(ref_version=Repository.ref_version + 1)
        .returning(Repository),
        execution_options={"populate_existing": True},
    )
    return locked.one_or_none()


def choose_default_branch(changes: Sequence[RefChange]) -> str | None:
    """CodeCommit makes the first pushed branch the default; in a multi-branch first push
    prefer main, then master, then the first branch in the push."""
    created = [
        short_name(c.ref)
        for c in changes
        if c.kind is RefKind.CREATED and reference_type(c.ref) == "branch"
    ]
    for preferred in ("main", "master"):
        if preferred in created:
            return preferred
    return created[0] if created else None


def _event_for(
    repository_id: str,
    repository_name: str,
    change: RefChange,
    actor: str,
    push_id: str,
    transport: str,
) -> Event:
    detail: dict[str, object] = {
        "repositoryId": repository_id,
        "repositoryName": repository_name,
        "referenceType": reference_type(change.ref),
        "referenceName": short_name(change.ref),
        "referenceFullName": change.ref,
        "pushId": push_id,
        "transport": transport,
    }
    if change.kind is RefKind.CREATED:
        kind = EventType.REFERENCE_CREATED
        detail["commitId"] = change.new
    elif change.kind is RefKind.DELETED:
        kind = EventType.REFERENCE_DELETED
        detail["oldCommitId"] = change.old
    else:
        kind = EventType.REFERENCE_UPDATED
        detail["commitId"] = change.new
        detail["oldCommitId"] = change.old
        detail["forced"] = change.kind is RefKind.FORCED
    if change.merge:
        detail.update(change.merge)
    return Event(kind, repository_name, actor, detail, repository_id=repository_id)


async def apply_ref_changes(
    session: AsyncSession,
    repo: Repository,
    changes: Sequence[RefChange],
    *,
    actor: str,
    push_id: str,
    transport: str,
) -> str | None:
    """Record `changes` in the ledger with one event each; the caller holds the repo lock.

    Returns the branch that became the default, if this change gave the repo its first.
    """

    def apply(sync: Session) -> str | None:
        return apply_ref_changes_in(
            sync, repo, changes, actor=actor, push_id=push_id, transport=transport
        )

    return await session.run_sync(apply)


def apply_ref_changes_in(
    session: Session,
    repo: Repository,
    changes: Sequence[RefChange],
    *,
    actor: str,
    push_id: str,
    transport: str,
) -> str | None:
    """`apply_ref_changes` in a sync session (`Database.write`)."""
    if not changes:
        return None
    write_ref_changes(
        session, repo.id, repo.name, changes, actor=actor, push_id=push_id, transport=transport
    )
    _sync_stale_entities(session, repo.id, [c.ref for c in changes], actor)
    now = utcnow()
    chosen = touch_repository(session, repo.id, repo.default_branch, changes, now)
    # The entity this session holds shows what the statement wrote.
    set_committed_value(repo, "updated_at", now)
    set_committed_value(repo, "pushed_at", now)
    if chosen is not None:
        set_committed_value(repo, "default_branch", chosen)
    return chosen


def write_ref_changes(
    session: Session,
    repository_id: str,
    repository_name: str,
    changes: Sequence[RefChange],
    *,
    actor: str,
    push_id: str,
    transport: str,
) -> None:
    """The ledger's rows, one event each and the stale marks of `changes`, as statements
    built once (no ORM entity: a push's settle runs this on every push). The caller
    holds the repository lock and updates the repository's row."""
    _move_refs(session, repository_id, changes)
    record_events(
        session,
        [_event_for(repository_id, repository_name, c, actor, push_id, transport) for c in changes],
    )
    # Open pull requests on a moved ref are brought up to date by `pulls/follow.py`:
    # here one UPDATE in the ledger's transaction, so no move is ever missed.
    moved = [c.ref for c in changes]
    session.execute(_MARK_STALE, {"b_repo": repository_id, "b_moved": moved, "b_actor": actor})


def touch_repository(
    session: Session,
    repository_id: str,
    default_branch: str | None,
    changes: Sequence[RefChange],
    now: datetime,
) -> str | None:
    """The repository's row after `changes`, as one statement: pushed `now`, and its
    first branch the default. Returns the branch that became the default."""
    chosen = None if default_branch is not None else choose_default_branch(changes)
    if chosen is None:
        session.execute(_TOUCH, {"b_id": repository_id, "b_now": now})
    else:
        session.execute(_TOUCH_DEFAULT, {"b_id": repository_id, "b_now": now, "b_default": chosen})
    return chosen


def lock_repository_row(
    session: Session, repository_id: str
) -> Row[tuple[str, str, str | None]] | None:
    """`lock_repository_in` as one statement built once: the repository's id, name and
    default branch, with the lock (no ORM entity)."""
    return session.execute(_LOCK, {"b_id": repository_id}).one_or_none()


def _move_refs(session: Session, repository_id: str, changes: Sequence[RefChange]) -> None:
    """The ledger's rows for `changes` (one change a ref), in a number of statements that
    does not grow with the changes: a mirror push's hundreds of refs cost two."""
    kept = [c for c in changes if c.kind is not RefKind.DELETED]
    if len(changes) == 1 and kept:
        # A push mostly moves one ref that exists: one UPDATE, an INSERT only if new.
        row = {"b_repo": repository_id, "b_name": kept[0].ref, "b_target": kept[0].new}
        moved = session.execute(_MOVE_REF, row)
        if not int(getattr(moved, "rowcount", 0) or 0):
            session.execute(_ADD_REFS, [_ref_row(repository_id, kept[0])])
        return
    session.execute(_DROP_REFS, {"b_repo": repository_id, "b_names": [c.ref for c in changes]})
    if kept:
        session.execute(_ADD_REFS, [_ref_row(repository_id, c) for c in kept])


def _ref_row(repository_id: str, change: RefChange) -> dict[str, str]:
    return {"repository_id": repository_id, "name": change.ref, "target": change.new}


def _sync_stale_entities(
    session: Session, repository_id: str, moved: list[str], actor: str
) -> None:
    """What `_MARK_STALE` wrote, on the pull requests this session holds as entities (a
    merge's own), as the ORM's `synchronize_session` would have done."""
    for held in list(session.identity_map.values()):
        if (
            isinstance(held, PullRequest)
            and held.repository_id == repository_id
            and held.status == "OPEN"
            and (held.source_ref in moved or held.destination_ref in moved)
        ):
            set_committed_value(held, "stale", True)
            set_committed_value(held, "stale_actor", actor)


# The ledger's hot statements, built once: building one (and its cache key) costs
# several times what running it does (~150 us against ~30 us for the stale mark).
_repos = cast(Table, Repository.__table__)
_refs = cast(Table, Ref.__table__)
_pulls = cast(Table, PullRequest.__table__)
_LOCK = (
    update(_repos)
    .where(_repos.c.id == bindparam("b_id"))
    .values(ref_version=_repos.c.ref_version + 1)
    .returning(_repos.c.id, _repos.c.name, _repos.c.default_branch)
)
_TOUCH = (
    update(_repos)
    .where(_repos.c.id == bindparam("b_id"))
    .values(updated_at=bindparam("b_now"), pushed_at=bindparam("b_now"))
)
_TOUCH_DEFAULT = _TOUCH.values(default_branch=bindparam("b_default"))
_MOVE_REF = (
    update(_refs)
    .where(_refs.c.repository_id == bindparam("b_repo"), _refs.c.name == bindparam("b_name"))
    .values(target=bindparam("b_target"))
)
_DROP_REFS = delete(_refs).where(
    _refs.c.repository_id == bindparam("b_repo"),
    _refs.c.name.in_(bindparam("b_names", expanding=True)),
)
_ADD_REFS = insert(_refs)
_MARK_STALE = (
    update(_pulls)
    .where(
        _pulls.c.repository_id == bindparam("b_repo"),
        _pulls.c.status == "OPEN",
        or_(
            _pulls.c.source_ref.in_(bindparam("b_moved", expanding=True)),
            _pulls.c.destination_ref.in_(bindparam("b_moved", expanding=True)),
        ),
    )
    .values(stale=True, stale_actor=bindparam("b_actor"))
)


async def known_refs(session: AsyncSession, repository_id: str) -> dict[str, str]:
    rows = await session.execute(
        select(Ref.name, Ref.target).where(Ref.repository_id == repository_id)
    )
    return {name: target for name, target in rows}


def reflog_has(path: Path, ref: str, old: str, new: str) -> bool:
    """Whether the reflog of `ref` records the step `old -> new` (reads a small file)."""
    logs = (path / "logs").resolve()
    target = (logs / ref).resolve()
    if not target.is_relative_to(logs) or not target.is_file():
        return False
    prefix = f"{old} {new} ".encode()
    with target.open("rb") as handle:
        return any(line.startswith(prefix) for line in handle)


async def set_head(git: Git, path: Path, branch: str) -> None:
    """Point HEAD at the default branch, so `git clone` checks it out."""
    await git.run("symbolic-ref", "HEAD", f"refs/heads/{branch}", repo=path)
