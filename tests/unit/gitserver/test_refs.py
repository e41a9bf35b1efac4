from __future__ import annotations

from gitserver.store.naming import ZERO_OID
from gitserver.store.refs import RefChange, RefKind, choose_default_branch, parse_update_lines

A, B = "a" * 40, "b" * 40


def test_update_lines_drop_symref_and_zero_to_zero_noise() -> None:
    text = (
        f"{ZERO_OID} {A} refs/heads/main\n"
        f"{ZERO_OID} {A} HEAD\n"
        f"{ZERO_OID} {ZERO_OID} refs/tags/old\n"
        f"{A} {B} refs/heads/feature/with space\n"
        "garbage\n"
    )
    assert parse_update_lines(text) == [
        (ZERO_OID, A, "refs/heads/main"),
        (A, B, "refs/heads/feature/with space"),
    ]


def _created(*refs: str) -> list[RefChange]:
    return [RefChange(ref, ZERO_OID, A, RefKind.CREATED) for ref in refs]


def test_default_branch_prefers_main_then_master_then_first_pushed() -> None:
    assert choose_default_branch(_created("refs/heads/dev", "refs/heads/main")) == "main"
    assert choose_default_branch(_created("refs/heads/dev", "refs/heads/master")) == "master"
    assert (
        choose_default_branch(_created("refs/tags/v1", "refs/heads/dev", "refs/heads/x")) == "dev"
    )
    assert choose_default_branch(_created("refs/tags/v1")) is None
    updated = [RefChange("refs/heads/main", A, B, RefKind.FAST_FORWARD)]
    assert choose_default_branch(updated) is None
