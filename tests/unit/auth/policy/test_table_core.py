"""Decision table: evaluation order, Action/Resource matching, Not* elements, patterns.

Each id names the IAM UG / CodeCommit UG rule the row checks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from auth.policy import MANAGED_POLICIES, PolicyRequest
from tests.unit.auth.policy.cases import (
    ACCOUNT,
    OTHER,
    PULL,
    PUSH,
    REPO,
    A,
    D,
    Doc,
    N,
    allow,
    decide,
    deny,
    req,
    row,
)

EVALUATION = [
    row("default-implicit-deny-without-policies", [], req(), N),
    row("default-implicit-deny-empty-match", [[allow(PUSH)]], req(), N),
    row("allow-statement-allows", [[allow()]], req(), A),
    row("deny-alone-is-explicit-deny", [[deny()]], req(), D),
    row("explicit-deny-overrides-allow-same-policy", [[allow(), deny()]], req(), D),
    row("explicit-deny-overrides-allow-other-policy", [[allow()], [deny()]], req(), D),
    row("explicit-deny-regardless-of-statement-order", [[deny(), allow()]], req(), D),
    row("explicit-deny-regardless-of-policy-order", [[deny()], [allow()]], req(), D),
    row("deny-other-action-does-not-apply", [[allow(), deny(PUSH)]], req(), A),
    row("deny-other-resource-does-not-apply", [[allow(), deny(PULL, OTHER)]], req(), A),
    row("allow-other-resource-implicit-deny", [[allow(PULL, OTHER)]], req(), N),
    row(
        "deny-with-false-condition-does-not-apply",
        [[allow(), deny(condition={"Bool": {"aws:SecureTransport": "false"}})]],
        req(context={"aws:SecureTransport": True}),
        A,
    ),
    row(
        "allow-with-false-condition-implicit-deny",
        [[allow(condition={"Bool": {"aws:SecureTransport": "true"}})]],
        req(context={"aws:SecureTransport": False}),
        N,
    ),
    row(
        "statement-as-single-object",
        [{"Version": "2012-10-17", "Statement": allow()}],
        req(),
        A,
    ),
    row("any-of-several-allows-suffices", [[allow(PUSH), allow(PULL)]], req(), A),
    row("allow-in-any-attached-policy-suffices", [[allow(PUSH)], [allow()]], req(), A),
]

ACTIONS = [
    row("action-case-insensitive-policy-lower", [[allow("codecommit:gitpull")]], req(), A),
    row("action-case-insensitive-policy-upper", [[allow("CODECOMMIT:GITPULL")]], req(), A),
    row("action-case-insensitive-request", [[allow()]], req("CodeCommit:GITPULL"), A),
    row("action-star-matches-every-action", [[allow("*")]], req("iam:ListUsers"), A),
    row("action-service-star", [[allow("codecommit:*")]], req(), A),
    row("action-service-star-other-service", [[allow("codecommit:*")]], req("iam:ListUsers"), N),
    row("action-prefix-wildcard", [[allow("codecommit:Get*")]], req("codecommit:GetRepository"), A),
    row("action-prefix-wildcard-no-match", [[allow("codecommit:Get*")]], req(), N),
    row("action-question-mark-one-char", [[allow("codecommit:Git?ull")]], req(), A),
    row("action-question-mark-not-two-chars", [[allow("codecommit:Git?ll")]], req(), N),
    row("action-infix-wildcard", [[allow("iam:*SSHPublicKey*")]], req("iam:ListSSHPublicKeys"), A),
    row("action-list-is-or", [[allow([PUSH, PULL])]], req(), A),
    row("action-whole-name-not-prefix", [[allow("codecommit:Git")]], req(), N),
    row("action-wildcard-in-service-prefix", [[allow("code*:GitPull")]], req(), A),
    row("action-wildcard-case-insensitive", [[allow("CodeCommit:git*")]], req(), A),
    row("action-star-matches-empty", [[allow("codecommit:GitPull*")]], req(), A),
]

RESOURCES = [
    row("resource-star-matches-any", [[allow(PULL, "*")]], req(), A),
    row("resource-exact-arn", [[allow(PULL, REPO)]], req(), A),
    row("resource-case-sensitive", [[allow(PULL, REPO.lower())]], req(), N),
    row("resource-repo-name-wildcard", [[allow(PULL, REPO.replace("MyRepo", "My*"))]], req(), A),
    row(
        "resource-repo-wildcard-no-match", [[allow(PULL, REPO.replace("MyRepo", "Ot*"))]], req(), N
    ),
    row("resource-question-mark", [[allow(PULL, REPO.replace("MyRepo", "MyRep?"))]], req(), A),
    row(
        "resource-region-wildcard",
        [[allow(PULL, f"arn:aws:codecommit:*:{ACCOUNT}:MyRepo")]],
        req(),
        A,
    ),
    row(
        "resource-account-mismatch",
        [[allow(PULL, "arn:aws:codecommit:us-east-1:999:MyRepo")]],
        req(),
        N,
    ),
    row(
        "resource-region-mismatch",
        [[allow(PULL, REPO.replace("us-east-1", "eu-west-1"))]],
        req(),
        N,
    ),
    row("resource-list-is-or", [[allow(PULL, [OTHER, REPO])]], req(), A),
    row("resource-dot-is-literal", [[allow(PULL, REPO.replace("MyRepo", "My.epo"))]], req(), N),
    row("resource-plus-is-literal", [[allow(PULL, REPO.replace("MyRepo", "My+Repo"))]], req(), N),
    row("resource-star-spans-colons", [[allow(PULL, "arn:aws:*:*:*:*")]], req(), A),
    row("resource-star-matches-empty", [[allow(PULL, REPO + "*")]], req(), A),
    row("resource-whole-arn-not-prefix", [[allow(PULL, REPO.replace("MyRepo", "My"))]], req(), N),
    row(
        "resource-brackets-are-literal",
        [[allow(PULL, REPO.replace("MyRepo", "[M]yRepo"))]],
        req(resource=REPO.replace("MyRepo", "[M]yRepo")),
        A,
    ),
]

NEGATED_ELEMENTS = [
    row("NotAction-with-Allow-grants-others", [[allow(not_action="iam:*")]], req(), A),
    row("NotAction-with-Allow-excludes-listed", [[allow(not_action=PULL)]], req(), N),
    row("NotAction-with-Deny-denies-others", [[allow("*"), deny(not_action=PULL)]], req(PUSH), D),
    row("NotAction-with-Deny-spares-listed", [[allow("*"), deny(not_action=PULL)]], req(), A),
    row(
        "NotAction-wildcard-excludes",
        [[allow(not_action="codecommit:Get*")]],
        req("codecommit:GetBranch"),
        N,
    ),
    row("NotAction-wildcard-grants-rest", [[allow(not_action="codecommit:Get*")]], req(), A),
    row("NotAction-case-insensitive", [[allow(not_action="CODECOMMIT:gitpull")]], req(), N),
    row("NotResource-with-Allow-grants-others", [[allow(PULL, not_resource=OTHER)]], req(), A),
    row("NotResource-with-Allow-excludes-listed", [[allow(PULL, not_resource=REPO)]], req(), N),
    row(
        "NotResource-with-Deny-denies-others",
        [[allow(), deny(PULL, not_resource=REPO)]],
        req(resource=OTHER),
        D,
    ),
    row(
        "NotResource-with-Deny-spares-listed", [[allow(), deny(PULL, not_resource=REPO)]], req(), A
    ),
    row(
        "NotResource-wildcard",
        [[allow(PULL, not_resource=REPO.replace("MyRepo", "My*"))]],
        req(),
        N,
    ),
    row(
        "NotAction-and-NotResource-together",
        [[allow(not_action=PUSH, not_resource=OTHER)]],
        req(),
        A,
    ),
]

PROTECT_MAIN = deny(
    [
        PUSH,
        "codecommit:DeleteBranch",
        "codecommit:PutFile",
        "codecommit:MergeBranchesByFastForward",
        "codecommit:MergePullRequestByThreeWay",
    ],
    REPO,
    {
        "StringEqualsIfExists": {"codecommit:References": ["refs/heads/main", "refs/heads/prod"]},
        "Null": {"codecommit:References": "false"},
    },
)
WITHOUT_NULL = {
    **PROTECT_MAIN,
    "Condition": {"StringEqualsIfExists": PROTECT_MAIN["Condition"]["StringEqualsIfExists"]},
}
READ_ONLY = json.loads(MANAGED_POLICIES["GitServerReadOnly"])
POWER_USER = json.loads(MANAGED_POLICIES["GitServerPowerUser"])
FULL_ACCESS = json.loads(MANAGED_POLICIES["GitServerFullAccess"])
PUSH_MAIN_ONLY = allow(
    [PUSH, "codecommit:Merge*"],
    REPO,
    {"StringEqualsIfExists": {"codecommit:References": ["refs/heads/main"]}},
)


def refs(*names: str) -> dict[str, Any]:
    return {"codecommit:References": [f"refs/{n}" for n in names]}


PROTECTED: list[Doc] = [POWER_USER, [PROTECT_MAIN]]
BRANCH_PROTECTION = [
    row("branch-protection-advertisement-References-absent-Deny-skipped", PROTECTED, req(PUSH), A),
    row("branch-protection-push-main-denied", PROTECTED, req(PUSH, context=refs("heads/main")), D),
    row("branch-protection-push-prod-denied", PROTECTED, req(PUSH, context=refs("heads/prod")), D),
    row(
        "branch-protection-push-feature-allowed",
        PROTECTED,
        req(PUSH, context=refs("heads/feature/x")),
        A,
    ),
    row("branch-protection-tags-unaffected", PROTECTED, req(PUSH, context=refs("tags/v1")), A),
    row(
        "branch-protection-ref-names-case-sensitive",
        PROTECTED,
        req(PUSH, context=refs("heads/Main")),
        A,
    ),
    row(
        "branch-protection-any-protected-ref-in-push-denies",
        PROTECTED,
        req(PUSH, context=refs("heads/feature/x", "heads/main")),
        D,
    ),
    row(
        "branch-protection-DeleteBranch-api-denied",
        PROTECTED,
        req("codecommit:DeleteBranch", context=refs("heads/main")),
        D,
    ),
    row(
        "branch-protection-other-repo-unaffected",
        PROTECTED,
        req(PUSH, OTHER, refs("heads/main")),
        A,
    ),
    row(
        "branch-protection-GitPull-unaffected", PROTECTED, req(PULL, context=refs("heads/main")), A
    ),
    row(
        "branch-protection-Null-required-else-advertisement-denied",
        [POWER_USER, [WITHOUT_NULL]],
        req(PUSH),
        D,
    ),
    row("allow-companion-advertisement-passes", [READ_ONLY, [PUSH_MAIN_ONLY]], req(PUSH), A),
    row(
        "allow-companion-push-main-allowed",
        [READ_ONLY, [PUSH_MAIN_ONLY]],
        req(PUSH, context=refs("heads/main")),
        A,
    ),
    row(
        "allow-companion-push-feature-implicit-deny",
        [READ_ONLY, [PUSH_MAIN_ONLY]],
        req(PUSH, context=refs("heads/feature/x")),
        N,
    ),
    row("allow-companion-GitPull-from-ReadOnly", [READ_ONLY, [PUSH_MAIN_ONLY]], req(), A),
]

OWN_KEY = f"arn:aws:iam::{ACCOUNT}:user/bob"
MANAGED = [
    row("managed-ReadOnly-GitPull", [READ_ONLY], req(), A),
    row("managed-ReadOnly-no-GitPush", [READ_ONLY], req(PUSH), N),
    row("managed-ReadOnly-no-CreateBranch", [READ_ONLY], req("codecommit:CreateBranch"), N),
    row("managed-ReadOnly-Get", [READ_ONLY], req("codecommit:GetRepository"), A),
    row(
        "managed-ReadOnly-list-own-ssh-keys",
        [READ_ONLY],
        req("iam:ListSSHPublicKeys", OWN_KEY, username="bob"),
        A,
    ),
    row(
        "managed-ReadOnly-no-upload-ssh-key",
        [READ_ONLY],
        req("iam:UploadSSHPublicKey", OWN_KEY, username="bob"),
        N,
    ),
    row("managed-PowerUser-GitPush", [POWER_USER], req(PUSH), A),
    row("managed-PowerUser-CreateRepository", [POWER_USER], req("codecommit:CreateRepository"), A),
    row(
        "managed-PowerUser-no-DeleteRepository", [POWER_USER], req("codecommit:DeleteRepository"), N
    ),
    row(
        "managed-PowerUser-no-DeleteApprovalRuleTemplate",
        [POWER_USER],
        req("codecommit:DeleteApprovalRuleTemplate", "*"),
        N,
    ),
    row(
        "managed-PowerUser-own-ssh-key",
        [POWER_USER],
        req("iam:UploadSSHPublicKey", OWN_KEY, username="bob"),
        A,
    ),
    row(
        "managed-PowerUser-other-users-ssh-key",
        [POWER_USER],
        req("iam:UploadSSHPublicKey", OWN_KEY, username="alice"),
        N,
    ),
    row(
        "managed-FullAccess-DeleteRepository", [FULL_ACCESS], req("codecommit:DeleteRepository"), A
    ),
    row(
        "managed-FullAccess-own-git-credential",
        [FULL_ACCESS],
        req("iam:CreateServiceSpecificCredential", OWN_KEY, username="bob"),
        A,
    ),
    row(
        "managed-self-service-needs-username-variable",
        [FULL_ACCESS],
        req("iam:CreateServiceSpecificCredential", OWN_KEY),
        N,
    ),
    row("managed-FullAccess-ListUsers", [FULL_ACCESS], req("iam:ListUsers", "*"), A),
    row(
        "managed-FullAccess-no-other-iam",
        [FULL_ACCESS],
        req("iam:CreateUser", OWN_KEY, username="bob"),
        N,
    ),
    row(
        "managed-explicit-deny-beats-FullAccess",
        [FULL_ACCESS, [deny("codecommit:Delete*")]],
        req("codecommit:DeleteRepository"),
        D,
    ),
]


@pytest.mark.parametrize(
    ("policies", "request_", "expected"),
    EVALUATION + ACTIONS + RESOURCES + NEGATED_ELEMENTS + BRANCH_PROTECTION + MANAGED,
)
def test_decision(policies: list[Doc], request_: PolicyRequest, expected: str) -> None:
    assert decide(policies, request_) == expected
