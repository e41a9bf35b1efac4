"""The reconciler: pushes whose `committed` never got recorded, and refs changed behind the
server's back, become exactly the events a normal push would have produced."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support import (
    Git,
    Server,
    cli_env_call,
    kill_server,
    run_sql,
    wait_until,
)

# Delivery, locking, ordering or crash recovery: SQL semantics decide the outcome.
pytestmark = pytest.mark.database

ZERO = "0" * 40
NO_GRACE = {"GITSERVER_PREPARED_GRACE": "0"}
# Only the reconcile we run: no periodic pass, no maintenance job touching the repository.
QUIET = ("--reconcile-interval", "0", "--no-maintenance")


def _ref_events(server: Server, name: str, after: int = 0) -> list[dict[str, Any]]:
    return [e for e in server.events(name, after=after) if e["type"].startswith("reference")]


def _summary(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            e["type"],
            e["detail"]["referenceFullName"],
            e["detail"].get("oldCommitId"),
            e["detail"].get("commitId"),
            e["detail"].get("forced"),
            e["actor"],
        )
        for e in events
    ]


def _last_seq(server: Server, name: str) -> int:
    return max((e["seq"] for e in server.events(name)), default=0)


def _reconcile(server: Server, name: str | None = None, grace: bool = False) -> dict[str, Any]:
    args = ["repo", "reconcile", *([name] if name else [])]
    result = cli_env_call(server, {} if grace else NO_GRACE, *args)
    assert result["errors"] == [], result
    return dict(result)


def _bare_git(git: Git, bare: Path, *args: str, check: bool = True) -> str:
    return git("--git-dir", str(bare), *args, check=check).stdout.strip()


def _ref_updates(server: Server, repository_id: str) -> list[tuple[Any, ...]]:
    return [
        tuple(row)
        for row in run_sql(
            server,
            "SELECT push_id, ref, old, new, kind, state, actor, transport FROM ref_updates"
            " WHERE repository_id = :rid ORDER BY id",
            params={"rid": repository_id},
        )
    ]


def _is_sqlite(server: Server) -> bool:
    return server.database_url.startswith("sqlite")


@contextmanager
def _events_blocked(server: Server) -> Iterator[None]:
    """Make the server unable to record events (so `committed` cannot complete).

    PostgreSQL: a transaction of ours holds an EXCLUSIVE lock on `events`: the server's
    `committed` write waits on it (reads still work). SQLite locks the whole database, so
    there a trigger makes the insert fail instead.
    """
    if _is_sqlite(server):
        run_sql(
            server,
            "CREATE TRIGGER test_block_events BEFORE INSERT ON events"
            " BEGIN SELECT RAISE(ABORT, 'events blocked by the test'); END",
        )
        try:
            yield
        finally:
            run_sql(server, "DROP TRIGGER IF EXISTS test_block_events")
        return

    import asyncpg

    locked, release = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    async def hold() -> None:
        conn = await asyncpg.connect(server.database_url.replace("+asyncpg", ""))
        try:
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            locked.set()
            await asyncio.to_thread(release.wait)
            await transaction.rollback()
        finally:
            await conn.close()

    def run() -> None:
        try:
            asyncio.run(hold())
        except BaseException as exc:
            failure.append(exc)
            locked.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert locked.wait(30) and not failure, failure
    try:
        yield
    finally:
        release.set()
        thread.join(30)


def _setup(
    make_server: Callable[..., Server], git: Git, tmp_path: Path, *extra: str, **kw: Any
) -> tuple[Server, str, dict[str, Any], Path, str]:
    srv = make_server(*QUIET, *extra, **kw)
    name = "rec"
    srv.cli("repo", "create", name)
    work = git.init(tmp_path / "work")
    base = git.commit(work, "README.md", "base\n")
    git("remote", "add", "origin", srv.url(name), cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    return srv, name, srv.cli("repo", "get", name), work, base


# --- (a) committed never recorded ------------------------------------------------------


def test_push_whose_committed_was_lost_in_a_crash_yields_its_event(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    """A real push, a server that dies after git moved the ref but before `committed`
    reached SQL, and the reconcile at the next start."""
    srv, name, meta, work, base = _setup(make_server, git, tmp_path, env=NO_GRACE)
    bare, rid = Path(meta["path"]), meta["repositoryId"]
    after = _last_seq(srv, name)
    new = git.commit(work)

    with _events_blocked(srv):
        push = subprocess.Popen(
            ["git", "push", "origin", "main"],
            cwd=work,
            env=git.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

        def prepared_and_moved() -> bool:
            rows = _ref_updates(srv, rid)
            moved = _bare_git(git, bare, "rev-parse", "refs/heads/main") == new
            return moved and any(r[3] == new and r[5] == "prepared" for r in rows)

        assert wait_until(prepared_and_moved, timeout=60)
        if not _is_sqlite(srv):
            assert push.poll() is None  # the response waits for the push's settling, on SQL
        kill_server(srv)  # the crash: `committed` is in flight (PostgreSQL) or failed
        push.communicate(timeout=60)

    rows = [r for r in _ref_updates(srv, rid) if r[3] == new]
    assert len(rows) == 1 and rows[0][5] == "prepared", rows
    push_id = rows[0][0]
    # Written before the pack arrived, the row cannot know yet whether the update is a
    # fast-forward: settling it (here the reconcile) decides from the objects.
    assert rows[0][1:] == (
        "refs/heads/main",
        base,
        new,
        "",
        "prepared",
        "admin",
        "http",
    )
    assert _ref_events(srv, name, after) == []

    srv.start()  # reconciles at start; GITSERVER_PREPARED_GRACE=0 makes the row stale at once
    events = _ref_events(srv, name, after)
    assert _summary(events) == [
        ("referenceUpdated", "refs/heads/main", base, new, False, "admin"),
    ]
    assert events[0]["detail"]["pushId"] == push_id
    assert events[0]["detail"]["transport"] == "http"
    assert [r[5] for r in _ref_updates(srv, rid) if r[0] == push_id] == ["committed"]

    # Nothing more on the next pass, and the server serves the commit.
    assert _reconcile(srv, name)["externalChanges"] == 0
    assert _ref_events(srv, name, after) == events
    clone = tmp_path / "clone"
    git("clone", "-q", srv.url(name), str(clone))
    assert git.rev_parse(clone, "HEAD") == new


def _insert_prepared(server: Server, rows: list[dict[str, Any]]) -> None:
    """Write `prepared` rows exactly as the reference-transaction hook does."""
    from gitserver.db import Database, RefUpdate

    async def insert() -> None:
        db = Database(server.database_url)
        try:
            async with db.session() as session:
                for row in rows:
                    session.add(RefUpdate(state="prepared", transport="http", **row))
        finally:
            await db.close()

    asyncio.run(insert())


def test_stale_prepared_rows_resolve_from_what_the_refs_hold(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    srv, name, meta, _, base = _setup(make_server, git, tmp_path)
    bare, rid = Path(meta["path"]), meta["repositoryId"]
    after = _last_seq(srv, name)
    tree = _bare_git(git, bare, "rev-parse", f"{base}^{{tree}}")
    moved = _bare_git(git, bare, "commit-tree", tree, "-p", base, "-m", "moved")
    created = _bare_git(git, bare, "commit-tree", tree, "-p", base, "-m", "created")
    never = _bare_git(git, bare, "commit-tree", tree, "-p", base, "-m", "never")
    push_ok, push_lost = str(uuid.uuid4()), str(uuid.uuid4())
    _insert_prepared(
        srv,
        [
            # main moved (git committed, then the process died): committed, with its event.
            dict(repository_id=rid, push_id=push_ok, ref="refs/heads/main", old=base,
                 new=moved, kind="fast-forward", actor="alice"),
            # a created branch that did land.
            dict(repository_id=rid, push_id=push_ok, ref="refs/heads/topic", old=ZERO,
                 new=created, kind="created", actor="alice"),
            # a push that died before git committed: the ref never moved: aborted.
            dict(repository_id=rid, push_id=push_lost, ref="refs/heads/lost", old=ZERO,
                 new=never, kind="created", actor="bob"),
        ],
    )  # fmt: skip
    _bare_git(git, bare, "update-ref", "refs/heads/main", moved, base)
    _bare_git(git, bare, "update-ref", "refs/heads/topic", created, ZERO)

    # Within the grace period the rows are in flight: left alone, and their refs are not
    # reported as changed behind the server's back either.
    report = _reconcile(srv, name, grace=True)
    assert (report["resolvedCommitted"], report["resolvedAborted"]) == (0, 0), report
    assert report["externalChanges"] == 0
    assert _ref_events(srv, name, after) == []

    report = _reconcile(srv, name)
    assert (report["resolvedCommitted"], report["resolvedAborted"]) == (2, 1), report
    assert report["externalChanges"] == 0
    events = _ref_events(srv, name, after)
    assert sorted(_summary(events)) == [
        ("referenceCreated", "refs/heads/topic", None, created, None, "alice"),
        ("referenceUpdated", "refs/heads/main", base, moved, False, "alice"),
    ]
    assert {e["detail"]["pushId"] for e in events} == {push_ok}
    states = {(r[0], r[1]): r[5] for r in _ref_updates(srv, rid)}
    assert states[(push_ok, "refs/heads/main")] == "committed"
    assert states[(push_ok, "refs/heads/topic")] == "committed"
    assert states[(push_lost, "refs/heads/lost")] == "aborted"

    # Idempotent: a second pass finds nothing.
    report = _reconcile(srv, name)
    assert report["resolvedCommitted"] + report["resolvedAborted"] == 0
    assert report["externalChanges"] == 0
    assert _ref_events(srv, name, after) == events


def test_a_merge_settled_by_the_reconciler_keeps_its_merge_fields(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    """A merge API call whose process died after the ref moved: the reconciler's event is
    the one the call would have written, merge fields included."""
    from gitserver.store.refs import MergeDetail

    srv, name, meta, _, base = _setup(make_server, git, tmp_path)
    bare, rid = Path(meta["path"]), meta["repositoryId"]
    after = _last_seq(srv, name)
    tree = _bare_git(git, bare, "rev-parse", f"{base}^{{tree}}")
    side = _bare_git(git, bare, "commit-tree", tree, "-p", base, "-m", "side")
    merged = _bare_git(git, bare, "commit-tree", tree, "-p", base, "-p", side, "-m", "merge")
    detail = MergeDetail(base, side, base, "THREE_WAY_MERGE", "LINE_LEVEL", "AUTOMERGE")
    _insert_prepared(
        srv,
        [
            dict(repository_id=rid, push_id=str(uuid.uuid4()), ref="refs/heads/main",
                 old=base, new=merged, kind="fast-forward", actor="alice",
                 merge=detail.fields()),
        ],
    )  # fmt: skip
    _bare_git(git, bare, "update-ref", "refs/heads/main", merged, base)

    report = _reconcile(srv, name)
    assert report["resolvedCommitted"] == 1, report
    (event,) = _ref_events(srv, name, after)
    assert _summary([event]) == [
        ("referenceUpdated", "refs/heads/main", base, merged, False, "alice")
    ]
    assert {k: event["detail"][k] for k in detail.fields()} == {
        "baseCommitId": base,
        "sourceCommitId": side,
        "destinationCommitId": base,
        "mergeOption": "THREE_WAY_MERGE",
        "conflictDetailsLevel": "LINE_LEVEL",
        "conflictResolutionStrategy": "AUTOMERGE",
    }


# --- (b) refs changed behind the server's back ------------------------------------------


def test_refs_changed_behind_the_servers_back_become_system_events(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    srv = make_server(*QUIET)
    name = "behind"
    meta = srv.cli("repo", "create", name)
    bare = Path(meta["path"])
    direct = f"file://{bare}"
    after = _last_seq(srv, name)
    # Straight into the directory: git runs no hooks there (core.hooksPath is only given
    # to the receive-packs the server starts), so the server sees nothing.
    work = git.init(tmp_path / "work", branch="trunk")
    c1 = git.commit(work)
    git("push", "-q", direct, "trunk", cwd=work)
    assert _ref_events(srv, name, after) == []

    report = _reconcile(srv, name)
    assert report["externalChanges"] == 1
    events = _ref_events(srv, name, after)
    assert _summary(events) == [("referenceCreated", "refs/heads/trunk", None, c1, None, "system")]
    assert events[0]["detail"]["pushId"] == "reconcile"
    # The first branch became the default, and HEAD follows it.
    assert srv.cli("repo", "get", name)["defaultBranch"] == "trunk"
    assert _bare_git(git, bare, "symbolic-ref", "HEAD") == "refs/heads/trunk"
    assert _reconcile(srv, name)["externalChanges"] == 0
    assert _ref_events(srv, name, after) == events

    # A fast-forward, a new branch and a tag in one go.
    after = _last_seq(srv, name)
    c2 = git.commit(work)
    git("branch", "feature", cwd=work)
    git("tag", "v1", c1, cwd=work)
    git("push", "-q", direct, "trunk", "feature", "v1", cwd=work)
    assert _reconcile(srv, name)["externalChanges"] == 3
    assert sorted(_summary(_ref_events(srv, name, after))) == [
        ("referenceCreated", "refs/heads/feature", None, c2, None, "system"),
        ("referenceCreated", "refs/tags/v1", None, c1, None, "system"),
        ("referenceUpdated", "refs/heads/trunk", c1, c2, False, "system"),
    ]

    # A forced update and a deletion.
    after = _last_seq(srv, name)
    git("reset", "-q", "--hard", c1, cwd=work)
    c3 = git.commit(work, "other.txt")
    git("push", "-q", direct, "+trunk", ":feature", cwd=work)
    assert _reconcile(srv, name)["externalChanges"] == 2
    assert sorted(_summary(_ref_events(srv, name, after))) == [
        ("referenceDeleted", "refs/heads/feature", c2, None, None, "system"),
        ("referenceUpdated", "refs/heads/trunk", c2, c3, True, "system"),
    ]
    assert _reconcile(srv, name)["externalChanges"] == 0
    assert len(_ref_events(srv, name, after)) == 2

    # The ledger now matches git: a normal push is classified against the right old value.
    after = _last_seq(srv, name)
    c4 = git.commit(work)
    git("push", "-q", srv.url(name), "trunk", cwd=work)
    assert _summary(_ref_events(srv, name, after)) == [
        ("referenceUpdated", "refs/heads/trunk", c3, c4, False, "admin")
    ]
    clone = tmp_path / "clone"
    git("clone", "-q", srv.url(name), str(clone))
    assert git.rev_parse(clone, "HEAD") == c4


# --- (c) the server's own reconcile at start --------------------------------------------


def test_server_reconciles_at_start(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    srv, name, meta, work, base = _setup(make_server, git, tmp_path)
    bare = Path(meta["path"])
    srv.stop()
    after = _last_seq(srv, name)

    c2 = git.commit(work)
    git("push", "-q", f"file://{bare}", "main", "main:refs/heads/side", cwd=work)
    srv.start()
    events = _ref_events(srv, name, after)
    assert sorted(_summary(events)) == [
        ("referenceCreated", "refs/heads/side", None, c2, None, "system"),
        ("referenceUpdated", "refs/heads/main", base, c2, False, "system"),
    ]

    srv.stop()
    srv.start()
    assert _ref_events(srv, name, after) == events
    assert _reconcile(srv)["externalChanges"] == 0
