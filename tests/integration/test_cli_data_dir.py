"""The CLI never invents a data directory, and "not found" names the one it looked in.

Run from the wrong directory, the CLI used to create `./data` with a new database and
key and answer "(none)": an operator saw an empty server, not a mistake.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support import GITSERVER, Server


def _run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GITSERVER_")}
    return subprocess.run(
        [GITSERVER, *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["repo", "list"], id="repo-list"),
        pytest.param(["user", "list", "--json"], id="user-list-json"),
        pytest.param(["repo", "create", "demo"], id="repo-create"),
        pytest.param(["ssh-key", "host-fingerprints"], id="host-fingerprints"),
    ],
)
def test_cli_refuses_to_create_a_missing_data_dir(tmp_path: Path, args: list[str]) -> None:
    result = _run(*args, cwd=tmp_path)

    assert result.returncode != 0
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert str(tmp_path / "data") in line
    assert "--data" in line and "GITSERVER_DATA" in line
    assert not (tmp_path / "data").exists()


def test_cli_refuses_a_data_dir_named_by_environment_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere" / "data"
    result = _run("repo", "list", cwd=tmp_path, env={"GITSERVER_DATA": str(missing)})

    assert result.returncode != 0
    assert str(missing) in result.stderr
    assert not missing.exists() and not (tmp_path / "data").exists()


def test_cli_refuses_a_data_dir_without_its_sqlite_database(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    result = _run("repo", "list", cwd=tmp_path)

    assert result.returncode != 0
    assert str(tmp_path / "data" / "gitserver.db") in result.stderr
    assert list((tmp_path / "data").iterdir()) == []


def test_db_upgrade_may_create_the_data_dir(tmp_path: Path) -> None:
    result = _run("db", "upgrade", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "gitserver.db").exists()
    assert _run("repo", "list", cwd=tmp_path).stdout.strip() == "(none)"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["repo", "get", "no-such-repo"], id="repo-get"),
        pytest.param(["repo", "tag", "no-such-repo", "a=b"], id="repo-tag"),
        pytest.param(["user", "get", "no-such-user"], id="user-get"),
        pytest.param(["credential", "create", "no-such-user"], id="credential-create"),
    ],
)
def test_not_found_errors_name_the_data_dir(server: Server, args: list[str]) -> None:
    result = server.cli(*args, check=False)

    assert result.returncode != 0
    [line] = result.stderr.splitlines()
    if server.database_url.startswith("sqlite"):
        assert f"in {server.data.resolve()}" in line
        assert "--data" in line and "GITSERVER_DATA" in line
    else:  # the lookup happened in PostgreSQL: point there
        assert "--database-url" in line and "GITSERVER_DATABASE_URL" in line
    if args[0] == "repo":
        assert "repository no-such-repo" in line
