"""Fuzz properties of the IAM policy parser and evaluator: any JSON, near-valid documents
with every condition operator given values of every type, and odd request contexts."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from auth.policy import (
    PolicyError,
    PolicyKind,
    PolicyRequest,
    compile_policy,
    evaluate,
    parse_policy,
)
from auth.policy.operators import _BASES
from tests.unit.fuzz.mutations import any_text, deep, json_values, mutated_json, mutated_text

REPO = "arn:aws:codecommit:us-east-1:111122223333:MyRepo"
OPERATORS = sorted(_BASES)
VALUES: list[Any] = [
    "refs/heads/main",
    "refs/heads/${aws:username}/*",
    "10.0.0.0/8",
    "::1/128",
    "true",
    "2026-05-04T12:00:00Z",
    "12",
    "aGVsbG8=",
    REPO,
    "arn:aws:codecommit:*:*:My*",
    ["a", "b"],
    12,
    1.5,
    True,
    None,
    {"nested": 1},
]


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(OPERATORS))
        name = draw(st.sampled_from(["", "ForAnyValue:", "ForAllValues:"])) + name
        name += draw(st.sampled_from(["", "IfExists"]))
        key = draw(
            st.sampled_from(
                ["codecommit:References", "aws:SourceIp", "aws:username", "aws:CurrentTime"]
            )
        )
        out[name] = {key: draw(st.sampled_from(VALUES))}
    return out


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": draw(st.sampled_from(["Allow", "Deny"])),
        "Action": draw(st.sampled_from(["codecommit:*", ["codecommit:Git*", "iam:*"], "*"])),
        "Resource": draw(st.sampled_from([REPO, "*", "arn:aws:codecommit:*:*:${aws:username}"])),
    }
    if draw(st.booleans()):
        statement["Condition"] = draw(conditions())
    return statement


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """A valid policy document, mutated most of the time."""
    doc = {
        "Version": draw(st.sampled_from(["2012-10-17", "2008-10-17"])),
        "Statement": draw(st.lists(statements(), min_size=1, max_size=3)),
    }
    return draw(mutated_json(doc)) if draw(st.integers(0, 3)) else doc


@st.composite
def policy_texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["document", "mutated-text", "json", "deep", "text"]))
    if kind == "document":
        return json.dumps(draw(documents()))
    if kind == "mutated-text":
        return draw(mutated_text(json.dumps(draw(documents()))))
    if kind == "json":
        return json.dumps(draw(json_values))
    if kind == "deep":
        depth = draw(st.sampled_from([50, 999, 1001, 20_000]))
        return deep(depth, draw(st.sampled_from(["list", "object"])))
    return draw(any_text)


context_values = (
    st.sampled_from(["refs/heads/main", "10.1.2.3", "not-an-ip", "true", "2026-05-04", ""])
    | st.lists(st.sampled_from(["refs/heads/main", "x", "\ud800"]), max_size=3)
    | st.integers()
    | st.booleans()
    | any_text
)
policy_requests = st.builds(
    PolicyRequest,
    st.sampled_from(["codecommit:GitPush", "codecommit:GitPull", "iam:GetUser"]) | any_text,
    st.sampled_from([REPO, "*"]) | any_text,
    st.dictionaries(
        st.sampled_from(["codecommit:References", "aws:SourceIp", "aws:CurrentTime", "AWS:X"])
        | any_text,
        context_values,
        max_size=3,
    ),
    username=st.none() | st.sampled_from(["bob"]) | any_text,
)


def check_policy(case: tuple[str, PolicyKind | None, PolicyRequest]) -> None:
    """A document parses, or is a PolicyError whose path and reason say why; a parsed
    one compiles, its canonical text parses to the same digest, and it decides any
    request without raising."""
    text, kind, request = case
    try:
        document = parse_policy(text, kind)
    except PolicyError as exc:
        assert exc.reason and isinstance(exc.path, str)
        assert exc.offset is None or 0 <= exc.offset <= len(text)
        return
    assert parse_policy(document.canonical).digest == document.digest
    policy = compile_policy(document, name="fuzz")
    decision = evaluate([policy], request)
    assert decision.effect is not None


def check_policy_object(case: tuple[Any, PolicyRequest]) -> None:
    """The same, for a document handed over already decoded (the API's JSON body)."""
    value, request = case
    try:
        document = parse_policy(value)
    except PolicyError as exc:
        assert exc.reason
        return
    evaluate([compile_policy(document)], request)


kinds = st.none() | st.sampled_from(list(PolicyKind))
policy_cases = st.tuples(policy_texts(), kinds, policy_requests)
policy_objects = st.tuples(documents() | json_values | st.builds(dict), policy_requests)
