"""Nothing in the data directory is readable by other local users.

It holds password hashes, the audit log, the key that encrypts access-key secrets and
every repository; `gitserver.db` used to be 0644 and `repos/` 0755.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

from tests.support import Git, Server


def _open_to_others(data: Path) -> list[str]:
    paths = [data, *data.rglob("*")]
    return [
        f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p}"
        for p in paths
        if not p.is_symlink() and p.lstat().st_mode & 0o077
    ]


def test_fresh_data_dir_is_private(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    server = make_server()
    server.cli("repo", "create", "private")
    work = git.init(tmp_path / "work")
    git.commit(work, "README", "hello\n")
    git("push", "-q", server.url("private"), "main", cwd=work)
    server.cli("credential", "create", "admin")

    data = server.data
    for expected in ("repos", "hooks", "run", "server.key", "initial-admin-password"):
        assert (data / expected).exists(), expected
    if server.database_url.startswith("sqlite"):
        assert (data / "gitserver.db").exists() and (data / "gitserver.db-wal").exists()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert _open_to_others(data) == []


def test_existing_data_dir_is_tightened_at_start(make_server: Callable[..., Server]) -> None:
    server = make_server()
    server.cli("repo", "create", "older")
    server.stop()
    # What an older version left: everything readable by everyone.
    for path in [server.data, *server.data.rglob("*")]:
        if not path.is_symlink():
            mode = stat.S_IMODE(path.lstat().st_mode)
            path.chmod(mode | (0o755 if path.is_dir() else 0o644))
    assert _open_to_others(server.data) != []

    server.start()

    assert stat.S_IMODE(server.data.stat().st_mode) == 0o700
    for name in ("repos", "hooks", "run", "ssh", "home", "server.key"):
        assert stat.S_IMODE((server.data / name).stat().st_mode) & 0o077 == 0, name
    if server.database_url.startswith("sqlite"):
        assert stat.S_IMODE((server.data / "gitserver.db").stat().st_mode) == 0o600
