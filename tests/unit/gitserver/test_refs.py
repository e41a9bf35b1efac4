from __future__ import annotations

import asyncio
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitserver.gitcmd import Git
from gitserver.store.naming import ZERO_OID
from gitserver.store.refs import (
    RefChange,
    RefKind,
    choose_default_branch,
    classify,
    parse_update_lines,
    quarantined_parents,
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


def _git(repo: Path, *args: str, stdin: str | None = None, objects: Path | None = None) -> str:
    """git in `repo`; `objects`: a quarantine (new objects there, the repository's readable)."""
    when = "2026-01-01T00:00:00Z"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(repo),
        "GIT_CONFIG_NOSYSTEM": "1",
        **{f"GIT_{who}_NAME": "t" for who in ("AUTHOR", "COMMITTER")},
        **{f"GIT_{who}_EMAIL": "t@example.com" for who in ("AUTHOR", "COMMITTER")},
        **{f"GIT_{who}_DATE": when for who in ("AUTHOR", "COMMITTER")},
    }
    if objects is not None:
        env["GIT_OBJECT_DIRECTORY"] = str(objects)
        env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = str(repo / "objects")
    done = subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@dataclass
class Quarantined:
    """A repository with `base` in it and a push's commits in its quarantine."""

    repo: Path
    quarantine: Path
    base: str

    def commit(self, message: str, *parents: str) -> str:
        tree = _git(self.repo, "mktree", stdin="", objects=self.quarantine)
        flags = [flag for parent in parents for flag in ("-p", parent)]
        return _git(self.repo, "commit-tree", tree, *flags, "-m", message, objects=self.quarantine)

    def env(self) -> dict[str, str]:
        """What pre-receive's environment says of objects (`GitEngine.object_env`)."""
        return {
            "GIT_OBJECT_DIRECTORY": str(self.quarantine),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(self.repo / "objects"),
        }

    def parents(self, oid: str) -> list[str]:
        return quarantined_parents(self.repo, self.env(), oid)

    def kind(self, old: str, new: str) -> RefKind:
        git = Git(self.repo.parent / "home")
        return asyncio.run(classify(git, self.repo, old, new, self.env()))

    def pack(self) -> None:
        """As git keeps a push (`receive.unpackLimit` 1): one pack, no loose objects."""
        loose = [
            f"{part.parent.name}{part.name}"
            for part in self.quarantine.glob("??/*")
            if part.parent.name != "pack"
        ]
        (self.quarantine / "pack").mkdir(exist_ok=True)
        name = self.quarantine / "pack" / "pack"
        _git(
            self.repo,
            "pack-objects",
            "-q",
            str(name),
            stdin="\n".join(loose),
            objects=self.quarantine,
        )
        _git(self.repo, "prune-packed", objects=self.quarantine)


@pytest.fixture
def pushed(tmp_path: Path) -> Quarantined:
    repo = tmp_path / "repo.git"
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    tree = _git(repo, "mktree", stdin="")
    base = _git(repo, "commit-tree", tree, "-m", "base")
    quarantine = repo / "objects" / "tmp_objdir-incoming-test"
    quarantine.mkdir()
    return Quarantined(repo, quarantine, base)


@pytest.mark.parametrize("packed", [False, True], ids=["loose", "packed"])
def test_quarantined_parents_are_the_header_lines_only(pushed: Quarantined, packed: bool) -> None:
    base = pushed.base
    side = pushed.commit("side", base)
    # A message line that looks like a header line is not a parent.
    lying = pushed.commit(f"subject\n\nparent {side}\nparent {base}", base)
    merge = pushed.commit("merge", side, lying)
    tree = _git(pushed.repo, "mktree", stdin="", objects=pushed.quarantine)
    if packed:
        pushed.pack()
        assert not list(pushed.quarantine.glob("??/*")), "the objects were not packed"
    assert pushed.parents(side) == [base]
    assert pushed.parents(lying) == [base]
    assert pushed.parents(merge) == [side, lying]
    assert pushed.parents(tree) == []  # not a commit
    assert pushed.parents("c" * 40) == []  # not there
    assert pushed.parents(base) == []  # in the repository, not the push
    outside = {"GIT_OBJECT_DIRECTORY": str(pushed.repo.parent)}
    assert quarantined_parents(pushed.repo, outside, side) == []  # not the repository's


@pytest.mark.parametrize("packed", [False, True], ids=["loose", "packed"])
def test_classify_is_not_fooled_by_a_parent_line_in_the_message(
    pushed: Quarantined, packed: bool
) -> None:
    tip = pushed.commit("tip", pushed.base)
    # A rewrite of `tip` whose message names it as a parent: still a forced update.
    rewrite = pushed.commit(f"rewrite\n\nparent {tip}", pushed.base)
    grandchild = pushed.commit("grandchild", tip)
    if packed:
        pushed.pack()
    assert pushed.kind(tip, rewrite) is RefKind.FORCED
    assert pushed.kind(pushed.base, tip) is RefKind.FAST_FORWARD
    assert pushed.kind(pushed.base, grandchild) is RefKind.FAST_FORWARD  # through git
    assert pushed.kind(grandchild, pushed.base) is RefKind.FORCED
