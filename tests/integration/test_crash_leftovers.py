"""What a crash leaves behind is cleaned up without an operator: push quarantines of
killed `receive-pack`s, and ref updates whose event was not yet written."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from tests.integration.test_reconcile import (
    QUIET,
    _events_blocked,
    _is_sqlite,
    _last_seq,
    _ref_events,
    _setup,
)
from tests.integration.test_robustness import (
    MB,
    RECEIVE_TYPE,
    _bare,
    _make_commit_with_big_files,
    _private_repo,
    _push_body,
    _remote_ref,
    _unpacking,
)
from tests.support import Git, Server, basic_auth, server_git_processes, wait_until


def _quarantines(bare: Path) -> list[str]:
    return sorted(p.name for p in (bare / "objects").glob("tmp_objdir-incoming-*"))


def _kill_server_and_its_git(server: Server) -> None:
    """SIGKILL the server and every process it started, as an OOM or cgroup kill does."""
    assert server.process is not None
    tree = [psutil.Process(server.pid()), *psutil.Process(server.pid()).children(recursive=True)]
    for process in tree:
        try:
            process.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            continue
    server.process.wait()
    psutil.wait_procs(tree, timeout=30)


def test_quarantine_of_a_push_killed_with_the_server_is_removed_at_start(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    srv, name, work, base = _private_repo(make_server, git, tmp_path, "--no-maintenance")
    bare = _bare(srv, name)
    _make_commit_with_big_files(git, work, [8 * MB])
    body = _push_body(git, work, base, git.rev_parse(work, "HEAD"))

    # Half a push, its connection held open: git is writing into its quarantine.
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
    try:
        sock.sendall(
            (
                f"POST /v1/repos/{name}/git-receive-pack HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: {basic_auth('admin', srv.admin_password)}\r\n"
                f"Content-Type: {RECEIVE_TYPE}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body[: len(body) // 2]
        )
        assert wait_until(lambda: _unpacking(srv) and _quarantines(bare), timeout=60), (
            server_git_processes(srv)
        )
        _kill_server_and_its_git(srv)
    finally:
        sock.close()
    left = _quarantines(bare)
    assert left, "the kill left no quarantine: the test proves nothing"

    srv.start()

    assert _quarantines(bare) == []
    assert git("--git-dir", str(bare), "fsck", "--strict").returncode == 0
    assert _remote_ref(git, bare) == base


def _fake_quarantine(bare: Path, suffix: str, age: float) -> Path:
    directory = bare / "objects" / f"tmp_objdir-incoming-{suffix}"
    (directory / "pack").mkdir(parents=True)
    pack = directory / "pack" / "tmp_pack_abc"
    pack.write_bytes(os.urandom(4096))
    when = time.time() - age
    for path in (pack, directory / "pack", directory):
        os.utime(path, (when, when))
    return directory


def test_maintenance_removes_stale_quarantines_and_keeps_live_ones(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    """A quarantine unchanged for longer than a git process may run (`git_timeout`, an
    hour) is a leftover; a fresh one may belong to a push under way and stays."""
    srv, name, _, _ = _private_repo(make_server, git, tmp_path, "--no-maintenance")
    bare = _bare(srv, name)
    stale = _fake_quarantine(bare, "stale1", age=7200)
    live = _fake_quarantine(bare, "live01", age=5)

    srv.cli("repo", "maintain", name)  # the same job the server runs after pushes

    assert not stale.exists()
    assert live.exists()


def test_event_of_a_push_cut_at_post_receive_arrives_when_the_grace_ends(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    """The start-up reconcile leaves rows younger than `prepared_grace` to their push;
    with that push dead, the ref is live but its event must not wait for the periodic
    reconcile (here: never, `--reconcile-interval 0`)."""
    srv, name, meta, work, _ = _setup(
        make_server, git, tmp_path, env={"GITSERVER_PREPARED_GRACE": "15"}
    )
    assert "--reconcile-interval" in QUIET
    bare = Path(meta["path"])
    after = _last_seq(srv, name)
    new = git.commit(work)

    with _events_blocked(srv):
        push = psutil.Popen(["git", "push", "-q", "origin", "main"], cwd=work, env=git.env)
        moved = wait_until(
            lambda: git("--git-dir", str(bare), "rev-parse", "main").stdout.strip() == new,
            timeout=60,
        )
        assert moved
        if not _is_sqlite(srv):
            assert push.poll() is None  # the response waits for the settling, on SQL: no event yet
        _kill_server_and_its_git(srv)
        push.wait(60)
    assert _ref_events(srv, name, after) == []

    srv.start()

    events = wait_until(lambda: _ref_events(srv, name, after), timeout=60)
    assert [(e["type"], e["detail"]["commitId"]) for e in events] == [("referenceUpdated", new)]
