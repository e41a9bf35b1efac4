"""A second `serve` that cannot run says why in one line and leaves nothing behind.

On a port already in use it used to print a traceback and leave its
`run/hooks-PID.sock`; two servers on one SQLite data directory ran side by side.
"""

from __future__ import annotations

import os
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import GITSERVER, Server


def _serve(data: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITSERVER_")}
    return subprocess.run(
        [GITSERVER, "serve", "--data", str(data), "--database-url", database_url, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _healthy(server: Server) -> bool:
    with urllib.request.urlopen(f"{server.base_url}/healthz", timeout=30) as response:
        return response.status == 200


@pytest.mark.parametrize("which", ["http", "ssh"])
def test_serve_on_a_used_port_fails_in_one_line_and_cleans_up(
    make_server: Callable[..., Server], tmp_path: Path, which: str
) -> None:
    first = make_server()
    other = tmp_path / "other"
    taken = first.port if which == "http" else first.ssh_port
    ports = (
        ["--http", f"127.0.0.1:{taken}", "--no-ssh"]
        if which == "http"
        else ["--http", "127.0.0.1:0", "--ssh", f"127.0.0.1:{taken}"]
    )

    result = _serve(other, f"sqlite+aiosqlite:///{other / 'gitserver.db'}", *ports)

    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        f"gitserver: error: cannot listen on 127.0.0.1:{taken}: address already in use"
    ], result.stderr
    assert "Created user admin" not in result.stdout  # the one announcement is not used up
    assert list((other / "run").glob("hooks-*.sock")) == []
    assert _healthy(first)


def test_second_server_on_one_data_dir(make_server: Callable[..., Server], backend: str) -> None:
    first = make_server("--no-ssh")

    if backend == "sqlite":
        result = _serve(first.data, first.database_url, "--http", "127.0.0.1:0", "--no-ssh")
        assert result.returncode != 0
        [line] = result.stderr.splitlines()
        assert "another gitserver serve" in line
        assert f"pid {first.pid()}" in line
        assert str(first.data.resolve()) in line
        assert [p.name for p in (first.data / "run").glob("hooks-*.sock")] == [
            f"hooks-{first.pid()}.sock"
        ]
    else:  # PostgreSQL: servers share a data directory by design
        second = Server(data=first.data, database_url=first.database_url, extra_args=["--no-ssh"])
        second.start()
        try:
            assert _healthy(second)
        finally:
            second.stop()
    assert _healthy(first)


def test_lock_is_released_when_the_server_stops(make_server: Callable[..., Server]) -> None:
    server = make_server("--no-ssh")
    server.stop()
    server.start()  # the same data directory again: the stopped server no longer holds it
    assert _healthy(server)
