"""Decision table: condition operators, missing keys, IfExists and set qualifiers.

Each id names the IAM UG "Condition operators" / "multivalued context keys" rule it checks.
"""

from __future__ import annotations

import pytest

from auth.policy import PolicyRequest
from tests.unit.auth.policy.cases import A, D, Doc, N, allow, decide, deny, req, row, when

U = "aws:username"
REFS = "codecommit:References"
NOW = "aws:CurrentTime"
IP = "aws:SourceIp"
PARN = "aws:PrincipalArn"
BOB_ARN = "arn:aws:iam::111122223333:user/bob"

STRING = [
    when("StringEquals-match", "StringEquals", U, "bob", {U: "bob"}, A),
    when("StringEquals-case-sensitive", "StringEquals", U, "bob", {U: "Bob"}, N),
    when("StringEquals-missing-key-false", "StringEquals", U, "bob", {}, N),
    when("StringEquals-values-ORed", "StringEquals", U, ["alice", "bob"], {U: "bob"}, A),
    when("StringEquals-no-wildcards", "StringEquals", U, "b*", {U: "bob"}, N),
    when("StringEquals-star-is-literal", "StringEquals", U, "b*", {U: "b*"}, A),
    when("StringNotEquals-other-value", "StringNotEquals", U, "alice", {U: "bob"}, A),
    when("StringNotEquals-equal-fails", "StringNotEquals", U, "bob", {U: "bob"}, N),
    when("StringNotEquals-missing-key-true", "StringNotEquals", U, "bob", {}, A),
    when("StringNotEquals-none-of-values", "StringNotEquals", U, ["alice", "bob"], {U: "bob"}, N),
    when("StringEqualsIgnoreCase-match", "StringEqualsIgnoreCase", U, "bob", {U: "BOB"}, A),
    when("StringEqualsIgnoreCase-differs", "StringEqualsIgnoreCase", U, "bob", {U: "rob"}, N),
    when("StringNotEqualsIgnoreCase-fails", "StringNotEqualsIgnoreCase", U, "bob", {U: "BoB"}, N),
    when("StringNotEqualsIgnoreCase-missing-true", "StringNotEqualsIgnoreCase", U, "bob", {}, A),
    when(
        "StringLike-star",
        "StringLike",
        REFS,
        "refs/heads/feature/*",
        {REFS: ["refs/heads/feature/x"]},
        A,
    ),
    when(
        "StringLike-star-crosses-slashes",
        "StringLike",
        REFS,
        "refs/*",
        {REFS: ["refs/heads/a/b"]},
        A,
    ),
    when("StringLike-question", "StringLike", U, "b?b", {U: "bob"}, A),
    when("StringLike-no-match", "StringLike", U, "a*", {U: "bob"}, N),
    when("StringLike-case-sensitive", "StringLike", U, "B*", {U: "bob"}, N),
    when("StringLike-regex-chars-literal", "StringLike", U, "b.b", {U: "bob"}, N),
    when("StringLike-missing-key-false", "StringLike", U, "*", {}, N),
    when("StringNotLike-other", "StringNotLike", U, "a*", {U: "bob"}, A),
    when("StringNotLike-matching-fails", "StringNotLike", U, "b*", {U: "bob"}, N),
    when("StringNotLike-missing-key-true", "StringNotLike", U, "b*", {}, A),
    when(
        "condition-key-name-case-insensitive", "StringEquals", "AWS:UserName", "bob", {U: "bob"}, A
    ),
    when("context-key-name-case-insensitive", "StringEquals", U, "bob", {"AWS:USERNAME": "bob"}, A),
    when(
        "condition-value-compared-as-text",
        "StringEquals",
        "gitserver:Size",
        "5",
        {"gitserver:Size": 5},
        A,
    ),
]

