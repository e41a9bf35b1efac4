"""The content layer reads what the real git wrote: files, folders, blobs, commits,
differences and history, with every error under the model's exception name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from gitserver.api.shapes import (
    commit_json,
    difference_json,
    file_json,
    file_version_json,
    folder_json,
)
from gitserver.content.history import differences, file_differences, file_history
from gitserver.content.reader import Reader
from gitserver.content.sizes import object_size
from gitserver.store.errors import StoreError
from tests.unit.gitserver.content_support import Env, run_in_repo


def _diffs(reader: Reader, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """GetDifferences' entries, as the API shapes them."""
    return [difference_json(d) for d in differences(reader, *args, **kwargs)]


def _history(reader: Reader, *args: Any) -> list[dict[str, Any]]:
    return [file_version_json(v) for v in file_history(reader, *args)]


DATED = {"GIT_AUTHOR_DATE": "1484167798 -0800", "GIT_COMMITTER_DATE": "1484167799 +0530"}


def _aws(error: pytest.ExceptionInfo[StoreError]) -> str | None:
    return error.value.aws_type


def _populate(env: Env) -> dict[str, str]:
    """main: two commits (a file, an executable, a symlink, a submodule), tag v1, branch dev."""
    git, work = env.git, env.work
    first = git.commit(work, "src/app.py", "print('one')\n", "one")
    (work / "run.sh").write_text("#!/bin/sh\n")
    (work / "run.sh").chmod(0o755)
    os.symlink("src/app.py", work / "link")
    git("add", ".", cwd=work)
    git("update-index", "--add", "--cacheinfo", f"160000,{first},vendor/lib", cwd=work)
    (work / "src" / "app.py").write_text("print('two')\n")
    git("add", "src/app.py", cwd=work)
    # Not `commit -a`: it would drop the submodule, which has no directory here.
    git("commit", "-q", "-m", "two\n\nbody", cwd=work, env=DATED)
    second = git.rev_parse(work, "HEAD")
    git("tag", "-a", "v1", "-m", "release", first, cwd=work)
    git("branch", "dev", first, cwd=work)
    env.push("main", "dev", "v1")
    return {"first": first, "second": second}


