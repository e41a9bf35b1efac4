"""CLI output people and scripts can read: ISO 8601 times everywhere, tags as `k=v`.

`repo get` printed its tags as a Python dict and its dates as epoch seconds beside ISO
ones; `--json` mixed epoch floats (repositories) with ISO strings (everything else).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.support import GITSERVER, Git, Server

TIME_KEY = re.compile(r"(Date|At|Time|time)$")


def _times(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) whose key names a time, anywhere in a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            if TIME_KEY.search(key):
                yield f"{path}.{key}", item
            yield from _times(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _times(item, f"{path}[{index}]")


def _assert_iso(document: Any) -> int:
    found = 0
    for where, value in _times(document):
        if value is None:
            continue
        assert isinstance(value, str), f"{where}: {value!r} is not an ISO 8601 string"
        moment = datetime.fromisoformat(value)
        assert moment.tzinfo is not None, f"{where}: {value!r} has no time zone"
        found += 1
    return found


def test_repo_get_is_readable(server: Server, repo: Callable[..., str]) -> None:
    name = repo("readable")
    server.cli("repo", "tag", name, "team=red", "env=prod")
    result = subprocess.run(
        [
            GITSERVER,
            "repo",
            "get",
            name,
            "--data",
            str(server.data),
            "--database-url",
            server.database_url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=server.cli_env(),
    )
    assert result.returncode == 0, result.stderr
    fields = dict(line.split(": ", 1) for line in result.stdout.splitlines())

    assert fields["tags"] == "env=prod, team=red"
    assert "{" not in result.stdout and "None" not in result.stdout
    for key in ("creationDate", "lastModifiedDate"):
        assert datetime.fromisoformat(fields[key]).tzinfo is not None, fields[key]


def test_json_times_are_iso_8601(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    server = make_server()
    created = server.cli("repo", "create", "times")
    assert _assert_iso(created) == 2  # creationDate, lastModifiedDate

    work = git.init(tmp_path / "work")
    git.commit(work, "README", "hello\n")
    git("push", "-q", server.url("times"), "main", cwd=work)
    _maintained(server, "times")
    server.cli("repo", "tag", "times", "team=red")
    server.cli("credential", "create", "admin")
    server.cli("access-key", "create", "admin")
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    server.cli("ssh-key", "add", "admin", "--key-file", f"{key}.pub")
    hook = server.cli("webhook", "create", "--repo", "times", "--url", "https://ci.invalid/hook")
    # A refused login is audited; stopping the server writes the audit queue out.
    git("ls-remote", server.url("times", password="wrong-password"), check=False)
    server.stop()

    commands: list[list[str]] = [
        ["repo", "get", "times"],
        ["repo", "list"],
        ["event", "list"],
        ["audit", "list"],
        ["user", "list"],
        ["user", "get", "admin"],
        ["credential", "list"],
        ["access-key", "list"],
        ["ssh-key", "list"],
        ["webhook", "list"],
        ["webhook", "deliveries", hook["webhookId"]],
    ]
    for command in commands:
        document = server.cli(*command)
        assert _assert_iso(document) > 0, f"{command}: no time in {document}"
    repo_get = server.cli("repo", "get", "times")
    assert repo_get["pushedAt"] and repo_get["maintainedAt"]
    assert repo_get["tags"] == {"team": "red"}


def _maintained(server: Server, name: str) -> None:
    """`repo maintain`, or the server's own maintenance after the push when it got there
    first ("already running"): either way the repository ends up with `maintainedAt`."""
    result = server.cli("repo", "maintain", name, check=False)
    if result.returncode == 0:
        return
    assert "already running" in result.stderr, result.stderr
    deadline = time.monotonic() + 60
    while not server.cli("repo", "get", name).get("maintainedAt"):
        assert time.monotonic() < deadline, "the server's maintenance never finished"
        time.sleep(0.2)
