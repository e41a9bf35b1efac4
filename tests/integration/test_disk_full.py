"""A full disk: a push that cannot be written fails with a message and changes nothing
(no ref, no event, no quarantine, a repository `git fsck` accepts), the server goes on
serving, `/readyz` names the storage, and once space is freed the same push lands.

The data directory is a small tmpfs of its own (mounting needs root, as in CI)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Git, Server, http_request, run_sql

SIZE_MB = 24


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m,mode=0700", "tmpfs", str(mount)],
        check=True,
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> None:
    """Write until the disk is full (unbuffered: every byte that fits is written)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1024 * 1024, 4096, 1):
            block = os.urandom(size)
            try:
                while True:
                    os.write(fd, block)
            except OSError:
                continue
    finally:
        os.close(fd)


def _events(srv: Server) -> list[tuple[str, str]]:
    """The outbox as stored (what `event list` shows): type and detail of each event."""
    rows = run_sql(srv, "SELECT type, detail FROM events ORDER BY seq")
    return [(str(kind), str(detail)) for kind, detail in rows]


def _leftovers(repository: Path) -> list[str]:
    """Quarantines and temporary packs a failed push may have left."""
    objects = repository / "objects"
    found = [p.name for p in objects.iterdir() if p.name.startswith(("incoming-", "tmp_objdir"))]
    if (objects / "pack").is_dir():
        found += [p.name for p in (objects / "pack").iterdir() if p.name.startswith("tmp_")]
    return found


def test_a_push_to_a_full_disk_fails_cleanly_and_lands_once_space_is_freed(
    small_disk: Path, git: Git, tmp_path: Path
) -> None:
    data = small_disk / "data"
    srv = Server(
        data=data,
        database_url=f"sqlite+aiosqlite:///{data / 'gitserver.db'}",
        extra_args=["--no-ssh", "--no-maintenance"],
    )
    srv.start()
    try:
        srv.cli("repo", "create", "full")
        repository = next((data / "repos").iterdir())
        work = git.init(tmp_path / "work")
        base = git.commit(work, "a.txt", "1\n")
        git("push", "-q", srv.url("full"), "main", cwd=work)
        events = _events(srv)
        # Incompressible: the pack is as big as the file.
        (work / "big.bin").write_bytes(os.urandom(4 * 1024 * 1024))
        git("add", "big.bin", cwd=work)
        git("commit", "-q", "-m", "big", cwd=work)
        new = git.rev_parse(work, "HEAD")

        filler = small_disk / "filler"
        _fill(filler)
        status, _, body = http_request(srv, "GET", "/readyz")
        assert status == 503
        assert json.loads(body) == {
            "status": "unavailable",
            "failed": "storage",
            "reason": "no space left on device",
        }

        pushed = git("push", srv.url("full"), "main", cwd=work, check=False)
        assert pushed.returncode != 0
        assert "No space left on device" in pushed.stderr, pushed.stderr
        assert "[remote rejected] main -> main" in pushed.stderr, pushed.stderr
        listed = git("ls-remote", srv.url("full"), "refs/heads/main", cwd=work).stdout
        assert listed.split() == [base, "refs/heads/main"]
        git("--git-dir", str(repository), "fsck", "--strict", "--no-progress")
        assert _leftovers(repository) == []
        # Still serving: a clone of what is there.
        git("clone", "-q", srv.url("full"), str(tmp_path / "clone"))

        filler.unlink()
        assert http_request(srv, "GET", "/readyz")[0] == 200
        git("push", "-q", srv.url("full"), "main", cwd=work)
        after = _events(srv)
        assert events == after[: len(events)]  # the failed push left no event
        assert [kind for kind, _ in after[len(events) :]] == ["referenceUpdated"]
        assert new in after[-1][1]  # its detail names the pushed commit
        git("--git-dir", str(repository), "fsck", "--strict", "--no-progress")
    finally:
        srv.stop()
