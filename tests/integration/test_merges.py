"""The merge engine against real git: what the server computes for two commits equals what
`git merge` leaves in a clone of the same repository."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gitserver.content.errors import (
    FileContentTooLarge,
    InvalidConflictResolution,
    InvalidReplacementContent,
    ManualMergeRequired,
    MaximumConflictResolutionEntriesExceeded,
    MultipleConflictResolutionEntries,
    ReplacementContentRequired,
)
from gitserver.content.merges import (
    ConflictResolution,
    MergeOption,
    MergeRequest,
    MergeResult,
    ReplaceContent,
    merge_commits,
)
from gitserver.content.mergetree import ConflictedFile, Stage, merge_tree
from gitserver.gitcmd import Git as ServerGit
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

    def change(self, files: dict[str, str], remove: tuple[str, ...] = ()) -> None:
        for name, content in files.items():
            self.write(name, content)
        for name in remove:
            self.git("rm", "-q", "-r", name, cwd=self.work)

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
    # The engine alone: no server, so nothing of its wiring is imported.
    return Repo(git, work, bare, ServerGit(tmp_path / "server-home"))


def _lines(conflicts: tuple[ConflictedFile, ...]) -> set[str]:
    out = set()
    for c in conflicts:
        for number, stage in ((1, c.base), (2, c.destination), (3, c.source)):
            if stage is not None:
                out.add(f"{stage.mode} {stage.object_id} {number}\t{c.path}")
    return out


def _two_branches(
    repo: Repo, base: Callable[[], object], dest: Callable[[], object], src: Callable[[], object]
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


# --- merge_commits: each kind of change, against `git merge` ----------------------------


def _rm(repo: Repo, name: str) -> None:
    repo.git("rm", "-q", "-r", name, cwd=repo.work)


def _symlink(repo: Repo, name: str, target: str) -> None:
    link = repo.work / name
    if link.exists() or link.is_symlink():
        link.unlink()
    link.symlink_to(target)
    repo.git("add", name, cwd=repo.work)


def _merge(repo: Repo, destination: str, source: str, **kw: Any) -> MergeResult:
    option = kw.pop("option", MergeOption.THREE_WAY)
    # git merge's own level unless a test asks for another (AWS defaults to FILE_LEVEL).
    kw.setdefault("level", "LINE_LEVEL")
    request = MergeRequest(option, **kw)
    return asyncio.run(
        merge_commits(
            repo.server,
            repo.bare,
            source=source,
            destination=destination,
            request=request,
            committer="alice",
        )
    )


def _reference_accept(repo: Repo, destination: str, source: str, side: str) -> str:
    """`git merge`, then each conflicted path as `side` has it (`git checkout --ours` /
    `--theirs`, or removed where that side has no version): the tree."""
    repo.checkout("--detach", destination)
    repo.git("merge", "-q", "--no-edit", source, cwd=repo.work, check=False)
    stage = "2" if side == "ours" else "3"
    unmerged: dict[str, set[str]] = {}
    for line in repo.git("ls-files", "-u", "-z", cwd=repo.work).stdout.split("\0"):
        if line:
            info, _, name = line.partition("\t")
            unmerged.setdefault(name, set()).add(info.split(" ")[2])
    for name, stages in unmerged.items():
        if stage in stages:
            repo.git("checkout", f"--{side}", "--", name, cwd=repo.work)
            repo.git("add", "--", name, cwd=repo.work)
        else:
            repo.git("rm", "-q", "--cached", "--", name, cwd=repo.work)
            (repo.work / name).unlink(missing_ok=True)
    tree = repo.git("write-tree", cwd=repo.work).stdout.strip()
    repo.git("push", "-q", str(repo.bare), f"{tree}:refs/reference", cwd=repo.work, check=False)
    repo.git("reset", "-q", "--hard", cwd=repo.work)
    return tree


Change = Callable[[Repo], object]
KINDS: dict[str, tuple[Change, Change, Change]] = {
    "contents": (
        lambda r: r.write("f.txt", "1\n2\n3\n"),
        lambda r: r.write("f.txt", "1\nD\n3\n"),
        lambda r: r.write("f.txt", "1\nS\n3\n"),
    ),
    "rename and edit": (
        lambda r: r.write("old.txt", "".join(f"line {i}\n" for i in range(20))),
        lambda r: r.write("old.txt", "changed\n" + "".join(f"line {i}\n" for i in range(1, 20))),
        lambda r: r.git("mv", "old.txt", "new.txt", cwd=r.work),
    ),
    "rename/rename": (
        lambda r: r.write("a.txt", "same\n"),
        lambda r: r.git("mv", "a.txt", "b.txt", cwd=r.work),
        lambda r: r.git("mv", "a.txt", "c.txt", cwd=r.work),
    ),
    "binary": (
        lambda r: r.write("img.bin", bytes(range(256))),
        lambda r: r.write("img.bin", bytes(range(255, -1, -1))),
        lambda r: r.write("img.bin", b"\0\1\2" * 50),
    ),
    "mode change": (
        lambda r: r.write("run.sh", "echo 1\n"),
        lambda r: r.write("run.sh", "echo 1\n", mode="x"),
        lambda r: r.write("other.txt", "x\n"),
    ),
    "mode and content": (
        lambda r: r.write("run.sh", "a\nb\nc\n"),
        lambda r: r.write("run.sh", "a\nB\nc\n", mode="x"),
        lambda r: r.write("run.sh", "a\nBB\nc\n"),
    ),
    "symlink": (
        lambda r: _symlink(r, "link", "one"),
        lambda r: _symlink(r, "link", "two"),
        lambda r: _symlink(r, "link", "three"),
    ),
    "add/add": (
        lambda r: r.write("keep.txt", "k\n"),
        lambda r: r.write("new.txt", "from destination\n"),
        lambda r: r.write("new.txt", "from source\n"),
    ),
    "delete/modify": (
        lambda r: r.write("d.txt", "1\n"),
        lambda r: _rm(r, "d.txt"),
        lambda r: r.write("d.txt", "2\n"),
    ),
    "modify/delete": (
        lambda r: r.write("d.txt", "1\n"),
        lambda r: r.write("d.txt", "2\n"),
        lambda r: _rm(r, "d.txt"),
    ),
    "clean on both sides": (
        lambda r: r.change({"a.txt": "a\n", "dir/b.txt": "b\n"}),
        lambda r: r.change({"c.txt": "c\n"}, remove=("a.txt",)),
        lambda r: r.change({"dir/d.txt": "d\n", "dir/b.txt": "B\n"}),
    ),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_three_way_and_squash_give_git_merges_tree_or_require_a_manual_merge(
    repo: Repo, kind: str
) -> None:
    base, dest, src = KINDS[kind]
    destination, source = _two_branches(
        repo, lambda: base(repo), lambda: dest(repo), lambda: src(repo)
    )
    clean, tree, _ = repo.reference_merge(destination, source)
    for option in (MergeOption.THREE_WAY, MergeOption.SQUASH):
        if not clean:
            with pytest.raises(ManualMergeRequired):
                _merge(repo, destination, source, option=option)
            continue
        result = _merge(repo, destination, source, option=option)
        assert result.tree_id == tree
        parents = repo.bare_git("log", "-1", "--format=%P", result.commit_id).split()
        expected = [destination] if option is MergeOption.SQUASH else [destination, source]
        assert parents == expected
        assert repo.bare_git("cat-file", "-t", result.commit_id) == "commit"
        assert repo.bare_git("log", "-1", "--format=%an", result.commit_id) == "alice"


@pytest.mark.parametrize("kind", list(KINDS))
def test_accept_source_and_destination_take_that_sides_version_of_each_conflict(
    repo: Repo, kind: str
) -> None:
    base, dest, src = KINDS[kind]
    destination, source = _two_branches(
        repo, lambda: base(repo), lambda: dest(repo), lambda: src(repo)
    )
    for strategy, side in (("ACCEPT_SOURCE", "theirs"), ("ACCEPT_DESTINATION", "ours")):
        expected = _reference_accept(repo, destination, source, side)
        result = _merge(repo, destination, source, strategy=strategy)
        assert repo.files(result.tree_id) == repo.files(expected), strategy


def _replace_with_folder(repo: Repo, name: str) -> None:
    _rm(repo, name)
    repo.write(f"{name}/inner.txt", "inside\n")


def _replace_with_symlink(repo: Repo, name: str) -> None:
    _rm(repo, name)
    _symlink(repo, name, "target")


# Each side changes only the path in conflict, so taking one side's version of it gives
# exactly that side's tree.
RENAMED_BY_GIT: dict[str, tuple[Change, Change, Change]] = {
    "file in destination, folder in source": (
        lambda r: r.write("df", "x\n"),
        lambda r: r.write("df", "changed\n"),
        lambda r: _replace_with_folder(r, "df"),
    ),
    "folder in destination, file in source": (
        lambda r: r.write("df", "x\n"),
        lambda r: _replace_with_folder(r, "df"),
        lambda r: r.write("df", "changed\n"),
    ),
    "file in destination, symlink in source": (
        lambda r: r.write("t", "x\n"),
        lambda r: r.write("t", "changed\n"),
        lambda r: _replace_with_symlink(r, "t"),
    ),
    "symlink in destination, file in source": (
        lambda r: r.write("t", "x\n"),
        lambda r: _replace_with_symlink(r, "t"),
        lambda r: r.write("t", "changed\n"),
    ),
}


@pytest.mark.parametrize("kind", list(RENAMED_BY_GIT))
def test_a_side_git_recorded_under_another_name_is_put_back_at_its_own(
    repo: Repo, kind: str
) -> None:
    base, dest, src = RENAMED_BY_GIT[kind]
    destination, source = _two_branches(
        repo, lambda: base(repo), lambda: dest(repo), lambda: src(repo)
    )
    clean, _, unmerged = repo.reference_merge(destination, source)
    assert not clean and any("~" in line for line in unmerged)
    with pytest.raises(ManualMergeRequired):
        _merge(repo, destination, source)
    theirs = _merge(repo, destination, source, strategy="ACCEPT_SOURCE")
    assert repo.files(theirs.tree_id) == repo.files(f"{source}^{{tree}}")
    ours = _merge(repo, destination, source, strategy="ACCEPT_DESTINATION")
    assert repo.files(ours.tree_id) == repo.files(f"{destination}^{{tree}}")


def test_fast_forward_only_when_the_destination_is_an_ancestor(repo: Repo) -> None:
    repo.write("a", "1\n")
    first = repo.commit("one")
    repo.write("a", "2\n")
    second = repo.commit("two")
    repo.sync()
    result = _merge(repo, first, second, option=MergeOption.FAST_FORWARD)
    assert result == MergeResult(second, repo.rev("HEAD^{tree}"), base_id=first)
    # Nothing to merge: the destination is already what it would be (git: up to date).
    for option in MergeOption:
        assert _merge(repo, second, first, option=option).commit_id == second
    repo.checkout("-b", "side", first)
    repo.write("b", "3\n")
    side = repo.commit("three")
    repo.sync()
    with pytest.raises(ManualMergeRequired):
        _merge(repo, second, side, option=MergeOption.FAST_FORWARD)
    # Three-way always makes a merge commit, even where a fast-forward is possible.
    merged = _merge(repo, first, second, option=MergeOption.THREE_WAY)
    assert repo.bare_git("log", "-1", "--format=%P", merged.commit_id).split() == [first, second]


def test_explicit_resolution_replaces_deletes_and_sets_modes(repo: Repo) -> None:
    destination, source = _two_branches(
        repo,
        lambda: repo.change({"a.txt": "1\n", "b.txt": "1\n", "c": "1\n"}),
        lambda: repo.change({"a.txt": "D\n", "b.txt": "D\n", "c": "D\n"}),
        lambda: repo.change({"a.txt": "S\n", "b.txt": "S\n", "c": "S\n"}),
    )
    resolution = ConflictResolution(
        replace_contents=(
            ReplaceContent("a.txt", "USE_NEW_CONTENT", b"mine\n", "EXECUTABLE"),
            ReplaceContent("/c", "KEEP_BASE"),
        ),
        delete_files=("b.txt",),
        set_file_modes=(("c", "EXECUTABLE"),),
    )
    result = _merge(repo, destination, source, resolution=resolution, message="resolved")
    files = repo.files(result.tree_id)
    assert set(files) == {"a.txt", "c"}
    assert files["a.txt"].startswith("100755 ")
    assert repo.bare_git("cat-file", "-p", f"{result.tree_id}:a.txt") == "mine"
    assert files["c"] == "100755 " + repo.rev("main~1:c")
    assert repo.bare_git("log", "-1", "--format=%B", result.commit_id) == "resolved"
    # A resolution must cover every conflict unless a strategy takes the rest.
    partial = ConflictResolution(delete_files=("b.txt",))
    with pytest.raises(ManualMergeRequired):
        _merge(repo, destination, source, resolution=partial)
    rest = _merge(repo, destination, source, resolution=partial, strategy="ACCEPT_SOURCE")
    assert set(repo.files(rest.tree_id)) == {"a.txt", "c"}
    assert repo.bare_git("cat-file", "-p", f"{rest.tree_id}:a.txt") == "S"


@pytest.mark.parametrize(
    ("resolution", "error"),
    [
        (ConflictResolution(delete_files=("nope.txt",)), InvalidConflictResolution),
        (ConflictResolution(delete_files=("a.txt", "/a.txt")), MultipleConflictResolutionEntries),
        (
            ConflictResolution(replace_contents=(ReplaceContent("a.txt", "USE_NEW_CONTENT"),)),
            ReplacementContentRequired,
        ),
        (
            ConflictResolution(replace_contents=(ReplaceContent("a.txt", "KEEP_BASE", b"x"),)),
            InvalidReplacementContent,
        ),
        (
            ConflictResolution(delete_files=tuple(f"f{i}" for i in range(101))),
            MaximumConflictResolutionEntriesExceeded,
        ),
        (
            ConflictResolution(
                replace_contents=(ReplaceContent("a.txt", "USE_NEW_CONTENT", b"x" * 7_000_000),)
            ),
            FileContentTooLarge,
        ),
    ],
)
def test_resolution_errors(
    repo: Repo, resolution: ConflictResolution, error: type[Exception]
) -> None:
    destination, source = _two_branches(
        repo,
        lambda: repo.write("a.txt", "1\n"),
        lambda: repo.write("a.txt", "D\n"),
        lambda: repo.write("a.txt", "S\n"),
    )
    with pytest.raises(error):
        _merge(repo, destination, source, resolution=resolution)


def test_file_level_counts_a_file_both_sides_changed_as_a_conflict(repo: Repo) -> None:
    destination, source = _two_branches(
        repo,
        lambda: repo.write("f", "1\n2\n3\n4\n5\n"),
        lambda: repo.write("f", "one\n2\n3\n4\n5\n"),
        lambda: repo.write("f", "1\n2\n3\n4\nfive\n"),
    )
    _, tree, _ = repo.reference_merge(destination, source)
    assert _merge(repo, destination, source).tree_id == tree
    with pytest.raises(ManualMergeRequired):
        _merge(repo, destination, source, level="FILE_LEVEL")
    with pytest.raises(ManualMergeRequired):  # AWS's default level
        asyncio.run(
            merge_commits(
                repo.server,
                repo.bare,
                source=source,
                destination=destination,
                request=MergeRequest(MergeOption.THREE_WAY),
                committer="alice",
            )
        )
    assert _merge(repo, destination, source, level="FILE_LEVEL", strategy="AUTOMERGE").tree_id == (
        tree
    )
    theirs = _merge(repo, destination, source, level="FILE_LEVEL", strategy="ACCEPT_SOURCE")
    assert theirs.tree_id == repo.rev(f"{source}^{{tree}}")


def test_keep_empty_folders_when_a_resolution_empties_one(repo: Repo) -> None:
    destination, source = _two_branches(
        repo,
        lambda: repo.write("dir/a.txt", "1\n"),
        lambda: repo.write("dir/a.txt", "D\n"),
        lambda: repo.write("dir/a.txt", "S\n"),
    )
    resolution = ConflictResolution(delete_files=("dir/a.txt",))
    gone = _merge(repo, destination, source, resolution=resolution)
    assert repo.files(gone.tree_id) == {}
    kept = _merge(repo, destination, source, resolution=resolution, keep_empty_folders=True)
    assert list(repo.files(kept.tree_id)) == ["dir/..gitkeep"]


def test_criss_cross_history_merges_as_git_does_with_its_virtual_base(repo: Repo) -> None:
    repo.write("f", "".join(f"{i}\n" for i in range(10)))
    repo.commit("base")
    repo.git("branch", "other", cwd=repo.work)
    repo.write("f", "A\n" + "".join(f"{i}\n" for i in range(1, 10)))
    a = repo.commit("a")
    repo.checkout("other")
    repo.write("g", "g\n")
    b = repo.commit("b")
    repo.git("merge", "-q", "--no-edit", a, cwd=repo.work)
    repo.write("h", "h\n")
    destination = repo.commit("other side")
    repo.checkout("main")
    repo.git("merge", "-q", "--no-edit", b, cwd=repo.work)
    repo.write("f", "A\n" + "".join(f"{i}\n" for i in range(1, 9)) + "Z\n")
    source = repo.commit("main side")
    repo.sync()
    assert len(repo.bare_git("merge-base", "--all", destination, source).split()) == 2
    clean, tree, _ = repo.reference_merge(destination, source)
    assert clean
    assert _merge(repo, destination, source).tree_id == tree


def test_rename_on_one_side_and_a_mode_change_on_the_other(repo: Repo) -> None:
    body = "".join(f"line {i}\n" for i in range(20))
    destination, source = _two_branches(
        repo,
        lambda: repo.write("tool.sh", body),
        lambda: repo.write("tool.sh", body, mode="x"),
        lambda: repo.change({"bin/tool.sh": body}, remove=("tool.sh",)),
    )
    clean, tree, _ = repo.reference_merge(destination, source)
    assert clean
    result = _merge(repo, destination, source, option=MergeOption.SQUASH)
    assert result.tree_id == tree
    assert repo.files(tree)["bin/tool.sh"].startswith("100755 ")


def test_unrelated_histories_merge_into_one_commit_with_both_parents(repo: Repo) -> None:
    repo.write("a", "1\n")
    destination = repo.commit("one")
    repo.checkout("--orphan", "other")
    repo.git("rm", "-q", "-rf", ".", cwd=repo.work)
    repo.write("b", "2\n")
    source = repo.commit("two")
    repo.sync()
    _, tree, _ = repo.reference_merge(destination, source)
    result = _merge(repo, destination, source)
    assert result.tree_id == tree
    assert repo.bare_git("log", "-1", "--format=%P", result.commit_id).split() == [
        destination,
        source,
    ]
    with pytest.raises(ManualMergeRequired):
        _merge(repo, destination, source, option=MergeOption.FAST_FORWARD)


def test_file_level_keeps_a_renamed_file_git_merged(repo: Repo) -> None:
    base, dest, src = KINDS["rename and edit"]
    destination, source = _two_branches(
        repo, lambda: base(repo), lambda: dest(repo), lambda: src(repo)
    )
    _, tree, _ = repo.reference_merge(destination, source)
    for strategy in ("ACCEPT_DESTINATION", "ACCEPT_SOURCE", "NONE"):
        result = _merge(repo, destination, source, level="FILE_LEVEL", strategy=strategy)
        assert result.tree_id == tree, strategy
