"""The one rule for branch and tag names other refs' names could be mistaken for, and
where it is applied: the per-ref push plan and the API's branch names."""

from __future__ import annotations

import pytest

from gitserver.store.branches import validate_branch_name, validate_new_branch_name
from gitserver.store.errors import InvalidBranchName
from gitserver.store.naming import ambiguous_ref_problem, ref_update_problem
from gitserver.transport.pktline import FLUSH, Command, PushRequest, pkt
from gitserver.transport.reportstatus import plan_push

OLD, NEW, ZERO = "a" * 40, "b" * 40, "0" * 40


@pytest.mark.parametrize(
    "ref",
    [
        "refs/heads/refs/heads/main",
        "refs/heads/heads/main",
        "refs/heads/tags/v1",
        "refs/heads/remotes/origin/main",
        "refs/tags/refs/x",
        "refs/tags/heads/x",
    ],
)
def test_ambiguous_names_are_refused_but_may_be_deleted(ref: str) -> None:
    assert ambiguous_ref_problem(ref)
    assert ref_update_problem(ref, NEW)
    assert ref_update_problem(ref, ZERO) is None


@pytest.mark.parametrize(
    "ref", ["refs/heads/main", "refs/heads/feature/heads/x", "refs/tags/v1", "refs/notes/heads/x"]
)
def test_other_names_are_fine(ref: str) -> None:
    assert ambiguous_ref_problem(ref) is None
    assert ref_update_problem(ref, NEW) is None


def test_new_branch_names_are_checked_but_existing_ones_can_be_named() -> None:
    with pytest.raises(InvalidBranchName, match="ambiguous"):
        validate_new_branch_name("heads/main")
    assert validate_branch_name("heads/main") == "heads/main"  # GetBranch, DeleteBranch
    assert validate_new_branch_name("main") == "main"


def _push(*refs: str, caps: str = "report-status side-band-64k") -> PushRequest:
    raw = bytearray()
    for index, ref in enumerate(refs):
        line = f"{OLD} {NEW} {ref}".encode()
        raw += pkt(line + (b"\0" + caps.encode() if index == 0 else b"") + b"\n")
    raw += FLUSH
    commands = tuple(Command(OLD, NEW, ref) for ref in refs)
    return PushRequest(commands, frozenset(caps.split()), bytes(raw))


def test_plan_push_drops_ambiguous_refs_and_keeps_the_rest() -> None:
    plan = plan_push(_push("refs/heads/main", "refs/heads/heads/main"), {})
    assert not plan.whole_rejection
    assert b"refs/heads/heads/main" not in plan.prefix and b"refs/heads/main" in plan.prefix
    assert list(plan.refused) == ["refs/heads/heads/main"]
    assert plan.splicer is not None


def test_plan_push_refuses_an_atomic_push_whole_with_the_reason() -> None:
    plan = plan_push(_push("refs/heads/main", "refs/tags/refs/x", caps="report-status atomic"), {})
    assert plan.whole_rejection
    assert "ambiguous" in plan.refused["refs/tags/refs/x"]


def test_a_policy_denial_keeps_its_own_reason() -> None:
    plan = plan_push(_push("refs/heads/heads/main"), {"refs/heads/heads/main": "not authorized"})
    assert plan.whole_rejection and plan.refused == {"refs/heads/heads/main": "not authorized"}
