from __future__ import annotations

import json
from dataclasses import replace

from auth.authorizer import Action, Authorizer, AuthzRequest, Decision, Effect
from auth.policy import MANAGED_POLICIES, compile_policy
from auth.principal import Principal

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
