from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from auth.authorizer import Action, Authorizer, AuthzRequest, Decision, Effect
from auth.policy import MANAGED_POLICIES, compile_policy
from auth.principal import Principal
from gitserver.gitcmd import Git
from gitserver.store.repositories import Endpoints
from gitserver.transport.engine import RECEIVE_PACK, UPLOAD_PACK, GitEngine, RequestInfo
from gitserver.transport.pktline import Command

ARN = "arn:aws:codecommit:us-east-1:000000000000:demo"
FULL = compile_policy(MANAGED_POLICIES["GitServerFullAccess"], "GitServerFullAccess")
READ = compile_policy(MANAGED_POLICIES["GitServerReadOnly"], "GitServerReadOnly")
ADMIN = Principal(
    "AIDA1", "root", "arn:aws:iam::000000000000:user/root", is_admin=True, policies=(FULL,)
)
BOB = Principal("AIDA2", "bob", "arn:aws:iam::000000000000:user/bob")
DENY_PUSH = compile_policy(
    json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "NoPush", "Effect": "Deny", "Action": "codecommit:GitPush", "Resource": "*"}
            ],
        }
    ),
    "NoPush",
)

TEAM_ONLY = compile_policy(
    json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "codecommit:GitPush",
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


def test_policies_decide_and_nobody_is_allowed_without_one() -> None:
    authorizer = Authorizer()
    assert authorizer.authorize(ADMIN, Action.GIT_PUSH, ARN).effect is Effect.ALLOWED
    decision = authorizer.authorize(BOB, Action.GIT_PULL, ARN)
    assert decision.effect is Effect.IMPLICIT_DENY
    assert not decision.allowed
    reader = replace(BOB, policies=(READ,))
    assert authorizer.authorize(reader, Action.GIT_PULL, ARN).allowed
    assert authorizer.authorize(reader, Action.GIT_PUSH, ARN).effect is Effect.IMPLICIT_DENY


def test_an_explicit_deny_binds_administrators_too() -> None:
    admin = replace(ADMIN, policies=(FULL, DENY_PUSH))
    decision = Authorizer().authorize(admin, Action.GIT_PUSH, ARN)
    assert decision.effect is Effect.EXPLICIT_DENY
    assert decision.matched_statements == ("NoPush/NoPush",)
    assert "explicit deny" in decision.message(admin)


def test_every_decision_is_audited_with_its_reason() -> None:
    seen: list[tuple[AuthzRequest, Decision]] = []
    authorizer = Authorizer(audit=lambda request, decision: seen.append((request, decision)))
    authorizer.authorize(ADMIN, Action.GIT_PULL, ARN, {"aws:SourceIp": "127.0.0.1"})
    authorizer.authorize(BOB, Action.GIT_PUSH, ARN)
    assert [(r.principal.name, str(r.action), d.effect) for r, d in seen] == [
        ("root", "codecommit:GitPull", Effect.ALLOWED),
        ("bob", "codecommit:GitPush", Effect.IMPLICIT_DENY),
    ]
    assert seen[0][1].matched_statements == ("GitServerFullAccess/CodeCommitFullAccess",)
    assert "GitServerFullAccess/CodeCommitFullAccess" in seen[0][1].reason
    assert seen[0][0].context["aws:SourceIp"] == "127.0.0.1"


def test_denial_message_names_user_action_and_resource() -> None:
    decision = Authorizer().authorize(BOB, Action.GIT_PUSH, ARN)
    message = decision.message(BOB)
    assert BOB.arn in message and "codecommit:GitPush" in message and ARN in message


def test_git_front_end_checks_go_through_authorize(tmp_path: Path) -> None:
    """The engine both git front ends use asks `authorize` about GitPull and GitPush:
    the repository-level check without `codecommit:References`, then one per ref with it."""
    seen: list[AuthzRequest] = []
    engine = GitEngine(
        Git(tmp_path / "home"),
        Authorizer(audit=lambda request, decision: seen.append(request)),
        Endpoints("us-east-1", "000000000000", "http://h", "ssh://h"),
        hooks_dir=tmp_path,
        hook_socket=tmp_path / "socket",
    )
    info = RequestInfo("127.0.0.1", secure=False, transport="http")
    reader = replace(BOB, policies=(READ,))
    assert engine.authorize_service(reader, UPLOAD_PACK, "demo", info, {}).allowed
    assert not engine.authorize_service(reader, RECEIVE_PACK, "demo", info, {}).allowed
    zero = "0" * 40
    update = Command(zero, "1" * 40, "refs/heads/main")
    denied = engine.denied_refs(reader, "demo", [update], info, {})
    assert list(denied) == ["refs/heads/main"]
    assert "codecommit:GitPush" in denied["refs/heads/main"]
    assert [(str(r.action), r.resource) for r in seen] == [
        ("codecommit:GitPull", ARN),
        ("codecommit:GitPush", ARN),
        ("codecommit:GitPush", ARN),
    ]
    assert "codecommit:References" not in seen[1].context
    assert seen[2].context["codecommit:References"] == ["refs/heads/main"]


def test_engine_context_carries_every_issue_4_key(tmp_path: Path) -> None:
    """Issue 4 item 4's keys, as the front ends and pre-receive build them; the principal's
    tags travel on the `Principal` and reach `evaluate` as `aws:PrincipalTag/*`."""
    seen: list[AuthzRequest] = []
    engine = GitEngine(
        Git(tmp_path / "home"),
        Authorizer(audit=lambda request, decision: seen.append(request)),
        Endpoints("eu-west-3", "000000000000", "http://h", "ssh://h"),
        hooks_dir=tmp_path,
        hook_socket=tmp_path / "socket",
    )
    info = RequestInfo("192.0.2.7", secure=True, transport="ssh")
    context = engine.context(BOB, info, {"team": "red"})
    assert {
        "aws:username": context["aws:username"],
        "aws:userid": context["aws:userid"],
        "aws:SourceIp": context["aws:SourceIp"],
        "aws:SecureTransport": context["aws:SecureTransport"],
        "aws:RequestedRegion": context["aws:RequestedRegion"],
        "aws:ResourceTag/team": context["aws:ResourceTag/team"],
    } == {
        "aws:username": BOB.name,
        "aws:userid": BOB.user_id,
        "aws:SourceIp": "192.0.2.7",
        "aws:SecureTransport": True,
        "aws:RequestedRegion": "eu-west-3",
        "aws:ResourceTag/team": "red",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(context["aws:CurrentTime"]))
    assert isinstance(context["aws:EpochTime"], int)
    tagged = replace(BOB, tags={"team": "red"}, policies=(TEAM_ONLY,))
    update = Command("0" * 40, "1" * 40, "refs/heads/main")
    assert engine.denied_refs(tagged, "demo", [update], info, {"team": "red"}) == {}
    assert seen[-1].context["codecommit:References"] == ["refs/heads/main"]
    assert engine.denied_refs(tagged, "demo", [update], info, {"team": "blue"})
    assert engine.denied_refs(replace(tagged, tags={}), "demo", [update], info, {"team": "red"})