NUMERIC = [
    when("NumericEquals-match", "NumericEquals", "s:n", "10", {"s:n": 10}, A),
    when("NumericEquals-numeric-not-textual", "NumericEquals", "s:n", "10.0", {"s:n": "10"}, A),
    when("NumericEquals-json-number-value", "NumericEquals", "s:n", 10, {"s:n": 10}, A),
    when("NumericNotEquals-differs", "NumericNotEquals", "s:n", "10", {"s:n": 11}, A),
    when("NumericNotEquals-equal-fails", "NumericNotEquals", "s:n", "10", {"s:n": 10}, N),
    when("NumericLessThan-true", "NumericLessThan", "s:n", "10", {"s:n": 9}, A),
    when("NumericLessThan-boundary-false", "NumericLessThan", "s:n", "10", {"s:n": 10}, N),
    when("NumericLessThanEquals-boundary", "NumericLessThanEquals", "s:n", "10", {"s:n": 10}, A),
    when("NumericGreaterThan-true", "NumericGreaterThan", "s:n", "10", {"s:n": "10.5"}, A),
    when(
        "NumericGreaterThanEquals-boundary", "NumericGreaterThanEquals", "s:n", "-1", {"s:n": -1}, A
    ),
    when("Numeric-non-numeric-request-fails", "NumericLessThan", "s:n", "10", {"s:n": "abc"}, N),
    when("NumericNotEquals-non-numeric-fails", "NumericNotEquals", "s:n", "10", {"s:n": "abc"}, N),
    when("Numeric-missing-key-false", "NumericLessThan", "s:n", "10", {}, N),
    when("NumericNotEquals-missing-key-true", "NumericNotEquals", "s:n", "10", {}, A),
]

DATE = [
    when(
        "DateLessThan-before",
        "DateLessThan",
        NOW,
        "2026-01-01T00:00:00Z",
        {NOW: "2025-06-01T00:00:00Z"},
        A,
    ),
    when(
        "DateLessThan-after",
        "DateLessThan",
        NOW,
        "2026-01-01T00:00:00Z",
        {NOW: "2026-06-01T00:00:00Z"},
        N,
    ),
    when(
        "DateGreaterThan-after",
        "DateGreaterThan",
        NOW,
        "2026-01-01",
        {NOW: "2026-01-02T00:00:00Z"},
        A,
    ),
    when(
        "DateEquals-iso-vs-epoch",
        "DateEquals",
        "aws:EpochTime",
        "2020-01-01T00:00:00Z",
        {"aws:EpochTime": 1577836800},
        A,
    ),
    when(
        "DateEquals-epoch-policy-value",
        "DateEquals",
        NOW,
        "1577836800",
        {NOW: "2020-01-01T00:00:00Z"},
        A,
    ),
    when(
        "DateEquals-zone-offsets",
        "DateEquals",
        NOW,
        "2020-01-01T01:00:00+01:00",
        {NOW: "2020-01-01T00:00:00Z"},
        A,
    ),
    when(
        "DateLessThanEquals-boundary",
        "DateLessThanEquals",
        NOW,
        "2020-01-01T00:00:00Z",
        {NOW: "2020-01-01T00:00:00Z"},
        A,
    ),
    when(
        "DateGreaterThanEquals-before-fails",
        "DateGreaterThanEquals",
        NOW,
        "2020-01-02",
        {NOW: "2020-01-01T00:00:00Z"},
        N,
    ),
    when(
        "DateNotEquals-differs",
        "DateNotEquals",
        NOW,
        "2020-01-01T00:00:00Z",
        {NOW: "2021-01-01T00:00:00Z"},
        A,
    ),
    when("Date-bad-request-value-fails", "DateLessThan", NOW, "2026-01-01", {NOW: "tomorrow"}, N),
    when("Date-missing-key-false", "DateLessThan", NOW, "2026-01-01", {}, N),
]

