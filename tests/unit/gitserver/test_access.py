"""The one access check (`gitserver.access`): request facts, targets with their tags,
decisions in order, the rows handed back, and AWS's message on a denial."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from auth.authorizer import Action, Authorizer, AuthzRequest, Decision
from auth.policy import MANAGED_POLICIES, compile_policy
from auth.principal import Principal
from gitserver.access import Access, AccessDenied, Target, request_info
from gitserver.clientip import parse_networks
from gitserver.db import Database, Repository
from gitserver.store.repositories import Endpoints

ENDPOINTS = Endpoints("eu-west-3", "000000000000", "http://h", "ssh://h")
ARN = ENDPOINTS.arn("demo")
READ = compile_policy(MANAGED_POLICIES["GitServerReadOnly"], "GitServerReadOnly")
BOB = Principal("AIDA2", "bob", "arn:aws:iam::000000000000:user/bob")
TEAM_ONLY = compile_policy(
    json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["codecommit:GitPush", "codecommit:GitPull"],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}
                    },
                }
            ],
        }
    ),
    "TeamOnly",
)
INFO = request_info("ssh", "192.0.2.7", secure=True, user_agent="SSH-2.0-OpenSSH_9.6")

Seen = list[tuple[AuthzRequest, Decision]]


def _run(tmp_path: Path, body: Callable[[Access, Seen], Awaitable[None]]) -> None:
    async def main() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        await db.upgrade()
        async with db.session() as session:
            session.add(Repository(id="r-1", name="demo", tags={"team": "red"}))
        seen: Seen = []
        access = Access(Authorizer(audit=lambda r, d: seen.append((r, d))), ENDPOINTS, db)
        try:
            await body(access, seen)
        finally:
            await db.close()

    asyncio.run(main())


def test_request_info_believes_forwarded_for_only_through_trusted_proxies() -> None:
    proxies = parse_networks(["10.0.0.0/8"])
    via = request_info(
        "api", "10.1.2.3", secure=True, forwarded_for="192.0.2.9", trusted_proxies=proxies
    )
    direct = request_info("http", "198.51.100.4", secure=False, forwarded_for="192.0.2.9")
    assert (via.source_ip, via.transport, via.secure) == ("192.0.2.9", "api", True)
    assert direct.source_ip == "198.51.100.4"
    assert via.request_id != direct.request_id


def test_decide_builds_every_context_key(tmp_path: Path) -> None:
    """Issue 4 item 4's keys, as every door builds them; the principal's tags travel on
    the `Principal` and reach `evaluate` as `aws:PrincipalTag/*`."""

    async def body(access: Access, seen: Seen) -> None:
        target = Target(ARN, "demo", ("refs/heads/main",), {"team": "red"})
        access.decide(BOB, Action.GIT_PUSH, target, INFO)
        context = seen[-1][0].context
        clock = ("aws:CurrentTime", "aws:EpochTime")
        timeless = {k: v for k, v in context.items() if k not in clock}
        assert timeless == {
            "aws:username": BOB.name,
            "aws:userid": BOB.user_id,
            "aws:SourceIp": "192.0.2.7",
            "aws:SecureTransport": True,
            "aws:RequestedRegion": "eu-west-3",
            "aws:ResourceTag/team": "red",
            "codecommit:References": ["refs/heads/main"],
            "gitserver:Transport": "ssh",
            "gitserver:UserAgent": "SSH-2.0-OpenSSH_9.6",
            "gitserver:RequestId": INFO.request_id,
        }
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(context["aws:CurrentTime"]))
        assert isinstance(context["aws:EpochTime"], int)
        access.decide(BOB, Action.GIT_PULL, Target(ARN), replace(INFO, region="us-west-2"))
        assert seen[-1][0].context["aws:RequestedRegion"] == "us-west-2"
        assert "codecommit:References" not in seen[-1][0].context

    _run(tmp_path, body)


def test_admit_decides_on_the_arn_before_saying_a_name_is_unknown(tmp_path: Path) -> None:
    async def body(access: Access, seen: Seen) -> None:
        reader = replace(BOB, policies=(READ,))
        row = await access.admit(reader, Action.GIT_PULL, "demo", INFO)
        assert row is not None and row.id == "r-1"
        assert await access.admit(reader, Action.GIT_PULL, "nope", INFO) is None
        for name in ("demo", "nope"):  # forbidden and unknown look alike
            with pytest.raises(AccessDenied) as denied:
                await access.admit(reader, Action.GIT_PUSH, name, INFO)
            assert denied.value.message == denied.value.decision.message(reader)
            assert "codecommit:GitPush" in denied.value.message
        assert [(str(r.action), r.resource) for r, _ in seen] == [
            ("codecommit:GitPull", ARN),
            ("codecommit:GitPull", ENDPOINTS.arn("nope")),
            ("codecommit:GitPush", ARN),
            ("codecommit:GitPush", ENDPOINTS.arn("nope")),
        ]
        assert "codecommit:References" not in seen[2][0].context  # AWS's first phase

    _run(tmp_path, body)


def test_tags_come_from_the_row_and_unknown_names_have_none(tmp_path: Path) -> None:
    async def body(access: Access, seen: Seen) -> None:
        red = replace(BOB, tags={"team": "red"}, policies=(TEAM_ONLY,))
        blue = replace(red, tags={"team": "blue"})
        rows = await access.authorize(red, Action.GIT_PULL, [access.repository("demo")], INFO)
        assert list(rows) == ["demo"]
        assert seen[-1][0].context["aws:ResourceTag/team"] == "red"
        with pytest.raises(AccessDenied):
            await access.admit(blue, Action.GIT_PULL, "demo", INFO)
        with pytest.raises(AccessDenied):
            await access.admit(red, Action.GIT_PULL, "nope", INFO)
        assert not any(k.startswith("aws:ResourceTag/") for k in seen[-1][0].context)

    _run(tmp_path, body)


def test_authorize_stops_at_the_first_denied_target(tmp_path: Path) -> None:
    async def body(access: Access, seen: Seen) -> None:
        targets = [Target("*"), access.repository("demo"), access.repository("other")]
        with pytest.raises(AccessDenied) as denied:
            await access.authorize(BOB, Action.GIT_PULL, targets, INFO)
        assert denied.value.decision.resource == "*"
        assert len(seen) == 1

    _run(tmp_path, body)


def test_denied_refs_decides_each_ref_with_codecommit_references(tmp_path: Path) -> None:
    async def body(access: Access, seen: Seen) -> None:
        red = replace(BOB, tags={"team": "red"}, policies=(TEAM_ONLY,))
        rows = await access.authorize(red, Action.GIT_PUSH, [access.repository("demo")], INFO)
        target = access.repository("demo", rows["demo"])
        refs = ["refs/heads/main", "refs/tags/v1"]
        assert access.denied_refs(red, target, refs, INFO) == {}
        assert [r.context["codecommit:References"] for r, _ in seen[-2:]] == [[ref] for ref in refs]
        denied = access.denied_refs(replace(red, tags={}), target, refs, INFO)
        assert list(denied) == refs
        assert "codecommit:GitPush" in denied["refs/heads/main"]

    _run(tmp_path, body)


def test_preview_decides_like_decide_and_records_nothing(tmp_path: Path) -> None:
    """What a front end shows is chosen with `preview`; only requests reach the audit log."""

    async def body(access: Access, seen: Seen) -> None:
        reader = replace(BOB, policies=(READ,))
        target = Target(ARN, "demo", (), {"team": "red"})
        for action in (Action.GET_FILE, Action.MERGE_BRANCHES_BY_SQUASH):
            preview = access.preview(reader, action, target, INFO)
            assert preview.allowed == access.decide(reader, action, target, INFO).allowed
        assert len(seen) == 2  # the two `decide` calls, not the previews
        assert access.preview(reader, Action.GET_FILE, target, INFO).allowed
        assert not access.preview(reader, Action.MERGE_BRANCHES_BY_SQUASH, target, INFO).allowed

    _run(tmp_path, body)
