"""Commits made by the content layer, checked with the real git, the ledger and the outbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitserver.content.errors import ContentError
from gitserver.content.writer import CommitOutcome, CommitRequest, Limits, PutEntry, Writer
from gitserver.store.errors import StoreError
from tests.unit.gitserver.content_support import Env, run_in_repo


def _writer(env: Env, limit: int | Limits = 1000) -> Writer:
    return Writer(env.db, env.server_git, env.store, limit)


def _request(parent: str | None, *puts: PutEntry, **kw: object) -> CommitRequest:
    fields: dict[str, object] = {"author": "Ann", "email": "ann@example.com", "message": "m"}
    fields.update(kw)
    return CommitRequest(
        branch=str(fields.pop("branch", "main")),
        parent=parent,
        puts=puts,
        **fields,  # type: ignore[arg-type]
    )


def test_first_put_creates_the_default_branch_and_is_recorded_like_a_push(
    tmp_path: Path,
) -> None:
    async def body(env: Env) -> None:
        writer = _writer(env)
        first = await writer.commit(
            env.repo,
            _request(None, PutEntry("/docs/readme.md", b"hello\n")),
            "alice",
            single_put=True,
        )
        assert (await env.fresh()).default_branch == "main"
        assert env.bare("symbolic-ref", "HEAD") == "refs/heads/main"
        assert env.bare("rev-parse", "main") == first.commit_id
        assert env.bare("rev-parse", "main^{tree}") == first.tree_id
        assert env.bare("log", "-1", "--format=%an <%ae>|%cn|%s|%P", "main") == (
            "Ann <ann@example.com>|Ann|m|"
        )
        env.bare("fsck", "--strict", "--no-dangling")
        # One pack, no loose objects, nothing left over from writing it.
        objects = env.path / "objects"
        assert not [p for p in objects.glob("??/*")]
        assert {p.suffix for p in (objects / "pack").iterdir()} == {".pack", ".idx"}
        second = await writer.commit(
            env.repo, _request(first.commit_id, PutEntry("docs/readme.md", b"bye\n")), "alice"
        )
        assert [m["absolutePath"] for m in second.updated] == ["docs/readme.md"]

        events = await env.events()
        assert [e["type"] for e in events] == [
            "repositoryCreated",
            "referenceCreated",
            "referenceUpdated",
        ]
        created, updated = events[1], events[2]
        assert created["actor"] == "alice" and created["detail"]["transport"] == "api"
        assert created["detail"]["commitId"] == first.commit_id
        assert updated["detail"]["oldCommitId"] == first.commit_id
        assert updated["detail"]["commitId"] == second.commit_id
        assert updated["detail"]["forced"] is False
        assert await env.ledger() == {"refs/heads/main": second.commit_id}
        assert await env.updates() == [("refs/heads/main", "committed", "api")] * 2
        reflog = env.bare("reflog", "show", "--format=%gs", "refs/heads/main")
        assert reflog.splitlines()[0] == "api: fast-forward by alice"

        clone = env.work.parent / "clone"
        env.git("clone", "-q", str(env.path), str(clone))
        assert (clone / "docs" / "readme.md").read_bytes() == b"bye\n"

    run_in_repo(tmp_path, body)


def test_create_commit_puts_moves_copies_deletes_and_modes(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        env.git.commit(env.work, "a/one.txt", "1\n")
        env.git.commit(env.work, "a/two.txt", "2\n")
        env.git.commit(env.work, "b/only.txt", "b\n")
        env.git.commit(env.work, "run.sh", "#!/bin/sh\n")
        env.push()
        tip = env.bare("rev-parse", "main")
        request = _request(
            tip,
            PutEntry("new/file.txt", b"new\n", mode="EXECUTABLE"),
            PutEntry("moved.txt", source="a/one.txt", is_move=True),
            PutEntry("copy.txt", source="a/two.txt"),
            deletes=("b/only.txt",),
            modes=(("run.sh", "EXECUTABLE"),),
            keep_empty_folders=True,
        )
        outcome: CommitOutcome = await _writer(env).commit(env.repo, request, "bob")
        files = env.bare("ls-tree", "-r", "--format=%(objectmode) %(path)", "main")
        assert files.splitlines() == [
            "100644 a/two.txt",
            "100644 b/..gitkeep",
            "100644 copy.txt",
            "100644 moved.txt",
            "100755 new/file.txt",
            "100755 run.sh",
        ]
        assert {m["absolutePath"] for m in outcome.added} == {
            "new/file.txt",
            "moved.txt",
            "copy.txt",
        }
        assert {m["absolutePath"] for m in outcome.deleted} == {"a/one.txt", "b/only.txt"}
        assert [(m["absolutePath"], m["fileMode"]) for m in outcome.updated] == [
            ("run.sh", "EXECUTABLE")
        ]
        env.bare("fsck", "--strict", "--no-dangling")

    run_in_repo(tmp_path, body)


def _populated(env: Env) -> str:
    env.git.commit(env.work, "dir/file.txt", "content\n")
    env.git("update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},sub", cwd=env.work)
    env.git("commit", "-qm", "submodule", cwd=env.work)
    env.git("tag", "v1", cwd=env.work)
    env.push("main", "v1")
    return env.bare("rev-parse", "main")


@pytest.mark.parametrize(
    ("request_args", "single_put", "aws_type"),
    [
        pytest.param({"parent": None}, True, "ParentCommitIdRequiredException", id="no-parent"),
        pytest.param({"parent": "abc"}, True, "InvalidParentCommitIdException", id="short-parent"),
        pytest.param({"parent": "e" * 40}, True, "ParentCommitDoesNotExistException", id="ghost"),
        pytest.param({"branch": "other"}, True, "BranchDoesNotExistException", id="no-branch"),
        pytest.param({"branch": "v1"}, True, "BranchNameIsTagNameException", id="tag-name"),
        pytest.param({"branch": "a..b"}, True, "InvalidBranchNameException", id="bad-branch"),
        pytest.param(
            {"path": "dir/file.txt", "content": b"content\n"},
            True,
            "SameFileContentException",
            id="same",
        ),
        pytest.param(
            {"path": "dir/file.txt", "content": b"content\n"},
            False,
            "NoChangeException",
            id="no-change",
        ),
        pytest.param({"content": b""}, True, "FileContentRequiredException", id="empty"),
        pytest.param(
            {"content": b"x" * 101}, True, "FileContentSizeLimitExceededException", id="big"
        ),
        pytest.param(
            {"path": "dir"}, True, "FileNameConflictsWithDirectoryNameException", id="dir"
        ),
        pytest.param(
            {"path": "dir/file.txt/x"},
            True,
            "DirectoryNameConflictsWithFileNameException",
            id="file",
        ),
        pytest.param(
            {"path": "sub"}, True, "FilePathConflictsWithSubmodulePathException", id="sub"
        ),
        pytest.param({"path": "a/../b"}, True, "InvalidPathException", id="dot-dot"),
        pytest.param({"path": ""}, True, "PathRequiredException", id="no-path"),
        pytest.param({"mode": "RWX"}, True, "InvalidFileModeException", id="mode"),
        pytest.param({"email": "nope"}, True, "InvalidEmailException", id="email"),
        pytest.param({"author": "n" * 1025}, True, "NameLengthExceededException", id="name"),
        pytest.param(
            {"message": "m" * (256 * 1024 + 1)},
            True,
            "CommitMessageLengthExceededException",
            id="msg",
        ),
    ],
)
def test_put_errors_change_nothing(
    tmp_path: Path, request_args: dict[str, object], single_put: bool, aws_type: str
) -> None:
    async def body(env: Env) -> None:
        tip = _populated(env)
        args: dict[str, object] = {"parent": tip, "path": "new.txt", "content": b"x", "mode": None}
        args.update(request_args)
        put = PutEntry(str(args.pop("path")), args.pop("content"), args.pop("mode"))  # type: ignore[arg-type]
        parent = args.pop("parent")
        with pytest.raises((ContentError, StoreError)) as error:
            await _writer(env, 100).commit(
                env.repo,
                _request(parent, put, **args),
                "alice",
                single_put=single_put,  # type: ignore[arg-type]
            )
        assert error.value.aws_type == aws_type  # type: ignore[union-attr]
        assert env.bare("rev-parse", "main") == tip
        assert [e["type"] for e in await env.events()] == ["repositoryCreated"]

    run_in_repo(tmp_path, body)


@pytest.mark.parametrize(
    ("puts", "deletes", "aws_type"),
    [
        pytest.param((), (), "FileEntryRequiredException", id="nothing"),
        pytest.param(
            tuple(PutEntry(f"f{n}", b"x") for n in range(101)),
            (),
            "MaximumFileEntriesExceededException",
            id="101",
        ),
        pytest.param(
            (PutEntry("a", b"x"), PutEntry("a/b", b"y")),
            (),
            "PutFileEntryConflictException",
            id="file-and-dir",
        ),
        pytest.param(
            (PutEntry("a", b"x"), PutEntry("/a", b"y")), (), "SamePathRequestException", id="twice"
        ),
        pytest.param(
            (PutEntry("m", source="dir/file.txt", is_move=True),),
            ("dir/file.txt",),
            "SamePathRequestException",
            id="move-and-delete",
        ),
        pytest.param((PutEntry("a"),), (), "SourceFileOrContentRequiredException", id="neither"),
        pytest.param(
            (PutEntry("a", b"x", source="dir/file.txt"),),
            (),
            "FileContentAndSourceFileSpecifiedException",
            id="both",
        ),
        pytest.param(
            (PutEntry("a", source="dir/.gitkeep"),),
            (),
            "RestrictedSourceFileException",
            id="gitkeep",
        ),
        pytest.param(
            (PutEntry("a", source="nope"),), (), "FileDoesNotExistException", id="no-source"
        ),
        pytest.param((), ("nope",), "FileDoesNotExistException", id="delete-missing"),
        pytest.param(
            (PutEntry("d/a", b"x" * 60), PutEntry("d/b", b"x" * 60)),
            (),
            "FolderContentSizeLimitExceededException",
            id="folder",
        ),
        pytest.param(
            (PutEntry("a", b"x" * 60), PutEntry("b/c", b"x" * 60)),
            (),
            "FileContentSizeLimitExceededException",
            id="combined",
        ),
    ],
)
def test_create_commit_errors_change_nothing(
    tmp_path: Path, puts: tuple[PutEntry, ...], deletes: tuple[str, ...], aws_type: str
) -> None:
    async def body(env: Env) -> None:
        tip = _populated(env)
        request = _request(tip, *puts, deletes=deletes)
        with pytest.raises(ContentError) as error:
            await _writer(env, Limits(file=100, folder=100, commit=110)).commit(
                env.repo, request, "alice"
            )
        assert error.value.aws_type == aws_type
        assert env.bare("rev-parse", "main") == tip
        assert [e["type"] for e in await env.events()] == ["repositoryCreated"]

    run_in_repo(tmp_path, body)


class _RacedWriter(Writer):
    """Moves the branch with the real git after the commit is built, before it lands:
    the window a concurrent push can hit."""

    racer: str = ""

    def _build(self, path: Path, request: CommitRequest):  # type: ignore[no-untyped-def]
        built = super()._build(path, request)
        import subprocess

        subprocess.run(
            ["git", "--git-dir", str(path), "update-ref", "refs/heads/main", self.racer],
            check=True,
        )
        return built


def test_a_push_between_read_and_write_wins_and_is_kept(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        tip = env.git.commit(env.work, "f.txt", "1\n")
        env.push()
        racer = env.git.commit(env.work, "f.txt", "pushed\n")
        env.push()  # its objects arrive; its ref update is replayed by the racer below
        env.bare("update-ref", "refs/heads/main", tip)  # as if the push were still to come
        writer = _RacedWriter(env.db, env.server_git, env.store, 1000)
        writer.racer = racer
        with pytest.raises(ContentError) as error:
            await writer.commit(env.repo, _request(tip, PutEntry("f.txt", b"api\n")), "alice")
        assert error.value.aws_type == "ParentCommitIdOutdatedException"
        assert env.bare("rev-parse", "main") == racer
        assert await env.updates() == [("refs/heads/main", "aborted", "api")]
        assert [e["type"] for e in await env.events()] == ["repositoryCreated"]
        # A stale parent is refused before anything is built.
        with pytest.raises(ContentError) as error:
            await _writer(env).commit(env.repo, _request(tip, PutEntry("f.txt", b"x")), "alice")
        assert error.value.aws_type == "ParentCommitIdOutdatedException"
        assert env.bare("rev-parse", "main") == racer

    run_in_repo(tmp_path, body)
