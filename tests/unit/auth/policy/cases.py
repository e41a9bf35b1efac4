"""Builders for the policy tables: statements, requests and one parametrized row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from auth.policy import (
    CompiledPolicy,
    ContextValue,
    PolicyRequest,
    compile_policy,
    evaluate,
)

# A: allowed, D: explicit deny, N: implicit deny (no statement allows).
A, D, N = "allowed", "explicitDeny", "implicitDeny"
ACCOUNT = "111122223333"
REPO = f"arn:aws:codecommit:us-east-1:{ACCOUNT}:MyRepo"
OTHER = f"arn:aws:codecommit:us-east-1:{ACCOUNT}:OtherRepo"
PULL, PUSH = "codecommit:GitPull", "codecommit:GitPush"

Doc = list[dict[str, Any]] | dict[str, Any]


def stmt(
    effect: str = "Allow",
    action: str | list[str] | None = PULL,
    resource: str | list[str] | None = "*",
    condition: dict[str, Any] | None = None,
    *,
    not_action: str | list[str] | None = None,
    not_resource: str | list[str] | None = None,
    sid: str | None = None,
) -> dict[str, Any]:
    """One statement; pass ``not_action``/``not_resource`` to use the negated elements."""
    out: dict[str, Any] = {"Effect": effect}
    if sid is not None:
        out["Sid"] = sid
    if not_action is not None:
        out["NotAction"] = not_action
    elif action is not None:
        out["Action"] = action
    if not_resource is not None:
        out["NotResource"] = not_resource
    elif resource is not None:
        out["Resource"] = resource
    if condition is not None:
        out["Condition"] = condition
    return out


def allow(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return stmt("Allow", *args, **kwargs)


def deny(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return stmt("Deny", *args, **kwargs)


def req(
    action: str = PULL,
    resource: str = REPO,
    context: Mapping[str, ContextValue] | None = None,
    **principal: Any,
) -> PolicyRequest:
    return PolicyRequest(action, resource, dict(context or {}), **principal)


def compile_all(policies: list[Doc]) -> list[CompiledPolicy]:
    """Each item is a statement list (Version 2012-10-17) or a whole document."""
    compiled = []
    for i, policy in enumerate(policies):
        doc = policy if isinstance(policy, dict) else {"Version": "2012-10-17", "Statement": policy}
        compiled.append(compile_policy(doc, f"P{i}"))
    return compiled


def decide(policies: list[Doc], request: PolicyRequest) -> str:
    return str(evaluate(compile_all(policies), request).effect)


def row(rule: str, policies: list[Doc], request: PolicyRequest, expected: str) -> Any:
    """A table row; ``rule`` names the AWS documentation rule it checks."""
    return pytest.param(policies, request, expected, id=rule)


def when(
    rule: str,
    operator: str,
    key: str,
    value: Any,
    context: Mapping[str, ContextValue] | None,
    expected: str,
    **principal: Any,
) -> Any:
    """A row for one condition entry on an Allow of GitPull on ``*``."""
    statement = allow(condition={operator: {key: value}})
    return row(rule, [[statement]], req(context=context, **principal), expected)
