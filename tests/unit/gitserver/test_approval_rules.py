"""Approval rule content: what parses, where a mistake is reported, and who counts."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from gitserver.pulls import errors
from gitserver.pulls.rules import (
    content_sha256,
    destination_matches,
    parse_rule_content,
    parse_template_content,
    rule_satisfied,
)

ACCOUNT = "123456789012"
MARY = f"arn:aws:iam::{ACCOUNT}:user/Mary_Major"
LI = f"arn:aws:iam::{ACCOUNT}:user/Li_Juan"
MARY_FEDERATED = f"arn:aws:sts::{ACCOUNT}:federated-user/Mary_Major"
MARY_ROLE = f"arn:aws:sts::{ACCOUNT}:assumed-role/CodeCommitReview/Mary_Major"


def _content(*statements: dict[str, Any], **top: Any) -> str:
    return json.dumps({"Version": "2018-11-08", "Statements": list(statements), **top})


def _approvers(needed: int = 1, *pool: str) -> dict[str, Any]:
    statement: dict[str, Any] = {"Type": "Approvers", "NumberOfApprovalsNeeded": needed}
    if pool:
        statement["ApprovalPoolMembers"] = list(pool)
    return statement


def test_sha256_is_of_the_text_as_sent() -> None:
    text = _content(_approvers())
    assert content_sha256(text) == hashlib.sha256(text.encode()).hexdigest()


def test_without_a_pool_any_approver_counts() -> None:
    rule = parse_rule_content(_content(_approvers(2)))
    assert not rule_satisfied(rule, [MARY])
    assert not rule_satisfied(rule, [MARY, MARY])  # one user is one approval
    assert rule_satisfied(rule, [MARY, LI])


def test_codecommit_approvers_counts_the_user_and_federated_user_of_that_name() -> None:
    rule = parse_rule_content(_content(_approvers(1, f"CodeCommitApprovers:{ACCOUNT}:Mary_Major")))
    assert rule_satisfied(rule, [MARY])
    assert rule_satisfied(rule, [MARY_FEDERATED])
    assert rule_satisfied(rule, [f"arn:aws:iam::{ACCOUNT}:user/team/Mary_Major"])
    # AWS: a role session of that name needs an ARN wildcard.
    assert not rule_satisfied(rule, [MARY_ROLE])
    assert not rule_satisfied(rule, [LI])
    assert not rule_satisfied(rule, ["arn:aws:iam::999999999999:user/Mary_Major"])


def test_arn_wildcards() -> None:
    role = parse_rule_content(
        _content(_approvers(1, f"arn:aws:sts::{ACCOUNT}:assumed-role/CodeCommitReview/*"))
    )
    assert rule_satisfied(role, [MARY_ROLE])
    assert not rule_satisfied(role, [MARY])
    one_char = parse_rule_content(_content(_approvers(1, f"arn:aws:iam::{ACCOUNT}:user/Li_Jua?")))
    assert rule_satisfied(one_char, [LI])
    assert not rule_satisfied(one_char, [LI + "n"])
    exact = parse_rule_content(_content(_approvers(1, MARY)))
    assert rule_satisfied(exact, [MARY]) and not rule_satisfied(exact, [LI])


def test_every_statement_must_be_satisfied() -> None:
    rule = parse_rule_content(
        _content(_approvers(1, MARY), _approvers(1, f"CodeCommitApprovers:{ACCOUNT}:Li_Juan"))
    )
    assert not rule_satisfied(rule, [MARY])
    assert rule_satisfied(rule, [MARY, LI])


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("", "empty"),
        ("{not json", "line 1 column 2"),
        ("[]", "JSON object"),
        (json.dumps({"Version": "2019-01-01", "Statements": [_approvers()]}), '"Version"'),
        (_content(), '"Statements"'),
        (_content({"Type": "Reviewers", "NumberOfApprovalsNeeded": 1}), "Statements[0].Type"),
        (_content(_approvers(), _approvers(0)), "Statements[1].NumberOfApprovalsNeeded"),
        (
            _content({"Type": "Approvers", "NumberOfApprovalsNeeded": True}),
            "Statements[0].NumberOfApprovalsNeeded",
        ),
        (_content(_approvers(1, "Mary_Major")), "Statements[0].ApprovalPoolMembers[0]"),
        (
            _content(_approvers(1, MARY, "CodeCommitApprovers:acct:x")),
            "Statements[0].ApprovalPoolMembers[1]",
        ),
        (_content({**_approvers(), "Extra": 1}), "'Extra'"),
        (_content(_approvers(), DestinationReferences="main"), '"DestinationReferences"'),
        ("x" * 3001, "3000"),
    ],
)
def test_a_mistake_is_reported_where_it_is(text: str, where: str) -> None:
    with pytest.raises(errors.InvalidApprovalRuleContent) as info:
        parse_rule_content(text)
    assert where in str(info.value)
    assert info.value.aws_type == "InvalidApprovalRuleContentException"


def test_a_rule_may_carry_a_templates_destinations() -> None:
    text = _content(_approvers(), DestinationReferences=["refs/heads/main"])
    assert parse_rule_content(text).destination_references == ("refs/heads/main",)


def test_template_content_names_destinations() -> None:
    template = parse_template_content(
        _content(_approvers(), DestinationReferences=["refs/heads/main", "release"])
    )
    assert destination_matches(template, "refs/heads/main")
    assert destination_matches(template, "refs/heads/release")
    assert not destination_matches(template, "refs/heads/feature")
    every = parse_template_content(_content(_approvers()))
    assert destination_matches(every, "refs/heads/anything")
    with pytest.raises(errors.InvalidApprovalRuleTemplateContent) as info:
        parse_template_content(_content(_approvers(), DestinationReferences="main"))
    assert "DestinationReferences" in str(info.value)
    with pytest.raises(errors.InvalidApprovalRuleTemplateContent) as info:
        parse_template_content(_content(_approvers(), DestinationReferences=["refs/tags/v1"]))
    assert "DestinationReferences[0]" in str(info.value)
