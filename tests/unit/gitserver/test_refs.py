from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

from gitserver.gitcmd import Git
from gitserver.store.naming import ZERO_OID
from gitserver.store.refs import (
    RefChange,
    RefKind,
    choose_default_branch,
    classify,
    loose_parents,
    parse_update_lines,
)

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


def _git(repo: Path, *args: str, stdin: str | None = None) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(repo),
        "GIT_CONFIG_NOSYSTEM": "1",
        **{
            f"GIT_{who}_{what}": value
            for who in ("AUTHOR", "COMMITTER")
            for what, value in (
                ("NAME", "t"),
                ("EMAIL", "t@example.com"),
                ("DATE", "2026-01-01T00:00:00Z"),
            )
        },
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _commit(repo: Path, message: str, *parents: str) -> str:
    tree = _git(repo, "mktree", stdin="")
    flags = [flag for parent in parents for flag in ("-p", parent)]
    return _git(repo, "commit-tree", tree, *flags, "-m", message)


def test_loose_parents_are_the_header_lines_only(tmp_path: Path) -> None:
    repo = tmp_path / "repo.git"
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    base = _commit(repo, "base")
    side = _commit(repo, "side", base)
    # A message line that looks like a header line is not a parent.
    lying = _commit(repo, f"subject\n\nparent {side}\nparent {base}", base)
    merge = _commit(repo, "merge", side, lying)
    objects = [repo / "objects"]
    assert loose_parents(objects, base) == []
    assert loose_parents(objects, side) == [base]
    assert loose_parents(objects, lying) == [base]
    assert loose_parents(objects, merge) == [side, lying]
    tree = _git(repo, "mktree", stdin="")
    assert loose_parents(objects, tree) == []  # not a commit
    assert loose_parents(objects, "c" * 40) == []  # not there
    _git(repo, "update-ref", "refs/heads/main", merge)
    _git(repo, "gc", "--quiet")
    assert loose_parents(objects, side) == []  # packed: the caller asks git


def test_classify_is_not_fooled_by_a_parent_line_in_the_message(tmp_path: Path) -> None:
    repo = tmp_path / "repo.git"
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    git = Git(tmp_path / "home")

    def kind(old: str, new: str) -> RefKind:
        return asyncio.run(classify(git, repo, old, new))

    base = _commit(repo, "base")
    tip = _commit(repo, "tip", base)
    # A rewrite of `tip` whose message names it as a parent: still a forced update.
    rewrite = _commit(repo, f"rewrite\n\nparent {tip}", base)
    assert kind(tip, rewrite) is RefKind.FORCED
    assert kind(base, tip) is RefKind.FAST_FORWARD
    grandchild = _commit(repo, "grandchild", tip)
    assert kind(base, grandchild) is RefKind.FAST_FORWARD  # through git
    _git(repo, "update-ref", "refs/heads/main", grandchild)
    _git(repo, "update-ref", "refs/heads/other", rewrite)
    _git(repo, "gc", "--quiet")
    assert kind(base, tip) is RefKind.FAST_FORWARD  # packed: through git
    assert kind(tip, rewrite) is RefKind.FORCED
