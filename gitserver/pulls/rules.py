"""Approval rule content (version 2018-11-08): parsing, and whether approvers satisfy it.

    {"Version": "2018-11-08",
     "DestinationReferences": ["refs/heads/main"],          (read by templates)
     "Statements": [{"Type": "Approvers",
                     "NumberOfApprovalsNeeded": 2,
                     "ApprovalPoolMembers": ["CodeCommitApprovers:123456789012:Mary_Major",
                                             "arn:aws:sts::123456789012:assumed-role/R/*"]}]}

A pool member is either `CodeCommitApprovers:ACCOUNT:NAME`, which counts the IAM user and
the federated user of that name in that account (AWS: not an assumed-role session, which
needs an ARN wildcard), or an ARN in which `*` and `?` are wildcards. A statement without
a pool counts every approver. A rule is satisfied when every statement is.

Pure functions: no database, no I/O; the services call them and raise what they raise.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gitserver.pulls import errors

VERSION = "2018-11-08"
MAX_CONTENT = 3000
MAX_POOL = 100  # a guard against a pathological rule, not an AWS figure
APPROVERS = "Approvers"
CODECOMMIT_APPROVERS = "CodeCommitApprovers"
_ARN = re.compile(r"arn:aws:(iam|sts)::[0-9*?]{1,12}:\S+")
_ACCOUNT = re.compile(r"[0-9*?]{1,12}")


@dataclass(frozen=True, slots=True)
class Statement:
    needed: int
    pool: tuple[str, ...] = ()  # empty: every approver counts


@dataclass(frozen=True, slots=True)
class RuleContent:
    statements: tuple[Statement, ...]
    destination_references: tuple[str, ...] = ()  # templates' filter; empty: every branch


def content_sha256(text: str) -> str:
    """`ruleContentSha256`: the SHA-256 of the content as the caller sent it."""
    return hashlib.sha256(text.encode()).hexdigest()


def parse_rule_content(text: str) -> RuleContent:
    """A pull request's approval rule.

    Raises:
        InvalidApprovalRuleContent: naming the member that is wrong.
    """
    return _parse(text, template=False)


def parse_template_content(text: str) -> RuleContent:
    """An approval rule template's content (may also name `DestinationReferences`).

    Raises:
        InvalidApprovalRuleTemplateContent: naming the member that is wrong.
    """
    return _parse(text, template=True)


def rule_satisfied(content: RuleContent, approver_arns: Iterable[str]) -> bool:
    """Whether the approvals of `approver_arns` (distinct users) satisfy every statement."""
    approvers = set(approver_arns)
    return all(
        sum(1 for arn in approvers if in_pool(statement.pool, arn)) >= statement.needed
        for statement in content.statements
    )


def in_pool(pool: Sequence[str], arn: str) -> bool:
    return not pool or any(member_matches(member, arn) for member in pool)


def member_matches(member: str, arn: str) -> bool:
    """Whether one pool member counts the approval of `arn`."""
    if member.startswith(CODECOMMIT_APPROVERS + ":"):
        _, account, name = member.split(":", 2)
        return any(
            _wildcard(pattern).fullmatch(arn) is not None
            for pattern in (
                f"arn:aws:iam::{account}:user/{name}",
                f"arn:aws:iam::{account}:user/*/{name}",  # a user with an IAM path
                f"arn:aws:sts::{account}:federated-user/{name}",
            )
        )
    return _wildcard(member).fullmatch(arn) is not None


def destination_matches(content: RuleContent, destination_ref: str) -> bool:
    """Whether a template applies to a pull request into `destination_ref` (none listed:
    every branch). A short name (`main`) means `refs/heads/main`."""
    if not content.destination_references:
        return True
    wanted = _full_ref(destination_ref)
    return any(_full_ref(ref) == wanted for ref in content.destination_references)


# -- parsing -----------------------------------------------------------------------------


def _parse(text: str, *, template: bool) -> RuleContent:
    # The checks raise ValueError with where the mistake is; the caller gets the model's
    # exception for the operation (rule or template).
    error = (
        errors.InvalidApprovalRuleTemplateContent if template else errors.InvalidApprovalRuleContent
    )
    try:
        return _content(text)
    except ValueError as exc:
        kind = "approval rule template content" if template else "approval rule content"
        raise error(f"The {kind} is not valid: {exc}") from None


def _content(text: str) -> RuleContent:
    if not text.strip():
        raise ValueError("it is empty")
    if len(text) > MAX_CONTENT:
        raise ValueError(f"it is longer than {MAX_CONTENT} characters")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(document, dict):
        raise ValueError("the content must be a JSON object")
    # A pull request's rule may carry DestinationReferences too (content copied from a
    # template works unchanged); only a template reads them.
    allowed = {"Version", "Statements", "DestinationReferences"}
    _only(document, allowed, "the content")
    if document.get("Version") != VERSION:
        raise ValueError(f'"Version" must be "{VERSION}"')
    statements = document.get("Statements")
    if not isinstance(statements, list) or not statements:
        raise ValueError('"Statements" must be a non-empty list')
    parsed = tuple(_statement(item, f"Statements[{i}]") for i, item in enumerate(statements))
    references: tuple[str, ...] = ()
    if "DestinationReferences" in document:
        references = _references(document["DestinationReferences"])
    return RuleContent(parsed, references)


def _statement(item: Any, where: str) -> Statement:
    if not isinstance(item, dict):
        raise ValueError(f"{where} must be an object")
    _only(item, {"Type", "NumberOfApprovalsNeeded", "ApprovalPoolMembers"}, where)
    if item.get("Type") != APPROVERS:
        raise ValueError(f'{where}.Type must be "{APPROVERS}"')
    needed = item.get("NumberOfApprovalsNeeded")
    if isinstance(needed, bool) or not isinstance(needed, int) or needed < 1:
        raise ValueError(f"{where}.NumberOfApprovalsNeeded must be a positive integer")
    pool = item.get("ApprovalPoolMembers", [])
    if not isinstance(pool, list) or len(pool) > MAX_POOL:
        raise ValueError(f"{where}.ApprovalPoolMembers must be a list of at most {MAX_POOL}")
    for index, member in enumerate(pool):
        _member(member, f"{where}.ApprovalPoolMembers[{index}]")
    return Statement(needed, tuple(pool))


def _member(member: Any, where: str) -> None:
    if not isinstance(member, str):
        raise ValueError(f"{where} must be a string")
    if member.startswith(CODECOMMIT_APPROVERS + ":"):
        parts = member.split(":")
        if len(parts) != 3 or not _ACCOUNT.fullmatch(parts[1]) or not parts[2]:
            raise ValueError(f"{where} must be CodeCommitApprovers:ACCOUNT_ID:NAME, not {member!r}")
        return
    if not _ARN.fullmatch(member):
        raise ValueError(
            f"{where} must be CodeCommitApprovers:ACCOUNT_ID:NAME or an IAM or STS ARN "
            f"(arn:aws:iam::ACCOUNT_ID:user/NAME), not {member!r}"
        )


def _references(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError('"DestinationReferences" must be a list of branch names')
    for index, ref in enumerate(value):
        if ref.startswith("refs/") and not ref.startswith("refs/heads/"):
            raise ValueError(f"DestinationReferences[{index}] must be a branch (refs/heads/...)")
    return tuple(value)


def _only(document: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(document) - allowed)
    if unknown:
        raise ValueError(
            f"{where} has unknown member {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )


def _full_ref(name: str) -> str:
    return name if name.startswith("refs/") else "refs/heads/" + name


def _wildcard(pattern: str) -> re.Pattern[str]:
    """An IAM-style pattern: `*` any run of characters, `?` one character."""
    return re.compile("".join(_piece(c) for c in pattern))


def _piece(char: str) -> str:
    if char == "*":
        return ".*"
    if char == "?":
        return "."
    return re.escape(char)