def test_commit_specifiers_paths_and_modes(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        ids = _populate(env)
        with Reader(env.path) as r:
            cases = {
                None: ids["second"],
                "main": ids["second"],
                "refs/heads/main": ids["second"],
                "HEAD": ids["second"],
                "dev": ids["first"],
                "v1": ids["first"],  # an annotated tag, peeled
                "refs/tags/v1": ids["first"],
                ids["first"]: ids["first"],
            }
            for spec, expected in cases.items():
                assert r.resolve(spec, "main").id.decode() == expected, spec
            head = r.resolve(None, "main")
            got = file_json(r.get_file(head, "/src/app.py", 1024))
            assert got == {
                "commitId": ids["second"],
                "blobId": env.bare("rev-parse", "main:src/app.py"),
                "filePath": "src/app.py",
                "fileMode": "NORMAL",
                "fileSize": 13,
                "fileContent": b"print('two')\n",
            }
            assert file_json(r.get_file(head, "run.sh", 1024))["fileMode"] == "EXECUTABLE"
            link = file_json(r.get_file(head, "link", 1024))
            assert link["fileMode"] == "SYMLINK" and link["fileContent"] == b"src/app.py"
            old = file_json(r.get_file(r.resolve("v1", "main"), "src/app.py", 1024))
            assert old["fileContent"] == b"print('one')\n"

    run_in_repo(tmp_path, body)


@pytest.mark.parametrize(
    ("spec", "path", "aws_type"),
    [
        pytest.param("main", "", "PathRequiredException", id="empty-path"),
        pytest.param("main", "/", "PathRequiredException", id="root-is-no-file"),
        pytest.param("main", "src/../run.sh", "InvalidPathException", id="dot-dot"),
        pytest.param("main", "src//app.py", "InvalidPathException", id="empty-component"),
        pytest.param("main", ".git/config", "InvalidPathException", id="dot-git"),
        pytest.param("main", "src", "FileDoesNotExistException", id="a-folder"),
        pytest.param("main", "vendor/lib", "FileDoesNotExistException", id="a-submodule"),
        pytest.param("main", "nope.txt", "FileDoesNotExistException", id="missing"),
        pytest.param("main", "run.sh/x", "FileDoesNotExistException", id="below-a-file"),
        pytest.param("nope", "run.sh", "CommitDoesNotExistException", id="no-branch"),
        pytest.param("a" * 40, "run.sh", "CommitDoesNotExistException", id="unknown-sha"),
        pytest.param("main..dev", "run.sh", "InvalidCommitException", id="range"),
        pytest.param("main~1", "run.sh", "InvalidCommitException", id="revision-syntax"),
    ],
)
def test_get_file_errors(tmp_path: Path, spec: str, path: str, aws_type: str) -> None:
    async def body(env: Env) -> None:
        _populate(env)
        with Reader(env.path) as r, pytest.raises(StoreError) as error:
            file_json(r.get_file(r.resolve(spec, "main"), path, 1024))
        assert _aws(error) == aws_type

    run_in_repo(tmp_path, body)


def test_an_empty_repository_has_no_head_commit(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        with Reader(env.path) as r, pytest.raises(StoreError) as error:
            r.resolve(None, None)
        assert _aws(error) == "CommitDoesNotExistException"

    run_in_repo(tmp_path, body)


def test_get_folder_lists_every_kind(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        ids = _populate(env)
        with Reader(env.path) as r:
            head = r.resolve("main", "main")
            for root in ("/", ""):
                top = folder_json(r.get_folder(head, root))
                assert top["folderPath"] == "" and top["treeId"] == env.bare(
                    "rev-parse", "main^{tree}"
                )
                assert [f["relativePath"] for f in top["subFolders"]] == ["src", "vendor"]
                assert top["files"] == [
                    {
                        "blobId": env.bare("rev-parse", "main:run.sh"),
                        "fileMode": "EXECUTABLE",
                        "absolutePath": "run.sh",
                        "relativePath": "run.sh",
                    }
                ]
                assert top["symbolicLinks"][0]["absolutePath"] == "link"
            vendor = folder_json(r.get_folder(head, "/vendor"))
            assert vendor["subModules"] == [
                {"commitId": ids["first"], "absolutePath": "vendor/lib", "relativePath": "lib"}
            ]
            for missing in ("run.sh", "nope"):
                with pytest.raises(StoreError) as error:
                    folder_json(r.get_folder(head, missing))
                assert _aws(error) == "FolderDoesNotExistException"

    run_in_repo(tmp_path, body)


def test_get_blob_and_size_limits(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        _populate(env)
        blob = env.bare("rev-parse", "main:src/app.py")
        tree = env.bare("rev-parse", "main^{tree}")
        with Reader(env.path) as r:
            assert r.get_blob(blob, 13) == b"print('two')\n"
            for bad, aws_type in [
                (blob[:7], "InvalidBlobIdException"),
                (blob.upper(), "InvalidBlobIdException"),
                ("f" * 40, "BlobIdDoesNotExistException"),
                (tree, "BlobIdDoesNotExistException"),
            ]:
                with pytest.raises(StoreError) as error:
                    r.get_blob(bad, 1024)
                assert _aws(error) == aws_type, bad
            with pytest.raises(StoreError) as error:
                r.get_blob(blob, 12)
            assert _aws(error) == "FileTooLargeException"
            with pytest.raises(StoreError) as error:
                file_json(r.get_file(r.resolve("main", "main"), "src/app.py", 12))
            assert _aws(error) == "FileTooLargeException"

    run_in_repo(tmp_path, body)


def test_object_sizes_come_from_headers_loose_packed_and_deltified(tmp_path: Path) -> None:
    """Every object's size as `git cat-file` says it, before and after a delta repack."""

    async def body(env: Env) -> None:
        text = "".join(f"line {n}\n" for n in range(20000))
        for n in range(3):
            env.git.commit(env.work, "big.txt", text + f"tail {n}\n" * (n + 1), f"v{n}")
        env.push()

        def check() -> int:
            listing = env.bare(
                "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objectsize)"
            )
            with Reader(env.path) as r:
                for line in listing.splitlines():
                    oid, size = line.split()
                    assert object_size(r.repo.object_store, oid.encode()) == int(size), oid
            return len(listing.splitlines())

        assert check() > 0  # loose, as pushed
        env.bare("repack", "-adf", "--depth=50", "--window=50")
        assert "delta" in env.bare("verify-pack", "-v", *_idx(env.path))
        check()

    run_in_repo(tmp_path, body)


def _idx(path: Path) -> list[str]:
    return [str(p) for p in (path / "objects" / "pack").glob("*.idx")]


def test_commit_shape_keeps_git_dates_and_identities(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        ids = _populate(env)
        with Reader(env.path) as r:
            commit = r.commit(ids["second"])
            assert commit is not None
            assert commit_json(r.commit_info(commit)) == {
                "commitId": ids["second"],
                "treeId": env.bare("rev-parse", "main^{tree}"),
                "parents": [ids["first"]],
                "message": "two\n\nbody\n",
                "author": {
                    "name": "Test Author",
                    "email": "author@example.com",
                    "date": "1484167798 -0800",
                },
                "committer": {
                    "name": "Test Committer",
                    "email": "committer@example.com",
                    "date": "1484167799 +0530",
                },
                "additionalData": "",
            }

    run_in_repo(tmp_path, body)


def test_differences_types_modes_and_path_filters(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        git, work = env.git, env.work
        git.commit(work, "a/keep.txt", "k\n")
        git.commit(work, "a/edit.txt", "1\n")
        git.commit(work, "gone.txt", "x\n")
        before = git.rev_parse(work, "HEAD")
        (work / "a" / "edit.txt").write_text("2\n")
        (work / "a" / "keep.txt").chmod(0o755)
        (work / "gone.txt").unlink()
        (work / "b").mkdir()
        (work / "b" / "new.txt").write_text("n\n")
        git("add", "-A", cwd=work)
        git("commit", "-qm", "change", cwd=work)
        env.push()
        blob = env.bare
        with Reader(env.path) as r:
            old, new = r.resolve(before, "main"), r.resolve("main", "main")
            found = _diffs(r, old, new)
            assert [(d["changeType"], _path(d)) for d in found] == [
                ("M", "a/edit.txt"),
                ("M", "a/keep.txt"),
                ("A", "b/new.txt"),
                ("D", "gone.txt"),
            ]
            assert found[1]["beforeBlob"]["mode"] == "100644"
            assert found[1]["afterBlob"] == {
                "blobId": blob("rev-parse", "main:a/keep.txt"),
                "path": "a/keep.txt",
                "mode": "100755",
            }
            assert "afterBlob" not in found[3] and "beforeBlob" not in found[2]
            only_a = _diffs(r, old, new, before_path="a", after_path="a")
            assert [_path(d) for d in only_a] == ["a/edit.txt", "a/keep.txt"]
            assert [_path(d) for d in _diffs(r, old, new, after_path="/b")] == ["b/new.txt"]
            everything = _diffs(r, None, new)
            assert {d["changeType"] for d in everything} == {"A"} and len(everything) == 3
            with pytest.raises(StoreError) as error:
                _diffs(r, old, new, after_path="nope")
            assert _aws(error) == "PathDoesNotExistException"

    run_in_repo(tmp_path, body)


def test_one_files_differences_are_the_whole_comparisons_entries_for_it(tmp_path: Path) -> None:
    """`file_differences` reads only the trees on the path; what it finds must be what the
    whole comparison lists for that path, type changes (two entries) included."""

    async def body(env: Env) -> None:
        git, work = env.git, env.work
        git.commit(work, "a/edit.txt", "1\n")
        git.commit(work, "a/same.txt", "s\n")
        git.commit(work, "becomes_dir", "f\n")
        git.commit(work, "becomes_link", "l\n")
        git.commit(work, "gone.txt", "x\n")
        before = git.rev_parse(work, "HEAD")
        (work / "a" / "edit.txt").write_text("2\n")
        (work / "becomes_dir").unlink()
        (work / "becomes_dir").mkdir()
        (work / "becomes_dir" / "inner.txt").write_text("i\n")
        (work / "becomes_link").unlink()
        (work / "becomes_link").symlink_to("a/same.txt")
        (work / "gone.txt").unlink()
        (work / "new.txt").write_text("n\n")
        git("add", "-A", cwd=work)
        git("commit", "-qm", "change", cwd=work)
        env.push()
        with Reader(env.path) as r:
            old, new = r.resolve(before, "main"), r.resolve("main", "main")
            whole = differences(r, old, new)
            asked = {d.path for d in whole} | {"a/same.txt", "a", "missing.txt", "/a/edit.txt"}
            for path in sorted(asked):
                expected = [d for d in whole if d.path == path.lstrip("/")]
                assert file_differences(r, old, new, path) == expected, path
            assert [d.change_type for d in file_differences(r, old, new, "becomes_link")] == [
                "D",
                "A",
            ]
            added = file_differences(r, None, new, "new.txt")
            assert [d.change_type for d in added] == ["A"]

    run_in_repo(tmp_path, body)


def _path(difference: dict[str, dict[str, str]]) -> str:
    return (difference.get("afterBlob") or difference["beforeBlob"])["path"]


def test_file_history_linear_and_across_a_merge(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        git, work = env.git, env.work
        one = git.commit(work, "f.txt", "1\n", "one")
        git.commit(work, "other.txt", "o\n", "untouched f")
        two = git.commit(work, "f.txt", "2\n", "two")
        git("checkout", "-qb", "side", one, cwd=work)
        side = git.commit(work, "f.txt", "side\n", "side")
        git("checkout", "-q", "main", cwd=work)
        git("merge", "-q", "-m", "merge", "side", cwd=work, check=False)  # conflicts
        merge = git.commit(work, "f.txt", "2 and side\n", "merge")
        assert git("rev-list", "--parents", "-1", merge, cwd=work).stdout.split()[1:] == [two, side]
        env.push("main")
        with Reader(env.path) as r:
            linear = _history(r, r.resolve(two, "main"), "/f.txt", 100)
            assert [v["commit"]["commitId"] for v in linear] == [two, one]
            assert linear[0]["revisionChildren"] == [] and linear[1]["revisionChildren"] == [two]
            assert linear[1]["blobId"] == env.bare("rev-parse", f"{one}:f.txt")
            assert linear[1]["path"] == "f.txt"
            dag = _history(r, r.resolve("main", "main"), "f.txt", 100)
            children = {v["commit"]["commitId"]: sorted(v["revisionChildren"]) for v in dag}
            assert set(children) == {merge, two, side, one}
            assert children[merge] == []
            assert children[two] == [merge] and children[side] == [merge]
            assert children[one] == sorted([two, side])

    run_in_repo(tmp_path, body)