BOOL_BINARY = [
    when(
        "Bool-true-match", "Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": True}, A
    ),
    when("Bool-mismatch", "Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": False}, N),
    when(
        "Bool-text-context",
        "Bool",
        "aws:SecureTransport",
        "false",
        {"aws:SecureTransport": "false"},
        A,
    ),
    when(
        "Bool-json-boolean-value",
        "Bool",
        "aws:SecureTransport",
        True,
        {"aws:SecureTransport": True},
        A,
    ),
    when(
        "Bool-value-case-insensitive",
        "Bool",
        "aws:SecureTransport",
        "True",
        {"aws:SecureTransport": "TRUE"},
        A,
    ),
    when("Bool-missing-key-false", "Bool", "aws:SecureTransport", "false", {}, N),
    when("BoolIfExists-missing-key-true", "BoolIfExists", "aws:SecureTransport", "true", {}, A),
    when("BinaryEquals-match", "BinaryEquals", "s:b", "aGVsbG8=", {"s:b": "aGVsbG8="}, A),
    when("BinaryEquals-mismatch", "BinaryEquals", "s:b", "aGVsbG8=", {"s:b": "d29ybGQ="}, N),
    when("BinaryEquals-missing-key-false", "BinaryEquals", "s:b", "aGVsbG8=", {}, N),
]

IP_ADDRESS = [
    when("IpAddress-in-cidr", "IpAddress", IP, "203.0.113.0/24", {IP: "203.0.113.7"}, A),
    when("IpAddress-outside-cidr", "IpAddress", IP, "203.0.113.0/24", {IP: "198.51.100.7"}, N),
    when("IpAddress-single-address", "IpAddress", IP, "203.0.113.7", {IP: "203.0.113.7"}, A),
    when("IpAddress-ipv6-cidr", "IpAddress", IP, "2001:db8::/32", {IP: "2001:db8::1"}, A),
    when("IpAddress-v4-not-in-v6", "IpAddress", IP, "::/0", {IP: "203.0.113.7"}, N),
    when(
        "IpAddress-cidrs-ORed",
        "IpAddress",
        IP,
        ["10.0.0.0/8", "203.0.113.0/24"],
        {IP: "203.0.113.7"},
        A,
    ),
    when("IpAddress-garbage-request-fails", "IpAddress", IP, "0.0.0.0/0", {IP: "not-an-ip"}, N),
    when("IpAddress-missing-key-false", "IpAddress", IP, "0.0.0.0/0", {}, N),
    when("NotIpAddress-outside-true", "NotIpAddress", IP, "10.0.0.0/8", {IP: "203.0.113.7"}, A),
    when("NotIpAddress-inside-false", "NotIpAddress", IP, "10.0.0.0/8", {IP: "10.1.2.3"}, N),
    when("NotIpAddress-missing-key-true", "NotIpAddress", IP, "10.0.0.0/8", {}, A),
]

ARN = [
    when("ArnEquals-exact", "ArnEquals", PARN, BOB_ARN, {PARN: BOB_ARN}, A),
    when(
        "ArnEquals-accepts-wildcards",
        "ArnEquals",
        PARN,
        "arn:aws:iam::*:user/*",
        {PARN: BOB_ARN},
        A,
    ),
    when(
        "ArnLike-wildcard-resource",
        "ArnLike",
        PARN,
        "arn:aws:iam::111122223333:user/b*",
        {PARN: BOB_ARN},
        A,
    ),
    when(
        "ArnLike-per-component-no-colon-span",
        "ArnLike",
        PARN,
        "arn:aws:iam:*:user/bob",
        {PARN: BOB_ARN},
        N,
    ),
    when(
        "ArnLike-resource-part-keeps-colons",
        "ArnLike",
        PARN,
        "arn:aws:s3:::bkt/*",
        {PARN: "arn:aws:s3:::bkt/a:b"},
        A,
    ),
    when("ArnLike-case-sensitive", "ArnLike", PARN, BOB_ARN.upper(), {PARN: BOB_ARN}, N),
    when("ArnLike-star-any-arn", "ArnLike", PARN, "*", {PARN: BOB_ARN}, A),
    when("ArnLike-non-arn-request-fails", "ArnLike", PARN, "arn:*:*:*:*:*", {PARN: "bob"}, N),
    when("ArnLike-missing-key-false", "ArnLike", PARN, "arn:*:*:*:*:*", {}, N),
    when("ArnNotEquals-other", "ArnNotEquals", PARN, "arn:aws:iam::1:user/x", {PARN: BOB_ARN}, A),
    when(
        "ArnNotLike-matching-fails", "ArnNotLike", PARN, "arn:aws:iam::*:user/*", {PARN: BOB_ARN}, N
    ),
    when("ArnNotLike-missing-key-true", "ArnNotLike", PARN, "arn:aws:iam::*:user/*", {}, A),
]

