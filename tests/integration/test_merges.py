"""The merge engine against real git: what the server computes for two commits equals what
`git merge` leaves in a clone of the same repository."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitserver.content.mergetree import ConflictedFile, Stage, merge_tree
from gitserver.gitcmd import Git as ServerGit
from gitserver.services import GIT_CONFIG
from tests.support import Git


@dataclass
class Repo:
    git: Git
    work: Path  # where the test makes commits and runs `git merge` for reference
    bare: Path  # the "server's" repository, a bare clone
    server: ServerGit

    def sync(self) -> None:
        self.git("push", "-q", "--all", "--force", str(self.bare), cwd=self.work)

    def rev(self, rev: str) -> str:
        return self.git.rev_parse(self.work, rev)

    def bare_git(self, *args: str) -> str:
        return self.git("--git-dir", str(self.bare), *args).stdout.strip()

    def files(self, tree: str, but: frozenset[str] | set[str] = frozenset()) -> dict[str, str]:
        """`ls-tree -r` of a tree (in the bare repository) as path -> "mode oid"."""
        out = {}
        for line in self.bare_git("ls-tree", "-r", "-z", tree).split("\0"):
            if line:
                info, _, name = line.partition("\t")
                mode, _, oid = info.split(" ")
                if name not in but:
                    out[name] = f"{mode} {oid}"
        return out

    def write(self, name: str, content: str | bytes, mode: str = "") -> None:
        target = self.work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        if mode == "x":
            target.chmod(0o755)
        self.git("add", "-A", name, cwd=self.work)

    def commit(self, message: str) -> str:
        self.git("commit", "-q", "--allow-empty", "-m", message, cwd=self.work)
        return self.rev("HEAD")

    def checkout(self, *args: str) -> None:
        self.git("checkout", "-q", *args, cwd=self.work)

    def reference_merge(self, destination: str, source: str) -> tuple[bool, str, set[str]]:
        """`git merge` in the clone: clean?, the tree, and the unmerged index lines."""
        self.checkout("--detach", destination)
        merged = self.git(
            "merge",
            "-q",
            "--no-edit",
            "--allow-unrelated-histories",
            source,
            cwd=self.work,
            check=False,
        )
        unmerged = set(self.git("ls-files", "-u", "-z", cwd=self.work).stdout.split("\0")) - {""}
        if merged.returncode == 0:
            tree = self.rev("HEAD^{tree}")
        else:
            # What merge-tree writes: every path as the working tree has it.
            self.git("add", "-A", cwd=self.work)
            tree = self.git("write-tree", cwd=self.work).stdout.strip()
            self.git(
                "push", "-q", str(self.bare), f"{tree}:refs/reference", cwd=self.work, check=False
            )
        self.git("reset", "-q", "--hard", cwd=self.work)
        self.checkout("--detach", destination)
        return merged.returncode == 0, tree, unmerged


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    git = Git(tmp_path / "home")
    work = git.init(tmp_path / "work")
    bare = tmp_path / "bare.git"
    git("init", "-q", "--bare", str(bare))
    return Repo(git, work, bare, ServerGit(tmp_path / "server-home", forced_config=GIT_CONFIG))


def _lines(conflicts: tuple[ConflictedFile, ...]) -> set[str]:
    out = set()
    for c in conflicts:
        for number, stage in ((1, c.base), (2, c.destination), (3, c.source)):
            if stage is not None:
                out.add(f"{stage.mode} {stage.object_id} {number}\t{c.path}")
    return out


def _two_branches(
    repo: Repo, base: Callable[[], None], dest: Callable[[], None], src: Callable[[], None]
) -> tuple[str, str]:
    base()
    repo.commit("base")
    repo.git("branch", "-f", "src", cwd=repo.work)
    dest()
    destination = repo.commit("destination")
    repo.checkout("src")
    src()
    source = repo.commit("source")
    repo.checkout("main")
    repo.sync()
    return destination, source


def test_a_clean_merge_is_git_merges_tree_and_its_objects_are_installed_as_a_pack(
    repo: Repo,
) -> None:
    destination, source = _two_branches(
        repo,
        lambda: repo.write("f", "a\nb\nc\n"),
        lambda: repo.write("f", "A\nb\nc\n"),
        lambda: repo.write("f", "a\nb\nC\n"),
    )
    loose = repo.bare_git("count-objects", "-v").splitlines()[0]
    result = asyncio.run(merge_tree(repo.server, repo.bare, destination, source))
    clean, tree, _ = repo.reference_merge(destination, source)
    assert result.clean and clean
    assert result.tree_id == tree
    assert result.merge_base == repo.rev("main~1")
    assert result.conflicts == ()
    assert [(m.kind, m.paths) for m in result.messages] == [("Auto-merging", ("f",))]
    assert repo.bare_git("cat-file", "-t", tree) == "tree"
    # Only through index-pack: nothing loose, and the server's scratch directory is gone.
    assert repo.bare_git("count-objects", "-v").splitlines()[0] == loose
    assert [p.name for p in (repo.bare / "objects").iterdir() if p.name.startswith("tmp")] == []
    packs = len(list((repo.bare / "objects" / "pack").glob("*.pack")))
    again = asyncio.run(merge_tree(repo.server, repo.bare, destination, source))
    assert again == result
    assert len(list((repo.bare / "objects" / "pack").glob("*.pack"))) == packs


def test_a_content_conflict_lists_its_three_stages_and_messages(repo: Repo) -> None:
    destination, source = _two_branches(
        repo,
        lambda: repo.write("dir/f", "a\nb\nc\n"),
        lambda: repo.write("dir/f", "a\nB\nc\n"),
        lambda: repo.write("dir/f", "a\nBB\nc\n"),
    )
    result = asyncio.run(merge_tree(repo.server, repo.bare, destination, source))
    clean, tree, unmerged = repo.reference_merge(destination, source)
    assert not result.clean and not clean
    # The conflict markers' labels differ (merge-tree names the commits): the rest agrees.
    assert repo.files(result.tree_id, but={"dir/f"}) == repo.files(tree, but={"dir/f"})
    assert _lines(result.conflicts) == unmerged
    (conflict,) = result.conflicts
    assert conflict.path == "dir/f"
    assert conflict.base == Stage("100644", repo.rev("main~1:dir/f"))
    assert conflict.destination == Stage("100644", repo.rev("main:dir/f"))
    assert conflict.source == Stage("100644", repo.rev("src:dir/f"))
    assert ("CONFLICT (contents)", ("dir/f",)) in [(m.kind, m.paths) for m in result.messages]
    text = repo.bare_git("cat-file", "-p", f"{result.tree_id}:dir/f")
    assert "<<<<<<<" in text and ">>>>>>>" in text


def test_unrelated_histories_merge_with_no_base(repo: Repo) -> None:
    repo.write("a", "1\n")
    destination = repo.commit("one")
    repo.checkout("--orphan", "other")
    repo.git("rm", "-q", "-rf", ".", cwd=repo.work)
    repo.write("b", "2\n")
    source = repo.commit("two")
    repo.sync()
    result = asyncio.run(merge_tree(repo.server, repo.bare, destination, source))
    clean, tree, _ = repo.reference_merge(destination, source)
    assert result.clean and clean and result.tree_id == tree
    assert result.merge_base == ""
