"""Validation on write: MalformedPolicyDocument with the JSON path, size limits, accepted forms."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auth.policy import (
    MalformedPolicyDocument,
    PolicyError,
    PolicyKind,
    PolicySizeExceeded,
    parse_policy,
)
from tests.unit.auth.policy.cases import REPO, allow


def doc(*statements: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements), **top}


def cond(condition: dict[str, Any]) -> dict[str, Any]:
    return doc(allow(condition=condition))


S0 = "Statement[0]"
C0 = f"{S0}.Condition"
MALFORMED = [
    pytest.param("{not json", "", "Syntax errors", id="not-json"),
    pytest.param(
        '{"Statement": [], "Statement": []}', "", "duplicate key", id="duplicate-json-keys"
    ),
    pytest.param('{"Version": NaN}', "", "Syntax errors", id="NaN-is-not-json"),
    pytest.param([allow()], "", "JSON object", id="top-level-array"),
    pytest.param(doc(allow(), Foo=1), "Foo", "unknown element", id="unknown-top-level-element"),
    pytest.param(doc(allow(), Version="2020-01-01"), "Version", "valid version", id="bad-version"),
    pytest.param(doc(allow(), Id=7), "Id", "Id must be a string", id="Id-not-string"),
    pytest.param(
        {"Version": "2012-10-17"}, "Statement", "Missing required field", id="missing-Statement"
    ),
    pytest.param(doc(), "Statement", "non-empty", id="empty-Statement-list"),
    pytest.param(
        {"Statement": "x"}, "Statement", "object or a non-empty list", id="Statement-string"
    ),
    pytest.param({"Statement": ["x"]}, S0, "JSON object", id="statement-not-object"),
    pytest.param(
        doc({**allow(), "Principal": "*"}), f"{S0}.Principal", "principal", id="Principal-refused"
    ),
    pytest.param(
        doc({**allow(), "NotPrincipal": "*"}),
        f"{S0}.NotPrincipal",
        "principal",
        id="NotPrincipal-refused",
    ),
    pytest.param(
        doc({**allow(), "Effects": "Allow"}),
        f"{S0}.Effects",
        "unknown element",
        id="unknown-element",
    ),
    pytest.param(
        doc({"Action": "s:a", "Resource": "*"}),
        f"{S0}.Effect",
        "Missing required field Effect",
        id="missing-Effect",
    ),
    pytest.param(
        doc({**allow(), "Effect": "allow"}),
        f"{S0}.Effect",
        "Allow or Deny",
        id="Effect-case-sensitive",
    ),
    pytest.param(
        doc({**allow(), "NotAction": "s:a"}), S0, "exactly one of Action", id="Action-and-NotAction"
    ),
    pytest.param(
        doc({"Effect": "Allow", "Resource": "*"}), S0, "exactly one of Action", id="no-Action"
    ),
    pytest.param(
        doc({"Effect": "Allow", "Action": "s:a"}), S0, "exactly one of Resource", id="no-Resource"
    ),
    pytest.param(
        doc({**allow(), "NotResource": "*"}),
        S0,
        "exactly one of Resource",
        id="Resource-and-NotResource",
    ),
    pytest.param(doc(allow([])), f"{S0}.Action", "empty list", id="Action-empty-list"),
    pytest.param(doc(allow(7)), f"{S0}.Action", "string or a list", id="Action-number"),
    pytest.param(
        doc(allow(["s:a", 7])), f"{S0}.Action[1]", "must be strings", id="Action-list-item-number"
    ),
    pytest.param(
        doc(allow("GitPull")), f"{S0}.Action[0]", "prefaced by a vendor", id="Action-without-vendor"
    ),
    pytest.param(
        doc(allow("codecommit:Git Pull")),
        f"{S0}.Action[0]",
        "invalid characters",
        id="Action-space",
    ),
    pytest.param(
        doc(allow("codecommit:Git.ull")), f"{S0}.Action[0]", "invalid characters", id="Action-dot"
    ),
    pytest.param(
        doc(allow("codecommit:")), f"{S0}.Action[0]", "invalid characters", id="Action-empty-name"
    ),
    pytest.param(
        doc(allow(resource="MyRepo")), f"{S0}.Resource[0]", "ARN format", id="Resource-not-arn"
    ),
    pytest.param(
        doc(allow(resource="arn:aws:codecommit:us-east-1")),
        f"{S0}.Resource[0]",
        "ARN format",
        id="Resource-too-few-parts",
    ),
    pytest.param(
        doc(allow(resource="urn:aws:s:r:a:x")),
        f"{S0}.Resource[0]",
        "ARN format",
        id="Resource-not-arn-prefix",
    ),
    pytest.param(
        doc(allow(resource="arn::s:r:a:x")),
        f"{S0}.Resource[0]",
        "ARN format",
        id="Resource-empty-partition",
    ),
    pytest.param(doc(allow(resource=[])), f"{S0}.Resource", "empty list", id="Resource-empty-list"),
    pytest.param(
        doc(allow(not_resource=["*", "bad"])),
        f"{S0}.NotResource[1]",
        "ARN format",
        id="NotResource-not-arn",
    ),
    pytest.param(doc(allow(sid="my-sid")), f"{S0}.Sid", "alpha-numeric", id="Sid-not-alphanumeric"),
    pytest.param(doc({**allow(), "Sid": 3}), f"{S0}.Sid", "alpha-numeric", id="Sid-not-string"),
    pytest.param(doc(allow(sid="A"), allow(sid="A")), "Statement", "unique", id="Sid-duplicate"),
    pytest.param(doc({**allow(), "Condition": []}), C0, "JSON object", id="Condition-not-object"),
    pytest.param(
        cond({"StringEqual": {"s:k": "v"}}),
        f"{C0}.StringEqual",
        "Invalid Condition type",
        id="unknown-operator",
    ),
    pytest.param(
        cond({"stringequals": {"s:k": "v"}}),
        f"{C0}.stringequals",
        "Invalid Condition type",
        id="operator-case-sensitive",
    ),
    pytest.param(
        cond({"NullIfExists": {"s:k": "true"}}),
        f"{C0}.NullIfExists",
        "Invalid Condition type",
        id="Null-no-IfExists",
    ),
    pytest.param(
        cond({"ForAnyValue:Null": {"s:k": "true"}}),
        f"{C0}.ForAnyValue:Null",
        "Invalid Condition type",
        id="Null-no-set-qualifier",
    ),
    pytest.param(
        cond({"ForSomeValues:StringEquals": {"s:k": "v"}}),
        f"{C0}.ForSomeValues:StringEquals",
        "Invalid Condition type",
        id="unknown-qualifier",
    ),
    pytest.param(
        cond({"StringEquals": "v"}),
        f"{C0}.StringEquals",
        "map keys",
        id="operator-block-not-object",
    ),
    pytest.param(
        cond({"StringEquals": {"username": "v"}}),
        f"{C0}.StringEquals.username",
        "vendor",
        id="condition-key-without-vendor",
    ),
    pytest.param(
        cond({"StringEquals": {"s:k": []}}),
        f"{C0}.StringEquals.s:k",
        "empty list",
        id="condition-value-empty-list",
    ),
    pytest.param(
        cond({"StringEquals": {"s:k": {"a": 1}}}),
        f"{C0}.StringEquals.s:k",
        "strings, numbers",
        id="condition-value-object",
    ),
    pytest.param(
        cond({"StringEquals": {"s:k": ["a", None]}}),
        f"{C0}.StringEquals.s:k[1]",
        "strings, numbers",
        id="condition-value-null",
    ),
    pytest.param(
        cond({"StringEquals": {"s:k": "a", "S:K": "b"}}),
        f"{C0}.StringEquals.S:K",
        "Duplicate condition key",
        id="condition-key-duplicate-case-insensitive",
    ),
    pytest.param(
        cond({"NumericLessThan": {"s:k": "ten"}}),
        f"{C0}.NumericLessThan.s:k[0]",
        "not a number",
        id="Numeric-value",
    ),
    pytest.param(
        cond({"DateGreaterThan": {"s:k": "yesterday"}}),
        f"{C0}.DateGreaterThan.s:k[0]",
        "ISO 8601",
        id="Date-value",
    ),
    pytest.param(
        cond({"Bool": {"s:k": "yes"}}), f"{C0}.Bool.s:k[0]", "true or false", id="Bool-value"
    ),
    pytest.param(
        cond({"IpAddress": {"s:k": ["10.0.0.0/8", "10.0.0.300/8"]}}),
        f"{C0}.IpAddress.s:k[1]",
        "CIDR",
        id="IpAddress-value",
    ),
    pytest.param(
        cond({"NotIpAddress": {"s:k": "2001:db8::/129"}}),
        f"{C0}.NotIpAddress.s:k[0]",
        "CIDR",
        id="NotIpAddress-v6-value",
    ),
    pytest.param(
        cond({"BinaryEquals": {"s:k": "not base64!"}}),
        f"{C0}.BinaryEquals.s:k[0]",
        "base64",
        id="Binary-value",
    ),
    pytest.param(
        cond({"Null": {"s:k": "maybe"}}), f"{C0}.Null.s:k[0]", "true or false", id="Null-value"
    ),
    pytest.param(
        doc(allow(resource="arn:aws:iam::*:user/${aws:username")),
        f"{S0}.Resource[0]",
        "policy variable",
        id="variable-unterminated",
    ),
    pytest.param(
        doc(allow(), allow(condition={"NumericEquals": {"s:k": "x"}})),
        "Statement[1].Condition.NumericEquals.s:k[0]",
        "number",
        id="path-names-statement-index",
    ),
    pytest.param(
        {"Statement": {"Effect": "Allow", "Action": "bad", "Resource": "*"}},
        "Statement.Action[0]",
        "vendor",
        id="path-single-statement-object",
    ),
]


@pytest.mark.parametrize(("document", "path", "reason"), MALFORMED)
def test_malformed(document: Any, path: str, reason: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as caught:
        parse_policy(document)
    assert caught.value.path == path
    assert reason in caught.value.reason


VALID = [
    pytest.param(doc(allow()), id="minimal"),
    pytest.param({"Statement": [allow()]}, id="Version-optional"),
    pytest.param(doc(allow(), Version="2008-10-17"), id="Version-2008"),
    pytest.param(doc(allow(), Id="my policy id"), id="Id"),
    pytest.param(doc(allow(not_action="iam:*", not_resource=REPO)), id="NotAction-NotResource"),
    pytest.param(
        cond({"Bool": {"aws:SecureTransport": True}, "NumericLessThan": {"s:n": 10}}),
        id="json-scalars",
    ),
    pytest.param(
        cond({"NumericLessThan": {"s:n": "${s:max}"}}), id="typed-value-with-variable-checked-later"
    ),
    pytest.param(
        cond({"ForAllValues:StringNotLikeIfExists": {"s:k": "a*"}}), id="qualifier-and-IfExists"
    ),
    pytest.param(
        cond(
            {
                "DateLessThan": {
                    "aws:CurrentTime": ["2020-01-01", "1577836800", "2020-01-01T00:00:00+02:00"]
                }
            }
        ),
        id="date-forms",
    ),
    pytest.param(
        cond({"IpAddress": {"aws:SourceIp": ["10.0.0.1", "2001:db8::/32"]}}), id="ip-forms"
    ),
    pytest.param(
        {"Statement": [allow(resource="arn:aws:iam::*:user/${aws:username")]},
        id="2008-variables-literal-unchecked",
    ),
    pytest.param(
        doc(allow("*", "arn:aws:codecommit:${aws:RequestedRegion}:1:*")),
        id="variable-with-colon-in-arn",
    ),
    pytest.param(doc(allow(resource="arn:aws:s3:::bkt/a:b:c")), id="arn-resource-with-colons"),
    pytest.param(json.dumps(doc(allow(sid="A1"), allow(sid="B2"))), id="json-text"),
]


@pytest.mark.parametrize("document", VALID)
def test_valid(document: Any) -> None:
    assert parse_policy(document).statements


def _sized(chars: int) -> str:
    """A document of exactly ``chars`` non-whitespace characters, padded through Id."""
    base = doc(allow(), Id="")
    pad = chars - len(json.dumps(base, separators=(",", ":")))
    return json.dumps(doc(allow(), Id="x" * pad), indent=4)


@pytest.mark.parametrize(
    ("kind", "limit"),
    [
        pytest.param(PolicyKind.USER_INLINE, 2048, id="user-inline-2048"),
        pytest.param(PolicyKind.GROUP_INLINE, 5120, id="group-inline-5120"),
        pytest.param(PolicyKind.ROLE_INLINE, 10240, id="role-inline-10240"),
        pytest.param(PolicyKind.MANAGED, 6144, id="managed-6144"),
    ],
)
def test_size_limit_ignores_whitespace(kind: PolicyKind, limit: int) -> None:
    parse_policy(_sized(limit), kind)
    with pytest.raises(PolicySizeExceeded) as caught:
        parse_policy(_sized(limit + 1), kind)
    assert caught.value.limit == limit
    assert str(limit) in str(caught.value)


def test_no_kind_no_size_check() -> None:
    parse_policy(_sized(20000))


def test_error_message_and_hierarchy() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(doc(allow("GitPull")))
    assert str(caught.value) == (
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        " (at Statement[0].Action[0])"
    )
    assert issubclass(MalformedPolicyDocument, PolicyError)
    assert issubclass(PolicySizeExceeded, PolicyError)


def test_canonical_digest_ignores_key_order_and_whitespace() -> None:
    one = parse_policy(
        '{"Version": "2012-10-17",\n'
        ' "Statement": {"Effect": "Allow", "Action": "s:a", "Resource": "*"}}'
    )
    two = parse_policy(
        {
            "Statement": {"Resource": "*", "Action": "s:a", "Effect": "Allow"},
            "Version": "2012-10-17",
        }
    )
    assert one.digest == two.digest


@pytest.mark.parametrize("depth", [100_000, 5_000])
def test_nesting_past_the_recursion_limit_is_malformed(depth: int) -> None:
    document = '{"Version": "2012-10-17", "Statement": ' + "[" * depth + "]" * depth + "}"
    with pytest.raises(MalformedPolicyDocument, match="nested too deeply"):
        parse_policy(document)