NULL = [
    when("Null-true-key-absent", "Null", REFS, "true", {}, A),
    when("Null-true-key-present", "Null", REFS, "true", {REFS: ["refs/heads/x"]}, N),
    when("Null-false-key-present", "Null", REFS, "false", {REFS: ["refs/heads/x"]}, A),
    when("Null-false-key-absent", "Null", REFS, "false", {}, N),
    when("Null-empty-list-is-absent", "Null", REFS, "true", {REFS: []}, A),
    when("Null-json-boolean-value", "Null", REFS, False, {REFS: "refs/heads/x"}, A),
]

IF_EXISTS = [
    when("StringEqualsIfExists-missing-key-matches", "StringEqualsIfExists", U, "bob", {}, A),
    when("StringEqualsIfExists-present-compares", "StringEqualsIfExists", U, "bob", {U: "bob"}, A),
    when("StringEqualsIfExists-present-mismatch", "StringEqualsIfExists", U, "bob", {U: "eve"}, N),
    when("StringNotEqualsIfExists-missing-key-matches", "StringNotEqualsIfExists", U, "bob", {}, A),
    when("StringLikeIfExists-missing-key-matches", "StringLikeIfExists", U, "b*", {}, A),
    when(
        "NumericLessThanIfExists-missing-key-matches", "NumericLessThanIfExists", "s:n", "1", {}, A
    ),
    when("IpAddressIfExists-missing-key-matches", "IpAddressIfExists", IP, "10.0.0.0/8", {}, A),
    when("ArnLikeIfExists-missing-key-matches", "ArnLikeIfExists", PARN, "arn:*:*:*:*:*", {}, A),
    when(
        "DateLessThanIfExists-present-fails",
        "DateLessThanIfExists",
        NOW,
        "2020-01-01",
        {NOW: "2021-01-01T00:00:00Z"},
        N,
    ),
    row(
        "Deny-negated-IfExists-missing-key-still-denies",
        [[allow(), deny(condition={"StringNotEqualsIfExists": {U: "bob"}})]],
        req(),
        D,
    ),
    row(
        "Deny-StringEqualsIfExists-missing-key-denies",
        [[allow(), deny(condition={"StringEqualsIfExists": {U: "bob"}})]],
        req(),
        D,
    ),
]

