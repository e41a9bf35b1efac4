"""Compile cache, managed documents, decision details and the package's import purity."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

import auth.policy
from auth.policy import (
    MANAGED_POLICIES,
    DecisionEffect,
    PolicyKind,
    PolicyRequest,
    clear_compile_cache,
    compile_cache_size,
    compile_policy,
    evaluate,
    named,
    parse_policy,
)
from tests.unit.auth.policy.cases import PULL, REPO, allow, deny

DOC = {"Version": "2012-10-17", "Statement": [allow(sid="Read"), deny("codecommit:GitPush")]}


def test_compile_cache_reuses_identical_documents() -> None:
    clear_compile_cache()
    first = compile_policy(DOC, "A")
    reordered = json.dumps({"Statement": DOC["Statement"], "Version": "2012-10-17"}, indent=2)
    second = compile_policy(reordered, "B")
    third = compile_policy(parse_policy(DOC))
    assert compile_cache_size() == 1
    assert first.statements is second.statements is third.statements
    assert first.digest == second.digest
    assert (first.name, second.name) == ("A", "B")
    assert named(first, "C").statements is first.statements


def test_matched_statements_name_policy_and_sid_or_index() -> None:
    policy = compile_policy(DOC, "Team")
    allowed = evaluate([policy], PolicyRequest(PULL, REPO))
    assert allowed.allowed and allowed.matched_statements == ("Team/Read",)
    denied = evaluate([policy, compile_policy(DOC)], PolicyRequest("codecommit:GitPush", REPO))
    assert denied.effect is DecisionEffect.EXPLICIT_DENY
    assert denied.matched_statements == ("Team/Statement[1]", "Statement[1]")
    nothing = evaluate([policy], PolicyRequest("iam:ListUsers", "*"))
    assert (nothing.effect, nothing.matched_statements) == (DecisionEffect.IMPLICIT_DENY, ())


def test_decision_effect_values_match_authorizer() -> None:
    from auth.authorizer import Effect

    assert {e.value for e in DecisionEffect} == {e.value for e in Effect}


@pytest.mark.parametrize("name", sorted(MANAGED_POLICIES))
def test_managed_policies_validate_as_managed(name: str) -> None:
    document = parse_policy(MANAGED_POLICIES[name], PolicyKind.MANAGED)
    assert document.version == "2012-10-17"


def test_package_imports_only_stdlib_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"auth"}
    for path in Path(auth.policy.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for module in names:
                root = module.split(".")[0]
                assert root in allowed, f"{path.name} imports {module}"
                if root == "auth":
                    assert module.startswith("auth.policy"), f"{path.name} imports {module}"
