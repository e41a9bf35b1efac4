"""Connections that never log in cannot take the SSH server down (issue 10).

~1,100 half-open connections under a 1,024-descriptor limit used to stop the server.
Now connections are capped per client address and in total from accept, the excess is
closed before the version exchange, a client that does not authenticate in time is
closed, and a listener that cannot accept logs one line now and then, not tracebacks.
Loopback has a whole /8, so 127.0.0.x source addresses stand for different clients.
The settings are given as `GITSERVER_*` variables: `serve` has no flags for them yet.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from tests.support import Git, Server, SshIdentity, wait_until

BANNER = b"SSH-2.0-gitserver"


def _connect(server: Server, source: str = "127.0.0.1") -> socket.socket:
    """A TCP connection to the SSH port that sends nothing, as a flood's would."""
    return socket.create_connection(
        ("127.0.0.1", server.ssh_port), timeout=30, source_address=(source, 0)
    )


def _greeting(sock: socket.socket) -> bytes:
    """What the server says first: its version line, or b"" when it closed at once."""
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while not data.endswith(b"\n"):
            chunk = sock.recv(256)
            if not chunk:
                break
            data += chunk
    return data


@contextlib.contextmanager
def _held(sockets: list[socket.socket]) -> Iterator[list[socket.socket]]:
    try:
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def _ls_remote(git: Git, server: Server, name: str) -> bool:
    return git("ls-remote", server.ssh_url(name), check=False, timeout=60).returncode == 0


@pytest.fixture
def client(tmp_path: Path, git: Git) -> Callable[[Server], Git]:
    """`git` with a key registered for admin on the given private server."""

    def make(server: Server) -> Git:
        identity = SshIdentity.generate(tmp_path / "k", server.known_hosts(tmp_path / "kh"))
        identity.register(server)
        git.env.update(identity.git_env())
        return git

    return make


def test_connections_past_the_caps_are_closed_before_the_version_exchange(
    make_server: Callable[..., Server], client: Callable[[Server], Git]
) -> None:
    server = make_server(
        env={"GITSERVER_SSH_MAX_CONNECTIONS_PER_IP": "3", "GITSERVER_SSH_MAX_CONNECTIONS": "5"}
    )
    git = client(server)
    name = server.cli("repo", "create", "capped")["repositoryName"]
    with _held([_connect(server) for _ in range(3)]) as first:
        assert [_greeting(s).startswith(BANNER) for s in first] == [True] * 3
        with _held([_connect(server)]) as over:
            assert _greeting(over[0]) == b""  # the fourth from one address
        # Other addresses still get in, up to the total.
        with _held([_connect(server, "127.0.0.2"), _connect(server, "127.0.0.3")]) as others:
            assert [_greeting(s).startswith(BANNER) for s in others] == [True] * 2
            with _held([_connect(server, "127.0.0.4")]) as over:
                assert _greeting(over[0]) == b""  # the sixth in total
            assert not _ls_remote(git, server, name)
    # Closed connections give their slots back.
    assert wait_until(lambda: _ls_remote(git, server, name), timeout=60)


def test_a_flood_from_one_address_leaves_room_for_other_clients(
    make_server: Callable[..., Server], client: Callable[[Server], Git]
) -> None:
    """The issue's scenario, scaled to a descriptor limit a test can fill: the server has
    40 descriptors to spare and one address opens 150 idle connections."""
    server = make_server(env={"GITSERVER_SSH_MAX_CONNECTIONS_PER_IP": "10"})
    git = client(server)
    name = server.cli("repo", "create", "flooded")["repositoryName"]
    process = psutil.Process(server.pid())
    _, hard = process.rlimit(psutil.RLIMIT_NOFILE)
    process.rlimit(psutil.RLIMIT_NOFILE, (process.num_fds() + 40, hard))
    with _held([_connect(server, "127.0.0.2") for _ in range(150)]) as flood:
        greeted = sum(_greeting(s).startswith(BANNER) for s in flood)
        assert greeted == 10
        # Another client is served while the flood is still connected.
        assert _ls_remote(git, server, name)
    assert process.is_running()


def test_accept_errors_are_one_line_not_a_traceback_storm(
    make_server: Callable[..., Server], client: Callable[[Server], Git]
) -> None:
    """When the process is out of descriptors, the listener logs a line now and then
    instead of asyncio's traceback each time it retries, and serves again afterwards."""
    server = make_server()
    git = client(server)
    name = server.cli("repo", "create", "emfile")["repositoryName"]
    process = psutil.Process(server.pid())
    _, hard = process.rlimit(psutil.RLIMIT_NOFILE)
    soft = process.num_fds() + 10
    process.rlimit(psutil.RLIMIT_NOFILE, (soft, hard))
    assert server.log_path is not None
    sources = [f"127.0.0.{i}" for i in range(2, 6)]
    with _held([_connect(server, sources[i % 4]) for i in range(60)]):
        logged = wait_until(
            lambda: "accepting connections failed" in server.log_path.read_text(),
            timeout=30,
        )
        assert logged, server.log_path.read_text()[-3000:]
    process.rlimit(psutil.RLIMIT_NOFILE, (max(soft, 1024), hard))
    assert wait_until(lambda: _ls_remote(git, server, name), timeout=60)
    log = server.log_path.read_text()
    assert "Traceback" not in log and "out of system resource" not in log, log[-3000:]


def test_a_client_that_does_not_log_in_in_time_is_closed(
    make_server: Callable[..., Server],
) -> None:
    server = make_server(env={"GITSERVER_SSH_LOGIN_TIMEOUT": "1"})
    with _held([_connect(server)]) as (sock,):
        assert _greeting(sock).startswith(BANNER)
        sock.settimeout(20)  # a deadline for the server to act, far past 1 s
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(4096) == b""
