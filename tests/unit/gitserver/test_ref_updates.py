"""Ref updates a caller can join: the real git, a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.gitcmd import GitError
from gitserver.store.errors import InvalidBranchName, RefMoved
from gitserver.store.naming import ZERO_OID
from gitserver.store.reconcile import Reconciler
from gitserver.store.refs import RefKind
from gitserver.store.updates import prepare_ref_update, ref_update, update_ref
from tests.unit.gitserver.content_support import Env, run_in_repo
from triggers.events import Event, EventType, record_event

MAIN = "refs/heads/main"
pytestmark = pytest.mark.database


class CallerFailed(Exception):
    pass


@dataclass
class Setup:
    env: Env
    c1: str
    c2: str
    c3: str
    baseline: int  # events before the test's own update

    async def new_events(self) -> list[dict[str, object]]:
        return (await self.env.events())[self.baseline :]

    async def reconcile(self) -> tuple[int, int, int]:
        report = await Reconciler(self.env.db, self.env.store, grace=0).run()
        assert not report.errors
        return report.resolved_committed, report.resolved_aborted, report.external_changes

    def merged_event(self) -> Event:
        return Event(
            EventType.PULL_REQUEST_STATUS_CHANGED,
            self.env.repo.name,
            "alice",
            {"pullRequestId": "1", "pullRequestStatus": "CLOSED"},
            repository_id=self.env.repo.id,
        )

    def join(self, old: str, new: str) -> AbstractAsyncContextManager[AsyncSession]:
        env = self.env
        return ref_update(
            env.db, env.server_git, env.path, env.repo.id, ref=MAIN, old=old, new=new, actor="alice"
        )


def _run(
    tmp_path: Path,
    database_factory: Callable[[Path], str],
    body: Callable[[Setup], Awaitable[None]],
) -> None:
    """Three commits in the repository, `main` at the first and the ledger agreeing."""

    async def setup(env: Env) -> None:
        c1 = env.git.commit(env.work)
        env.push()
        c2 = env.git.commit(env.work)
        c3 = env.git.commit(env.work)
        env.git("push", "-q", "origin", f"{c3}:refs/keep/c3", cwd=env.work)
        setup = Setup(env, c1, c2, c3, 0)
        assert (await setup.reconcile())[2] == 2  # the pushes above bypassed the server
        setup.baseline = len(await env.events())
        await body(setup)

    data = tmp_path / "db"
    data.mkdir()
    run_in_repo(tmp_path, setup, database_factory(data))


def test_caller_writes_commit_with_the_ref_event(
    tmp_path: Path, database_factory: Callable[[Path], str]
) -> None:
    async def body(s: Setup) -> None:
        async with ref_update(
            s.env.db, s.env.server_git, s.env.path, s.env.repo.id,
            ref=MAIN, old=s.c1, new=s.c2, actor="alice",
        ) as session:  # fmt: skip
            assert s.env.bare("rev-parse", "main") == s.c2
            record_event(session, s.merged_event())
            # Nothing of the unit of work is visible before it commits.
            assert await s.new_events() == []
        events = await s.new_events()
        assert [e["type"] for e in events] == ["referenceUpdated", "pullRequestStatusChanged"]
        assert events[0]["actor"] == "alice"
        assert events[0]["detail"]["commitId"] == s.c2  # type: ignore[index]
        assert events[0]["detail"]["transport"] == "api"  # type: ignore[index]
        assert (await s.env.ledger())[MAIN] == s.c2
        assert ("refs/heads/main", "committed", "api") in await s.env.updates()
        assert await s.reconcile() == (0, 0, 0)

    _run(tmp_path, database_factory, body)


def test_caller_failure_after_the_move_leaves_the_row_to_the_reconciler(
    tmp_path: Path, database_factory: Callable[[Path], str]
) -> None:
    async def body(s: Setup) -> None:
        with pytest.raises(CallerFailed):
            async with ref_update(
                s.env.db, s.env.server_git, s.env.path, s.env.repo.id,
                ref=MAIN, old=s.c1, new=s.c2, actor="alice",
            ) as session:  # fmt: skip
                record_event(session, s.merged_event())
                raise CallerFailed
        # The ref moved; SQL holds none of the unit of work, only the durable row.
        assert s.env.bare("rev-parse", "main") == s.c2
        assert await s.new_events() == []
        assert (await s.env.ledger())[MAIN] == s.c1
        assert ("refs/heads/main", "prepared", "api") in await s.env.updates()

        assert await s.reconcile() == (1, 0, 0)
        events = await s.new_events()
        assert [(e["type"], e["actor"]) for e in events] == [("referenceUpdated", "alice")]
        assert events[0]["detail"]["commitId"] == s.c2  # type: ignore[index]
        assert events[0]["detail"]["oldCommitId"] == s.c1  # type: ignore[index]
        assert (await s.env.ledger())[MAIN] == s.c2
        assert ("refs/heads/main", "committed", "api") in await s.env.updates()
        assert await s.reconcile() == (0, 0, 0)
        assert len(await s.new_events()) == 1

    _run(tmp_path, database_factory, body)


def test_a_crash_between_the_move_and_the_settle_is_settled_by_the_reconciler(
    tmp_path: Path, database_factory: Callable[[Path], str]
) -> None:
    async def body(s: Setup) -> None:
        env = s.env
        prepared = await prepare_ref_update(
            env.db, env.server_git, env.path, env.repo.id,
            ref="refs/heads/topic", old=ZERO_OID, new=s.c3, actor="bob",
        )  # fmt: skip
        await prepared.apply()
        # The process "dies" here: settle() never runs.
        assert await env.updates() == [("refs/heads/topic", "prepared", "api")]
        assert await s.reconcile() == (1, 0, 0)
        events = await s.new_events()
        assert [(e["type"], e["actor"]) for e in events] == [("referenceCreated", "bob")]
        assert (await env.ledger())["refs/heads/topic"] == s.c3

    _run(tmp_path, database_factory, body)


def test_settle_after_the_reconciler_writes_no_second_event(
    tmp_path: Path, database_factory: Callable[[Path], str]
) -> None:
    async def body(s: Setup) -> None:
        env = s.env
        prepared = await prepare_ref_update(
            env.db, env.server_git, env.path, env.repo.id,
            ref=MAIN, old=s.c1, new=s.c2, actor="alice",
        )  # fmt: skip
        await prepared.apply()
        assert await s.reconcile() == (1, 0, 0)  # a caller slower than the grace
        async with env.db.session() as session:
            assert await prepared.settle(session) is None
            record_event(session, s.merged_event())
        types = [e["type"] for e in await s.new_events()]
        assert types == ["referenceUpdated", "pullRequestStatusChanged"]

    _run(tmp_path, database_factory, body)


def test_compare_and_swap_failure_is_ref_moved_and_changes_nothing(
    tmp_path: Path, database_factory: Callable[[Path], str]
) -> None:
    async def body(s: Setup) -> None:
        ran = False
        with pytest.raises(RefMoved):
            async with s.join(old=s.c2, new=s.c3):
                ran = True
        with pytest.raises(RefMoved):  # creating a ref that exists
            await update_ref(
                s.env.db, s.env.server_git, s.env.path, s.env.repo.id,
                ref=MAIN, old=ZERO_OID, new=s.c3, actor="alice",
            )  # fmt: skip
        with pytest.raises(RefMoved):  # deleting a ref that is gone
            await update_ref(
                s.env.db, s.env.server_git, s.env.path, s.env.repo.id,
                ref="refs/heads/gone", old=s.c1, new=ZERO_OID, actor="alice",
            )  # fmt: skip
        assert not ran
        assert s.env.bare("rev-parse", "main") == s.c1
        assert await s.new_events() == []
        assert (await s.env.ledger())[MAIN] == s.c1
        states = [state for _, state, _ in await s.env.updates()]
        assert states == ["aborted"] * 3
        assert await s.reconcile() == (0, 0, 0)

    _run(tmp_path, database_factory, body)


def test_other_git_failures_are_git_errors_not_ref_moved(
    tmp_path: Path, database_factory: Callable[[Path], str]
) -> None:
    async def body(s: Setup) -> None:
        env = s.env
        # A lock left by a crashed git: the ref still holds `old`, git cannot move it.
        lock = env.path / "refs" / "heads" / "main.lock"
        lock.write_text("")
        with pytest.raises(GitError) as caught:
            await update_ref(
                env.db, env.server_git, env.path, env.repo.id,
                ref=MAIN, old=s.c1, new=s.c2, actor="alice", kind=RefKind.FAST_FORWARD,
            )  # fmt: skip
        assert not isinstance(caught.value, RefMoved)
        lock.unlink()
        # An object the repository does not have.
        with pytest.raises(GitError):
            await update_ref(
                env.db, env.server_git, env.path, env.repo.id,
                ref=MAIN, old=s.c1, new="1" * 40, actor="alice", kind=RefKind.FORCED,
            )  # fmt: skip
        # `refs/heads/main/x` cannot exist next to `refs/heads/main`.
        with pytest.raises(InvalidBranchName):
            await update_ref(
                env.db, env.server_git, env.path, env.repo.id,
                ref="refs/heads/main/x", old=ZERO_OID, new=s.c2, actor="alice",
            )  # fmt: skip
        assert env.bare("rev-parse", "main") == s.c1
        assert await s.new_events() == []
        states = [state for _, state, _ in await env.updates()]
        assert states == ["aborted"] * 3
        # The failures left nothing behind: the same update now goes through.
        await update_ref(
            env.db, env.server_git, env.path, env.repo.id,
            ref=MAIN, old=s.c1, new=s.c2, actor="alice",
        )  # fmt: skip
        assert [e["type"] for e in await s.new_events()] == ["referenceUpdated"]

    _run(tmp_path, database_factory, body)
