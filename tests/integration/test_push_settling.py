"""How a push is recorded without a post-receive hook (issue 15): the front end writes the
`prepared` rows while git receives the pack, pre-receive finds its updates in the plan
file and asks nothing, and git's own report settles the push before the client hears it
is over. Real `git` over HTTP and SSH; a raw HTTP push for an upload slower than the
reconciler's grace."""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gitserver.transport.pktline import pkt
from tests.support import (
    Git,
    Remote,
    Server,
    SshIdentity,
    protected_main_user,
    raw_receive_pack,
)

ZERO = "0" * 40


def _hook_requests(server: Server) -> int:
    text = urllib.request.urlopen(f"{server.base_url}/metrics", timeout=10).read().decode()
    found = re.search(r"^gitserver_push_hook_requests_total (\d+)", text, re.M)
    assert found, text[-500:]
    return int(found.group(1))


def _ref_events(server: Server, name: str) -> list[tuple[Any, ...]]:
    return [
        (
            e["type"],
            e["detail"]["referenceFullName"],
            e["detail"].get("commitId"),
            e["detail"].get("forced"),
            e["actor"],
        )
        for e in server.events(name)
        if e["type"].startswith("reference")
    ]


def test_each_kind_of_update_is_recorded_by_the_time_git_push_returns(
    server: Server, repo: Callable[..., str], git: Git, remote: Remote, tmp_path: Path
) -> None:
    """Created, fast-forward, forced and deleted, over HTTP and SSH: each push's event is
    there as soon as `git push` exits, and none of them needed the hook's round trip."""
    name = repo("settle")
    work = git.init(tmp_path / "work")
    first = git.commit(work, "a.txt", "1\n")
    asked = _hook_requests(remote.server)

    git("push", "-q", remote.url(name), "main", "main:topic", cwd=work)
    created = _ref_events(server, name)
    assert sorted(created) == [
        ("referenceCreated", "refs/heads/main", first, None, "admin"),
        ("referenceCreated", "refs/heads/topic", first, None, "admin"),
    ]

    second = git.commit(work, "a.txt", "2\n")
    git("push", "-q", remote.url(name), "main", cwd=work)
    assert _ref_events(server, name)[len(created) :] == [
        ("referenceUpdated", "refs/heads/main", second, False, "admin")
    ]

    git("reset", "-q", "--hard", first, cwd=work)
    rewritten = git.commit(work, "b.txt", "other\n")
    git("push", "-q", "--force", remote.url(name), "main", ":topic", cwd=work)
    assert sorted(_ref_events(server, name)[len(created) + 1 :]) == [
        ("referenceDeleted", "refs/heads/topic", None, None, "admin"),
        ("referenceUpdated", "refs/heads/main", rewritten, True, "admin"),
    ]
    assert _hook_requests(remote.server) == asked


def test_updates_the_plan_does_not_hold_are_decided_by_the_hook(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    """An atomic push with a refused ref reaches git whole over SSH (the front end cannot
    split it): the plan holds nothing, so pre-receive asks the server, which refuses it."""
    name = repo("unplanned")
    seed = git.init(tmp_path / "seed")
    git.commit(seed, "a.txt", "1\n")
    git("push", "-q", server.url(name), "main", cwd=seed)
    user, _ = protected_main_user(server, tmp_path, name)
    identity = SshIdentity.generate(tmp_path / "ssh", server.known_hosts(tmp_path / "kh"))
    identity.register(server, user)
    git.env.update(identity.git_env())
    git.commit(seed, "a.txt", "2\n")
    before = _ref_events(server, name)
    asked = _hook_requests(server)

    url = server.ssh_url(name, user)
    pushed = git("push", "--atomic", url, "main", "main:feature", cwd=seed, check=False)

    assert pushed.returncode != 0
    assert "pre-receive hook declined" in pushed.stderr
    assert _hook_requests(server) == asked + 1
    assert _ref_events(server, name) == before


def _pack(git: Git, work: Path, new: str, old: str) -> bytes:
    revs = f"{new}\n^{old}\n" if old != ZERO else f"{new}\n"
    packed = subprocess.run(
        ["git", "pack-objects", "--revs", "--stdout", "-q"],
        cwd=work,
        input=revs.encode(),
        capture_output=True,
        env=git.env,
        check=True,
    )
    return packed.stdout


def test_an_upload_slower_than_the_grace_is_not_reconciled_away(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    """The rows are written when the command list arrives; a pack that takes longer than
    `prepared_grace` to arrive must not be settled as aborted by a reconcile meanwhile
    (the server keeps its running pushes' rows fresh), or its event would be lost or
    blamed on `system`."""
    srv = make_server("--reconcile-interval", "0", env={"GITSERVER_PREPARED_GRACE": "1"})
    name = "slow-upload"
    srv.cli("repo", "create", name)
    work = git.init(tmp_path / "work")
    base = git.commit(work, "a.txt", "1\n")
    git("push", "-q", srv.url(name), "main", cwd=work)
    new = git.commit(work, "a.txt", "2\n")
    command = f"{base} {new} refs/heads/main\0report-status agent=test\n".encode()
    pack = _pack(git, work, new, base)
    reconciled: list[dict[str, Any]] = []

    def body() -> Iterator[bytes]:
        yield pkt(command) + b"0000" + pack[:12]
        time.sleep(3)  # three times the grace, with the rows already written
        reconciled.append(srv.cli("repo", "reconcile", name))
        yield pack[12:]

    status, report = raw_receive_pack(srv, name, body())
    assert status == 200
    assert b"ok refs/heads/main" in report, report
    assert reconciled and reconciled[0]["resolvedAborted"] == 0, reconciled
    assert _ref_events(srv, name)[1:] == [
        ("referenceUpdated", "refs/heads/main", new, False, "admin")
    ]