SETS = [
    when(
        "ForAnyValue-one-matches",
        "ForAnyValue:StringEquals",
        REFS,
        "refs/heads/main",
        {REFS: ["refs/heads/x", "refs/heads/main"]},
        A,
    ),
    when(
        "ForAnyValue-none-match",
        "ForAnyValue:StringEquals",
        REFS,
        "refs/heads/main",
        {REFS: ["refs/heads/x"]},
        N,
    ),
    when(
        "ForAnyValue-empty-list-false",
        "ForAnyValue:StringEquals",
        REFS,
        "refs/heads/main",
        {REFS: []},
        N,
    ),
    when(
        "ForAnyValue-missing-key-false", "ForAnyValue:StringEquals", REFS, "refs/heads/main", {}, N
    ),
    when(
        "ForAnyValue-StringLike",
        "ForAnyValue:StringLike",
        REFS,
        "refs/tags/*",
        {REFS: ["refs/heads/x", "refs/tags/v1"]},
        A,
    ),
    when(
        "ForAnyValue-StringNotEquals-some-differ",
        "ForAnyValue:StringNotEquals",
        REFS,
        "refs/heads/main",
        {REFS: ["refs/heads/main", "refs/heads/x"]},
        A,
    ),
    when(
        "ForAnyValue-IfExists-missing-key-true",
        "ForAnyValue:StringEqualsIfExists",
        REFS,
        "refs/heads/main",
        {},
        A,
    ),
    when(
        "ForAllValues-all-match",
        "ForAllValues:StringLike",
        REFS,
        "refs/heads/feature/*",
        {REFS: ["refs/heads/feature/a", "refs/heads/feature/b"]},
        A,
    ),
    when(
        "ForAllValues-one-outside",
        "ForAllValues:StringLike",
        REFS,
        "refs/heads/feature/*",
        {REFS: ["refs/heads/feature/a", "refs/heads/main"]},
        N,
    ),
    when(
        "ForAllValues-values-ORed-per-item",
        "ForAllValues:StringEquals",
        REFS,
        ["refs/heads/a", "refs/heads/b"],
        {REFS: ["refs/heads/a", "refs/heads/b"]},
        A,
    ),
    when(
        "ForAllValues-empty-list-true",
        "ForAllValues:StringEquals",
        REFS,
        "refs/heads/main",
        {REFS: []},
        A,
    ),
    when(
        "ForAllValues-missing-key-true", "ForAllValues:StringEquals", REFS, "refs/heads/main", {}, A
    ),
    when(
        "ForAllValues-StringNotLike-none-protected",
        "ForAllValues:StringNotLike",
        REFS,
        "refs/heads/main",
        {REFS: ["refs/heads/a", "refs/heads/b"]},
        A,
    ),
    when(
        "ForAllValues-StringNotLike-one-protected",
        "ForAllValues:StringNotLike",
        REFS,
        "refs/heads/main",
        {REFS: ["refs/heads/a", "refs/heads/main"]},
        N,
    ),
    when("ForAllValues-single-valued-key", "ForAllValues:StringEquals", U, "bob", {U: "bob"}, A),
    when(
        "unqualified-multivalued-any-value-matches",
        "StringEquals",
        REFS,
        "refs/heads/main",
        {REFS: ["refs/heads/x", "refs/heads/main"]},
        A,
    ),
    when(
        "unqualified-multivalued-none-match",
        "StringEquals",
        REFS,
        "refs/heads/main",
        {REFS: ["refs/heads/x", "refs/heads/y"]},
        N,
    ),
    when(
        "unqualified-negated-multivalued-any-value-differs",
        "StringNotEquals",
        REFS,
        "refs/heads/main",
        {REFS: ["refs/heads/x", "refs/heads/main"]},
        A,
    ),
    when(
        "unqualified-multivalued-empty-list-is-missing",
        "StringEquals",
        REFS,
        "refs/heads/main",
        {REFS: []},
        N,
    ),
]

COMBINED = [
    row(
        "condition-keys-ANDed-one-fails",
        [[allow(condition={"StringEquals": {U: "bob", "aws:userid": "AID1"}})]],
        req(context={U: "bob", "aws:userid": "AID2"}),
        N,
    ),
    row(
        "condition-operators-ANDed-one-fails",
        [[allow(condition={"StringEquals": {U: "bob"}, "IpAddress": {IP: "10.0.0.0/8"}})]],
        req(context={U: "bob", IP: "203.0.113.1"}),
        N,
    ),
    row(
        "condition-all-entries-hold",
        [[allow(condition={"StringEquals": {U: "bob"}, "IpAddress": {IP: "10.0.0.0/8"}})]],
        req(context={U: "bob", IP: "10.0.0.1"}),
        A,
    ),
]


@pytest.mark.parametrize(
    ("policies", "request_", "expected"),
    STRING + NUMERIC + DATE + BOOL_BINARY + IP_ADDRESS + ARN + NULL + IF_EXISTS + SETS + COMBINED,
)
def test_decision(policies: list[Doc], request_: PolicyRequest, expected: str) -> None:
    assert decide(policies, request_) == expected
