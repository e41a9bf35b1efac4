"""Decision table: policy variables, defaults and escapes (IAM UG "Policy variables")."""

from __future__ import annotations

import pytest

from auth.policy import PolicyRequest
from tests.unit.auth.policy.cases import ACCOUNT, A, Doc, N, allow, decide, req, row

USER = f"arn:aws:iam::{ACCOUNT}:user/"
OWN = allow("iam:GetUser", f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}")
TEAM_REPO = allow(
    "codecommit:GitPull",
    f"arn:aws:codecommit:us-east-1:{ACCOUNT}:${{aws:PrincipalTag/team, 'shared'}}-*",
)
TEAM_REPO_ARN = f"arn:aws:codecommit:us-east-1:{ACCOUNT}:"
OLD = {"Version": "2008-10-17", "Statement": [OWN]}
NO_VERSION = {"Statement": [OWN]}


def repo_with(name_pattern: str) -> list[Doc]:
    return [[allow("codecommit:GitPull", f"arn:aws:codecommit:us-east-1:{ACCOUNT}:{name_pattern}")]]


def condition(op: str, key: str, value: str) -> list[Doc]:
    return [[allow(condition={op: {key: value}})]]


VARIABLES = [
    row(
        "variable-username-in-resource",
        [[OWN]],
        req("iam:GetUser", USER + "bob", username="bob"),
        A,
    ),
    row(
        "variable-username-other-user",
        [[OWN]],
        req("iam:GetUser", USER + "alice", username="bob"),
        N,
    ),
    row("variable-missing-resource-matches-nothing", [[OWN]], req("iam:GetUser", USER + "bob"), N),
    row(
        "variable-from-context-key",
        [[OWN]],
        req("iam:GetUser", USER + "bob", {"aws:username": "bob"}),
        A,
    ),
    row(
        "variable-principal-fields-override-context",
        [[OWN]],
        req("iam:GetUser", USER + "alice", {"aws:username": "alice"}, username="bob"),
        N,
    ),
    row(
        "variable-name-case-insensitive",
        repo_with("${AWS:UserName}"),
        req(resource=TEAM_REPO_ARN + "bob", username="bob"),
        A,
    ),
    row(
        "variable-default-when-missing", [[TEAM_REPO]], req(resource=TEAM_REPO_ARN + "shared-x"), A
    ),
    row(
        "variable-value-wins-over-default",
        [[TEAM_REPO]],
        req(resource=TEAM_REPO_ARN + "red-x", principal_tags={"team": "red"}),
        A,
    ),
    row(
        "variable-default-unused-when-value-present",
        [[TEAM_REPO]],
        req(resource=TEAM_REPO_ARN + "shared-x", principal_tags={"team": "red"}),
        N,
    ),
    row(
        "variable-principal-tag-key-case-insensitive",
        [[TEAM_REPO]],
        req(resource=TEAM_REPO_ARN + "red-x", principal_tags={"Team": "red"}),
        A,
    ),
    row(
        "variable-userid",
        repo_with("${aws:userid}"),
        req(resource=TEAM_REPO_ARN + "AIDA1", userid="AIDA1"),
        A,
    ),
    row(
        "variable-any-request-key",
        [[allow("codecommit:GitPull", f"arn:aws:codecommit:${{aws:RequestedRegion}}:{ACCOUNT}:*")]],
        req(context={"aws:RequestedRegion": "us-east-1"}),
        A,
    ),
    row(
        "variable-any-request-key-mismatch",
        [[allow("codecommit:GitPull", f"arn:aws:codecommit:${{aws:RequestedRegion}}:{ACCOUNT}:*")]],
        req(context={"aws:RequestedRegion": "eu-west-1"}),
        N,
    ),
    row(
        "variable-literal-under-2008-10-17",
        [OLD],
        req("iam:GetUser", USER + "bob", username="bob"),
        N,
    ),
    row(
        "variable-literal-text-under-2008-10-17",
        [OLD],
        req("iam:GetUser", USER + "${aws:username}"),
        A,
    ),
    row(
        "variable-literal-when-Version-missing",
        [NO_VERSION],
        req("iam:GetUser", USER + "bob", username="bob"),
        N,
    ),
    row(
        "escape-star-is-literal",
        repo_with("My${*}Repo"),
        req(resource=TEAM_REPO_ARN + "My*Repo"),
        A,
    ),
    row(
        "escape-star-not-wildcard",
        repo_with("My${*}Repo"),
        req(resource=TEAM_REPO_ARN + "MyXRepo"),
        N,
    ),
    row(
        "escape-question-is-literal",
        repo_with("My${?}Repo"),
        req(resource=TEAM_REPO_ARN + "My?Repo"),
        A,
    ),
    row(
        "escape-question-not-wildcard",
        repo_with("My${?}Repo"),
        req(resource=TEAM_REPO_ARN + "MyXRepo"),
        N,
    ),
    row(
        "escape-dollar", condition("StringEquals", "s:k", "a${$}b"), req(context={"s:k": "a$b"}), A
    ),
    row(
        "variable-value-star-is-literal",
        repo_with("${aws:PrincipalTag/team}"),
        req(principal_tags={"team": "*"}),
        N,
    ),
    row(
        "variable-multivalued-key-not-substituted",
        repo_with("${s:k}"),
        req(context={"s:k": ["MyRepo", "Other"]}),
        N,
    ),
    row(
        "variable-in-StringLike",
        condition("StringLike", "codecommit:References", "refs/heads/${aws:username}/*"),
        req(context={"codecommit:References": ["refs/heads/bob/x"]}, username="bob"),
        A,
    ),
    row(
        "variable-in-StringLike-other-user",
        condition("StringLike", "codecommit:References", "refs/heads/${aws:username}/*"),
        req(context={"codecommit:References": ["refs/heads/eve/x"]}, username="bob"),
        N,
    ),
    row(
        "variable-principal-tag-vs-resource-tag",
        condition("StringEquals", "aws:ResourceTag/team", "${aws:PrincipalTag/team}"),
        req(context={"aws:ResourceTag/team": "red"}, principal_tags={"team": "red"}),
        A,
    ),
    row(
        "variable-principal-tag-vs-resource-tag-mismatch",
        condition("StringEquals", "aws:ResourceTag/team", "${aws:PrincipalTag/team}"),
        req(context={"aws:ResourceTag/team": "blue"}, principal_tags={"team": "red"}),
        N,
    ),
    row(
        "variable-missing-fails-even-negated-operator",
        condition("StringNotEquals", "aws:username", "${aws:PrincipalTag/owner}"),
        req(username="bob"),
        N,
    ),
    row(
        "variable-missing-NotResource-statement-fails",
        [[allow("codecommit:GitPull", not_resource=USER + "${aws:username}")]],
        req(),
        N,
    ),
    row(
        "variable-typed-numeric",
        condition("NumericLessThan", "s:size", "${s:max}"),
        req(context={"s:size": 5, "s:max": 10}),
        A,
    ),
    row(
        "variable-typed-wrong-value-fails",
        condition("NumericLessThan", "s:size", "${s:max}"),
        req(context={"s:size": 5, "s:max": "ten"}),
        N,
    ),
    row(
        "variable-missing-key-IfExists-no-comparison",
        condition("StringEqualsIfExists", "s:absent", "${aws:PrincipalTag/none}"),
        req(),
        A,
    ),
]


@pytest.mark.parametrize(("policies", "request_", "expected"), VARIABLES)
def test_decision(policies: list[Doc], request_: PolicyRequest, expected: str) -> None:
    assert decide(policies, request_) == expected
