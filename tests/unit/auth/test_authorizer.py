from __future__ import annotations

from auth.authorizer import Action, Authorizer, AuthzRequest, Decision, Effect
from auth.principal import Principal

ARN = "arn:aws:codecommit:us-east-1:000000000000:demo"
ADMIN = Principal("AIDA1", "root", "arn:aws:iam::000000000000:user/root", is_admin=True)
BOB = Principal("AIDA2", "bob", "arn:aws:iam::000000000000:user/bob")


def test_admin_is_allowed_and_everyone_else_implicitly_denied() -> None:
    authorizer = Authorizer()
    assert authorizer.authorize(ADMIN, Action.GIT_PUSH, ARN).effect is Effect.ALLOWED
    decision = authorizer.authorize(BOB, Action.GIT_PULL, ARN)
    assert decision.effect is Effect.IMPLICIT_DENY
    assert not decision.allowed


def test_every_decision_is_audited_with_its_reason() -> None:
    seen: list[tuple[AuthzRequest, Decision]] = []
    authorizer = Authorizer(audit=lambda request, decision: seen.append((request, decision)))
    authorizer.authorize(ADMIN, Action.GIT_PULL, ARN, {"aws:SourceIp": "127.0.0.1"})
    authorizer.authorize(BOB, Action.GIT_PUSH, ARN)
    assert [(r.principal.name, str(r.action), d.effect) for r, d in seen] == [
        ("root", "codecommit:GitPull", Effect.ALLOWED),
        ("bob", "codecommit:GitPush", Effect.IMPLICIT_DENY),
    ]
    assert seen[0][1].matched_statements == ("builtin:Administrator",)
    assert seen[0][0].context["aws:SourceIp"] == "127.0.0.1"


def test_denial_message_names_user_action_and_resource() -> None:
    decision = Authorizer().authorize(BOB, Action.GIT_PUSH, ARN)
    message = decision.message(BOB)
    assert BOB.arn in message and "codecommit:GitPush" in message and ARN in message
