"""The audit log's rules (what is kept) and its writer (batches, retention) on SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from auth.authorizer import Action, AuthzRequest, Decision, Effect
from auth.principal import Principal
from gitserver.audit import (
    AuditLog,
    AuditQuery,
    FailedLogin,
    canonical_action,
    is_mutating,
    list_records,
    record_json,
)
from gitserver.db import Database
from gitserver.db.models import AuditRecord

ALICE = Principal("AIDAALICE", "alice", "arn:aws:iam::000000000000:user/alice")
ARN = "arn:aws:codecommit:us-east-1:000000000000:repo"


@pytest.mark.parametrize(
    ("action", "mutating"),
    [
        pytest.param("codecommit:GitPush", True, id="push"),
        pytest.param("codecommit:GitPull", False, id="pull"),
        pytest.param("codecommit:gitpull", False, id="pull-any-case"),
        pytest.param("codecommit:CreateRepository", True, id="create"),
        pytest.param("codecommit:DeleteRepository", True, id="delete"),
        pytest.param("codecommit:GetRepository", False, id="get"),
        pytest.param("codecommit:ListRepositories", False, id="list"),
        pytest.param("codecommit:DescribePullRequestEvents", False, id="describe"),
        pytest.param("codecommit:BatchGetRepositories", False, id="batch-get"),
        pytest.param("codecommit:BatchDescribeMergeConflicts", True, id="batch-other"),
        pytest.param("codecommit:UpdateDefaultBranch", True, id="update"),
        pytest.param("codecommit:PutFile", True, id="put"),
        pytest.param("iam:ListSSHPublicKeys", False, id="iam-list"),
        pytest.param("iam:UploadSSHPublicKey", True, id="iam-upload"),
    ],
)
def test_mutating_actions(action: str, mutating: bool) -> None:
    assert is_mutating(action) is mutating


def test_canonical_action() -> None:
    assert canonical_action("gitpush") == "codecommit:GitPush"
    assert canonical_action("codecommit:GITPULL") == "codecommit:GitPull"
    assert canonical_action("iam:Whatever") == "iam:Whatever"


def _decision(action: Action, effect: Effect) -> Decision:
    return Decision(effect, str(action), ARN, "test")


def _request(action: Action) -> AuthzRequest:
    context = {
        "aws:SourceIp": "10.0.0.7",
        "gitserver:Transport": "ssh",
        "gitserver:UserAgent": "SSH-2.0-OpenSSH_9.6",
        "gitserver:RequestId": "req-1",
        "codecommit:References": ["refs/heads/main"],
    }
    return AuthzRequest(ALICE, action, ARN, context)


def _run(tmp_path: Path, body: Callable[[Database], Awaitable[None]]) -> None:
    async def main() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        await db.upgrade()
        try:
            await body(db)
        finally:
            await db.close()

    asyncio.run(main())


def test_records_mutations_and_denials_in_batches(tmp_path: Path) -> None:
    async def body(db: Database) -> None:
        log = AuditLog(db, 90, interval=0.05)
        log.start()
        log(_request(Action.GIT_PUSH), _decision(Action.GIT_PUSH, Effect.ALLOWED))
        log(_request(Action.GIT_PULL), _decision(Action.GIT_PULL, Effect.ALLOWED))  # not kept
        log(_request(Action.GIT_PULL), _decision(Action.GIT_PULL, Effect.IMPLICIT_DENY))
        assert log.pending() == 2
        for _ in range(100):
            if log.pending() == 0:
                break
            await asyncio.sleep(0.02)
        log(_request(Action.GIT_PUSH), _decision(Action.GIT_PUSH, Effect.EXPLICIT_DENY))
        await log.close()  # flushes what is still queued
        async with db.reader() as session:
            rows = await list_records(session, AuditQuery())
            pushes = await list_records(session, AuditQuery(action="GitPush", user="alice"))
        assert [(r.action, r.decision) for r in rows] == [
            ("codecommit:GitPush", "explicitDeny"),
            ("codecommit:GitPull", "implicitDeny"),
            ("codecommit:GitPush", "allowed"),
        ]
        assert len(pushes) == 2
        newest = rows[0]
        assert newest.error_code == "AccessDeniedException"
        assert (newest.source_ip, newest.transport) == ("10.0.0.7", "ssh")
        assert newest.request_id == "req-1"
        assert newest.user_agent == "SSH-2.0-OpenSSH_9.6"
        assert newest.principal_arn == ALICE.arn
        assert newest.detail == {"references": ["refs/heads/main"]}
        assert rows[2].error_code == ""

    _run(tmp_path, body)


def test_queue_is_bounded(tmp_path: Path) -> None:
    async def body(db: Database) -> None:
        log = AuditLog(db, 90, capacity=3)
        for _ in range(5):
            log(_request(Action.GIT_PUSH), _decision(Action.GIT_PUSH, Effect.ALLOWED))
        assert (log.pending(), log.dropped) == (3, 2)
        assert await log.flush() == 3

    _run(tmp_path, body)


def test_retention_purges_old_records(tmp_path: Path) -> None:
    async def body(db: Database) -> None:
        now = datetime.now(UTC)
        log = AuditLog(db, 90)
        for age in (0, 89, 91, 400):
            log(_request(Action.GIT_PUSH), _decision(Action.GIT_PUSH, Effect.ALLOWED))
            log._queue[-1]["time"] = now - timedelta(days=age)
        await log.flush()
        assert await log.purge(now) == 2
        async with db.reader() as session:
            times = (await session.scalars(select(AuditRecord.time))).all()
        assert sorted((now - t).days for t in times) == [0, 89]
        assert await AuditLog(db, 0).purge(now + timedelta(days=10_000)) == 0  # 0: forever
        async with db.reader() as session:
            assert await session.scalar(select(func.count()).select_from(AuditRecord)) == 2

    _run(tmp_path, body)


def _failure(user: str = "mallory") -> FailedLogin:
    return FailedLogin(
        claimed_user=user,
        method="basic",
        reason="invalid user name or password",
        error_code="AuthenticationFailed",
        source_ip="10.0.0.9",
        user_agent="git/2.39",
        transport="http",
        request_id="req-9",
        resource=ARN,
        detail={"service": "git-upload-pack"},
    )


def test_failed_logins_are_recorded_and_take_a_bounded_share(tmp_path: Path) -> None:
    async def body(db: Database) -> None:
        log = AuditLog(db, 90, capacity=8)
        for _ in range(5):
            log.record_failed_login(_failure())
        assert (log.pending(), log.dropped) == (2, 3)  # a quarter of the queue
        for _ in range(6):
            log(_request(Action.GIT_PUSH), _decision(Action.GIT_PUSH, Effect.ALLOWED))
        assert log.pending() == 8  # decisions still had room
        assert await log.flush() == 8
        log.record_failed_login(_failure("x" * 100))  # room again once written
        assert await log.flush() == 1
        async with db.reader() as session:
            rows = await list_records(session, AuditQuery(action="Authenticate"))
        assert len(rows) == 3
        assert {r.decision for r in rows} == {"authFailed"}
        assert rows[0].principal == "x" * 64
        record = record_json(rows[1])
        assert record["action"] == "gitserver:Authenticate"
        assert record["userName"] == "mallory" and record["userArn"] == ""
        assert record["errorCode"] == "AuthenticationFailed"
        assert (record["sourceIPAddress"], record["transport"]) == ("10.0.0.9", "http")
        assert (record["requestId"], record["userAgent"]) == ("req-9", "git/2.39")
        assert record["reason"] == "invalid user name or password"
        assert (record["method"], record["service"]) == ("basic", "git-upload-pack")

    _run(tmp_path, body)
