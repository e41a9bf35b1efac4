"""The git contract, driven by the real `git` CLI over both transports.

Every test that talks git takes the `remote` fixture, parametrized over smart HTTP and
SSH (OpenSSH with a registered key), so one suite states what both must do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import Git, Remote, Server

ZERO = "0" * 40


def _push_setup(git: Git, tmp_path: Path, remote: Remote, name: str) -> Path:
    work = git.init(tmp_path / "work")
    git.commit(work, "README.md", "hello\n")
    git("remote", "add", "origin", remote.url(name), cwd=work)
    return work


def test_push_to_empty_repository_then_clone(
    server: Server,
    remote: Remote,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    name = repo()
    empty = git("clone", remote.url(name), str(tmp_path / "empty"))
    assert "empty repository" in empty.stderr
    work = _push_setup(git, tmp_path, remote, name)
    head = git.rev_parse(work, "HEAD")
    git("push", "origin", "main", cwd=work)

    clone = tmp_path / "clone"
    git("clone", remote.url(name), str(clone))
    assert git.rev_parse(clone, "HEAD") == head
    assert (clone / "README.md").read_text() == "hello\n"
    assert server.cli("repo", "get", name)["defaultBranch"] == "main"


def test_first_pushed_branch_becomes_default(
    server: Server,
    remote: Remote,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    name = repo()
    work = git.init(tmp_path / "work", branch="trunk")
    git.commit(work)
    git("push", remote.url(name), "trunk", cwd=work)
    git("checkout", "-q", "-b", "later", cwd=work)
    git.commit(work)
    git("push", remote.url(name), "later", cwd=work)
    assert server.cli("repo", "get", name)["defaultBranch"] == "trunk"
    remote_head = git("ls-remote", "--symref", remote.url(name), "HEAD", cwd=work).stdout
    assert "ref: refs/heads/trunk\tHEAD" in remote_head


@pytest.mark.parametrize("version", ["0", "2"])
def test_fetch_branches_and_tags_with_protocol(
    remote: Remote,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
    version: str,
) -> None:
    name = repo()
    work = _push_setup(git, tmp_path, remote, name)
    git("tag", "-a", "v1.0", "-m", "release", cwd=work)
    git("push", "origin", "main", "--tags", cwd=work)
    clone = tmp_path / "clone"
    proto = ["-c", f"protocol.version={version}"]
    trace = git(*proto, "clone", remote.url(name), str(clone), env={"GIT_TRACE_PACKET": "1"})
    assert ("version 2" in trace.stderr) == (version == "2")

    git("checkout", "-q", "-b", "feature", cwd=work)
    new = git.commit(work, "feature.txt")
    git("push", "origin", "feature", cwd=work)
    git(*proto, "fetch", "origin", cwd=clone)
    assert git.rev_parse(clone, "origin/feature") == new
    assert git.rev_parse(clone, "v1.0^{commit}") == git.rev_parse(work, "main")


def test_delete_branch_and_tag(
    remote: Remote,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    name = repo()
    work = _push_setup(git, tmp_path, remote, name)
    git("tag", "v1", cwd=work)
    git("branch", "doomed", cwd=work)
    git("push", "origin", "main", "doomed", "v1", cwd=work)
    git("push", "origin", ":doomed", ":refs/tags/v1", cwd=work)
    refs = git("ls-remote", "origin", cwd=work).stdout
    assert "refs/heads/doomed" not in refs and "refs/tags/v1" not in refs
    assert "refs/heads/main" in refs


def test_forced_push_and_non_fast_forward_rejection(
    remote: Remote,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    name = repo()
    work = _push_setup(git, tmp_path, remote, name)
    git.commit(work)
    git("push", "origin", "main", cwd=work)
    git("reset", "-q", "--hard", "HEAD~1", cwd=work)
    rewritten = git.commit(work, "other.txt")
    rejected = git("push", "origin", "main", cwd=work, check=False)
    assert rejected.returncode != 0 and "rejected" in rejected.stderr
    git("push", "--force", "origin", "main", cwd=work)
    assert git("ls-remote", "origin", "main", cwd=work).stdout.split()[0] == rewritten


def test_atomic_push_applies_all_refs(
    remote: Remote,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    name = repo()
    work = _push_setup(git, tmp_path, remote, name)
    git("branch", "a", cwd=work)
    git("branch", "b", cwd=work)
    git("push", "--atomic", "origin", "main", "a", "b", cwd=work)
    refs = git("ls-remote", "origin", cwd=work).stdout
    assert all(f"refs/heads/{b}" in refs for b in ("main", "a", "b"))


def test_shallow_and_partial_clone(
    remote: Remote,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    name = repo()
    work = _push_setup(git, tmp_path, remote, name)
    for i in range(5):
        git.commit(work, f"f{i}.txt")
    git("push", "origin", "main", cwd=work)

    shallow = tmp_path / "shallow"
    git("clone", "--depth", "1", remote.url(name), str(shallow))
    assert git("rev-list", "--count", "HEAD", cwd=shallow).stdout.strip() == "1"
    git("fetch", "--deepen", "2", cwd=shallow)
    assert git("rev-list", "--count", "HEAD", cwd=shallow).stdout.strip() == "3"

    partial = tmp_path / "partial"
    git("clone", "--filter=blob:none", "--no-checkout", remote.url(name), str(partial))
    missing = git("rev-list", "--objects", "--missing=print", "HEAD", cwd=partial).stdout
    assert any(line.startswith("?") for line in missing.splitlines())
    git("checkout", "-q", "main", cwd=partial)  # lazy fetch of the blobs
    assert (partial / "f4.txt").exists()


def test_push_events_are_exactly_right(
    server: Server,
    remote: Remote,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    name = repo()
    work = _push_setup(git, tmp_path, remote, name)
    first = git.rev_parse(work, "HEAD")
    git("push", "origin", "main", cwd=work)
    second = git.commit(work)
    git("push", "origin", "main", cwd=work)
    git("reset", "-q", "--hard", first, cwd=work)
    third = git.commit(work, "x.txt")
    git("push", "-f", "origin", "main", cwd=work)
    git("tag", "t1", cwd=work)
    git("push", "origin", "t1", cwd=work)
    git("push", "origin", ":refs/tags/t1", cwd=work)

    events = [e for e in server.events(name) if e["type"] != "repositoryCreated"]
    summary = [
        (
            e["type"],
            e["detail"]["referenceFullName"],
            e["detail"].get("oldCommitId"),
            e["detail"].get("commitId"),
            e["detail"].get("forced"),
        )
        for e in events
    ]
    assert summary == [
        ("referenceCreated", "refs/heads/main", None, first, None),
        ("referenceUpdated", "refs/heads/main", first, second, False),
        ("referenceUpdated", "refs/heads/main", second, third, True),
        ("referenceCreated", "refs/tags/t1", None, third, None),
        ("referenceDeleted", "refs/tags/t1", third, None, None),
    ]
    assert all(e["actor"] == "admin" and e["repository"] == name for e in events)
    assert {e["detail"]["transport"] for e in events} == {remote.transport}
    assert len({e["id"] for e in events}) == len(events)


def test_repository_created_and_deleted_events(server: Server, repo: Callable[..., str]) -> None:
    name = repo()
    server.cli("repo", "delete", name)
    types = [e["type"] for e in server.events(name)]
    assert types == ["repositoryCreated", "repositoryDeleted"]
    assert server.cli("repo", "delete", name) == {}  # idempotent, as on AWS
