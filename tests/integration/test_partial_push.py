"""A push some of whose refs policy denies: the others go through unless it is atomic.

Real `git push` over HTTP against a user who may push anywhere but `main` (the
CodeCommit branch-protection pattern): git reports the denied ref as remote rejected,
the allowed ones as pushed, and the server's refs agree.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import Git, Server, SshIdentity, protected_main_user


def _remote_refs(git: Git, server: Server, name: str) -> dict[str, str]:
    listed = git("ls-remote", server.url(name)).stdout
    return {ref: oid for oid, ref in (line.split("\t") for line in listed.splitlines())}


@pytest.mark.parametrize("transport", ["http", "ssh"])
def test_denied_ref_is_rejected_and_the_others_are_pushed(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, transport: str
) -> None:
    name = repo()
    seed = git.init(tmp_path / "seed")
    git.commit(seed, "README.md", "hello\n")
    git("push", server.url(name), "main", "main:refs/heads/old", cwd=seed)
    main_before = git.rev_parse(seed, "main")
    user, url = protected_main_user(server, tmp_path, name)
    if transport == "ssh":
        identity = SshIdentity.generate(tmp_path / "ssh", server.known_hosts(tmp_path / "kh"))
        identity.register(server, user)
        git.env.update(identity.git_env())
        url = server.ssh_url(name, user)

    clone = tmp_path / "clone"
    git("clone", "-q", url, str(clone))
    git.commit(clone, "change.txt")
    git("branch", "feature", cwd=clone)
    git("branch", "atomic-feature", cwd=clone)
    head = git.rev_parse(clone, "HEAD")

    atomic = git("push", "--atomic", "origin", "main", "atomic-feature", cwd=clone, check=False)
    assert atomic.returncode != 0
    assert "! [remote rejected] main -> main" in atomic.stderr
    assert "atomic-feature -> atomic-feature" in atomic.stderr
    assert "[new branch]" not in atomic.stderr
    refs = _remote_refs(git, server, name)
    assert refs["refs/heads/main"] == main_before and "refs/heads/atomic-feature" not in refs

    pushed = git("push", "-o", "ci.skip", "origin", "main", "feature", cwd=clone, check=False)
    assert pushed.returncode != 0  # one ref failed
    assert " * [new branch]      feature -> feature" in pushed.stderr
    assert "! [remote rejected] main -> main (" in pushed.stderr
    assert "is not authorized to perform: codecommit:GitPush" in pushed.stderr
    refs = _remote_refs(git, server, name)
    assert refs["refs/heads/main"] == main_before
    assert refs["refs/heads/feature"] == head

    # Only a delete is left for git once main is filtered out: it never reads the pack.
    mixed = git("push", "origin", "main", ":old", cwd=clone, check=False)
    assert mixed.returncode != 0
    assert " - [deleted]         old" in mixed.stderr
    assert "! [remote rejected] main -> main (" in mixed.stderr
    refs = _remote_refs(git, server, name)
    assert "refs/heads/old" not in refs and refs["refs/heads/main"] == main_before

    events = [
        (e["type"], e["detail"]["referenceFullName"], e["actor"])
        for e in server.events(name)
        if e["type"].startswith("reference")
    ]
    assert [(kind, ref) for kind, ref, _ in events] == [
        ("referenceCreated", "refs/heads/main"),
        ("referenceCreated", "refs/heads/old"),
        ("referenceCreated", "refs/heads/feature"),
        ("referenceDeleted", "refs/heads/old"),
    ]
    assert [actor for *_, actor in events][2:] == [user, user]
