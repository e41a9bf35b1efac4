"""The server's own objects pass git's push checks before they enter a repository.

`install_objects` is called here without the writer's Python pre-check, so these tests
show git's `index-pack --strict` is the authority; the writer tests show what a refused
commit leaves (nothing) and that a deletion cleaning up an old bad entry goes through.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dulwich.objects import Blob, ShaFile, Tree

from gitserver.content.errors import InvalidPath, ObjectsRefused
from gitserver.content.packs import install_objects
from gitserver.content.writer import CommitRequest, PutEntry, Writer
from gitserver.store.errors import InvalidBranchName
from tests.unit.gitserver.content_support import Env, run_in_repo

BAD_NAMES = [
    ".GIT",
    ".Git",
    "GIT~1",
    ".git.",
    ".git ",
    ".git::$INDEX_ALLOCATION",
    ".g\u200cit",
    ".git\ufeff",
]


def _tree(name: bytes, content: bytes) -> list[ShaFile]:
    blob = Blob.from_string(content)
    inner = Tree()
    inner.add(b"config", 0o100644, blob.id)
    root = Tree()
    root.add(name, 0o040000, inner.id)
    return [blob, inner, root]


def _files(env: Env) -> set[Path]:
    return set((env.path / "objects").rglob("*"))


@pytest.mark.parametrize("name", BAD_NAMES)
def test_git_refuses_dotgit_lookalikes_and_nothing_is_added(tmp_path: Path, name: str) -> None:
    async def body(env: Env) -> None:
        before = _files(env)
        with pytest.raises(ObjectsRefused) as caught:
            await install_objects(env.server_git, env.path, _tree(name.encode(), b"[core]\n"))
        assert caught.value.checks == ("hasDotgit",)
        assert caught.value.aws_type == "InvalidPathException"
        assert _files(env) == before

    run_in_repo(tmp_path, body)


@pytest.mark.parametrize(
    ("text", "check"),
    [
        (b'[submodule "../x"]\n\tpath = a\n\turl = https://h/x\n', "gitmodulesName"),
        (b'[submodule "x"]\n\tpath = a\n\turl = -u./p\n', "gitmodulesUrl"),
        (b'[submodule "x"]\n\tpath = -a\n\turl = https://h/x\n', "gitmodulesPath"),
    ],
)
def test_git_refuses_bad_gitmodules(tmp_path: Path, text: bytes, check: str) -> None:
    async def body(env: Env) -> None:
        before = _files(env)
        blob = Blob.from_string(text)
        root = Tree()
        root.add(b".gitmodules", 0o100644, blob.id)
        with pytest.raises(ObjectsRefused) as caught:
            await install_objects(env.server_git, env.path, [blob, root])
        assert check in caught.value.checks
        assert _files(env) == before

    run_in_repo(tmp_path, body)


def test_accepted_objects_are_installed_as_one_pack(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        objects = _tree(b"docs", b"fine\n")
        await install_objects(env.server_git, env.path, objects)
        assert env.bare("cat-file", "-t", objects[-1].id.decode()) == "tree"
        assert not list((env.path / "objects").glob("tmp_objdir*"))
        assert len(list((env.path / "objects" / "pack").glob("*.pack"))) == 1
        # The same objects again (and one twice): already there, nothing fails.
        await install_objects(env.server_git, env.path, [*objects, objects[0]])
        env.bare("fsck", "--strict")

    run_in_repo(tmp_path, body)


def _request(parent: str | None, branch: str = "main", **kw: object) -> CommitRequest:
    return CommitRequest(branch, parent, "Ann", "ann@example.com", "m", **kw)  # type: ignore[arg-type]


def test_a_refused_commit_moves_nothing_and_records_nothing(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        writer = Writer(env.db, env.server_git, env.store, 1000)
        first = await writer.commit(env.repo, _request(None, puts=(PutEntry("a", b"a\n"),)), "u")
        before, events = _files(env), await env.events()
        bad = PutEntry(".gitmodules", b'[submodule "../x"]\n\tpath = a\n\turl = https://h/x\n')
        with pytest.raises(ObjectsRefused):
            await writer.commit(env.repo, _request(first.commit_id, puts=(bad,)), "u")
        with pytest.raises(InvalidPath):  # the early, clearer answer for paths
            await writer.commit(
                env.repo, _request(first.commit_id, puts=(PutEntry("GIT~1/x", b"x"),)), "u"
            )
        with pytest.raises(InvalidBranchName):
            await writer.commit(
                env.repo, _request(None, "heads/main", puts=(PutEntry("b", b"b\n"),)), "u"
            )
        assert env.bare("rev-parse", "main") == first.commit_id
        assert env.bare("for-each-ref", "--format=%(refname)") == "refs/heads/main"
        assert await env.events() == events
        assert _files(env) == before
        env.bare("fsck", "--strict")

    run_in_repo(tmp_path, body)


def test_delete_is_judged_by_the_trees_it_leaves(tmp_path: Path) -> None:
    """A `.GIT` entry written before these checks (straight into the repository): a
    commit whose tree keeps it is refused, the one that deletes it goes through."""

    async def body(env: Env) -> None:
        work = env.work
        blob = env.git("hash-object", "-w", "--stdin", cwd=work, input=b"[core]\n").stdout.strip()
        inner = env.git("mktree", cwd=work, input=f"100644 blob {blob}\tconfig\n".encode())
        readme = env.git("hash-object", "-w", "--stdin", cwd=work, input=b"hi\n").stdout.strip()
        listing = f"040000 tree {inner.stdout.strip()}\t.GIT\n100644 blob {readme}\tREADME\n"
        root = env.git("mktree", cwd=work, input=listing.encode()).stdout.strip()
        legacy = env.git("commit-tree", root, "-m", "old", cwd=work).stdout.strip()
        env.git("push", "-q", "origin", f"{legacy}:refs/heads/main", cwd=work)
        writer = Writer(env.db, env.server_git, env.store, 1000)

        with pytest.raises(ObjectsRefused) as caught:
            await writer.commit(env.repo, _request(legacy, deletes=("README",)), "u")
        assert caught.value.checks == ("hasDotgit",)
        assert env.bare("rev-parse", "main") == legacy

        cleaned = await writer.commit(env.repo, _request(legacy, deletes=(".GIT/config",)), "u")
        assert env.bare("rev-parse", "main") == cleaned.commit_id
        assert env.bare("ls-tree", "--name-only", "main") == "README"

    run_in_repo(tmp_path, body)
