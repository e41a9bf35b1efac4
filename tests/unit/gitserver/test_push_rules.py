"""Protected-branch globs and what an update of a protected branch breaks."""

from __future__ import annotations

import pytest

from gitserver.protection.rules import BranchRule, PushRules, glob_matches, ref_problems
from gitserver.store.naming import ZERO_OID
from gitserver.store.refs import RefKind

A, B = "a" * 40, "b" * 40


@pytest.mark.parametrize(
    ("pattern", "branch", "matches"),
    [
        pytest.param("main", "main", True, id="literal"),
        pytest.param("main", "main2", False, id="whole-name"),
        pytest.param("release/*", "release/1.0", True, id="star"),
        pytest.param("release/*", "release/1/hotfix", False, id="star-stays-in-a-part"),
        pytest.param("release/**", "release/1/hotfix", True, id="double-star"),
        pytest.param("v?.x", "v1.x", True, id="question-mark"),
        pytest.param("v?.x", "v1-x", False, id="dot-is-literal"),
        pytest.param("[ab]", "a", False, id="brackets-are-literal"),
        pytest.param("**", "any/thing", True, id="everything"),
    ],
)
def test_glob(pattern: str, branch: str, matches: bool) -> None:
    assert glob_matches(pattern, branch) is matches


def test_rules_apply_to_branches_only() -> None:
    rules = PushRules((BranchRule("**", no_deletion=True),), secret_scanning=False)
    assert rules.matching("refs/tags/v1") == []
    assert rules.needs_checks(["refs/heads/x"]) and not rules.needs_objects(["refs/heads/x"])
    assert not rules.needs_checks(["refs/tags/v1"])


def _problems(rule: BranchRule, old: str, new: str, kind: RefKind | None, merge: bool) -> str:
    return " ".join(ref_problems([rule], "refs/heads/main", old, new, kind, by_merge=merge))


def test_each_flag() -> None:
    strict = BranchRule("main", no_force_push=True, no_deletion=True)
    assert "force-pushing" in _problems(strict, A, B, RefKind.FORCED, False)
    assert _problems(strict, A, B, RefKind.FAST_FORWARD, False) == ""
    assert "deleting" in _problems(strict, A, ZERO_OID, None, False)
    assert _problems(strict, ZERO_OID, A, None, False) == ""  # creating it is allowed
    only_merges = BranchRule("main", require_pull_request=True)
    assert "pull request" in _problems(only_merges, A, B, RefKind.FAST_FORWARD, False)
    assert "pull request" in _problems(only_merges, A, ZERO_OID, None, False)
    assert _problems(only_merges, A, B, RefKind.FAST_FORWARD, True) == ""
