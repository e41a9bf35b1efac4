"""The bubblewrap sandbox's refusals, proven with real builds.

A build runs untrusted code from a repository. It must not read the server's key or
another repository, see the server's processes, write outside its workspace, reach the
host's loopback services (network `none`), nor outlive its time or memory limit.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from gitserver.pipelines.buildspec import (
    BuildLimits,
    BuildStatus,
    BwrapExecutor,
    ExecutorKind,
    Network,
    SandboxUnavailable,
    ShellExecutor,
    executor_for,
)
from tests.buildspec_support import Builds, output_lines, zip_contents

KEY = "-----BEGIN PRIVATE KEY----- not-for-builds"


@pytest.fixture
def builds(tmp_path: Path) -> Builds:
    return Builds(tmp_path / "build")


@pytest.fixture
def server_files(tmp_path: Path) -> dict[str, Path]:
    """Stand-ins for the data dir: the server key, the database, another repository."""
    data = tmp_path / "DATA"
    (data / "repositories" / "other.git").mkdir(parents=True)
    (data / "server.key").write_text(KEY)
    (data / "gitserver.db").write_text("SQLite format 3")
    (data / "repositories" / "other.git" / "HEAD").write_text("ref: refs/heads/main\n")
    return {
        "data": data,
        "key": data / "server.key",
        "db": data / "gitserver.db",
        "repo": data / "repositories" / "other.git",
    }


def probe(builds: Builds, *commands: str) -> list[str]:
    """Run each command as its own phase-less probe; one output line per command."""
    lines = "\n".join(f"      - {json.dumps(c)}" for c in commands)
    text = f"version: 0.2\nphases:\n  build:\n    commands:\n{lines}\n"
    result, log = builds.run(text)
    assert result.status is BuildStatus.SUCCEEDED, log
    return output_lines(log)


def test_the_build_runs_as_an_unprivileged_user_without_capabilities(builds: Builds) -> None:
    assert probe(
        builds,
        "id -u",
        "grep CapEff /proc/self/status | tr -s '\\t' ' '",
        "hostname",
        "echo $CODEBUILD_SRC_DIR $PWD",
    ) == [
        "1000",
        "CapEff: 0000000000000000",
        "codebuild",
        "/codebuild/output/src /codebuild/output/src",
    ]


def test_the_server_key_database_and_other_repositories_are_invisible(
    builds: Builds, server_files: dict[str, Path]
) -> None:
    checks = [
        f"cat {server_files['key']} 2>/dev/null && echo READ || echo refused",
        f"test -e {server_files['db']} && echo SEEN || echo refused",
        f"ls {server_files['repo']} >/dev/null 2>&1 && echo LISTED || echo refused",
        f"test -e {server_files['data']} && echo SEEN || echo refused",
        # /usr is the host's, read-only and public; nothing else of the host is there.
        "find / -path /proc -prune -o -path /usr -prune -o -name server.key -print"
        " -o -name gitserver.db -print -o -name other.git -print; echo searched",
    ]
    assert probe(builds, *checks) == ["refused", "refused", "refused", "refused", "searched"]


def test_an_artifact_link_to_a_host_file_is_not_followed(
    builds: Builds, server_files: dict[str, Path]
) -> None:
    result, log = builds.run(
        f"version: 0.2\nphases:\n  build:\n    commands:\n"
        f"      - ln -s {server_files['key']} key; ln -s {server_files['data']} data\n"
        f"      - echo ok > ok.txt\nartifacts:\n  files: ['**/*']\n"
    )
    assert result.status is BuildStatus.SUCCEEDED
    assert zip_contents(result.artifacts[0].path) == {"ok.txt": b"ok\n"}
    assert "a link that leads outside the source" in log


def test_the_server_processes_are_invisible(builds: Builds) -> None:
    lines = probe(builds, "ps -eo comm= | sort | tr '\\n' ' '", "ls /proc | grep -c '^[0-9]'")
    names = lines[0].split()
    assert "python" not in " ".join(names) and "pytest" not in " ".join(names)
    assert set(names) <= {"bwrap", "bash", "prlimit", "ps", "sort", "tr"}, names
    assert int(lines[1]) <= 6
    assert str(os.getpid()) not in probe(builds, "ls /proc | tr '\\n' ' '")[0].split()


def test_nothing_outside_the_workspace_is_writable(builds: Builds, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    writes = [
        "touch /usr/evil",
        "touch /etc/evil",
        "touch /evil",
        "mkdir /codebuild/evil",
        f"touch {outside}/evil",
        "touch /etc/passwd",
    ]
    lines = probe(builds, *(f"{w} 2>/dev/null && echo WROTE || echo refused" for w in writes))
    assert lines == ["refused"] * len(writes)
    assert list(outside.iterdir()) == []
    assert probe(builds, "echo x > /tmp/t && echo x > ~/t && echo x > in-workspace && echo ok") == [
        "ok"
    ]
    assert (builds.workspace / "in-workspace").read_text() == "x\n"


@pytest.fixture
def host_listener() -> Iterator[int]:
    """A TCP service on the host's 127.0.0.1, answering `hello` to each connection."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.sendall(b"hello\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_network_none_cannot_reach_the_hosts_loopback(builds: Builds, host_listener: int) -> None:
    connect = f"(exec 3<>/dev/tcp/127.0.0.1/{host_listener} && head -1 <&3) 2>/dev/null"
    assert probe(
        builds,
        f"{connect} || echo unreachable",
        "ls /sys/class/net 2>/dev/null | tr '\\n' ' ' ; cat /proc/net/dev | grep -c ':'",
    ) == ["unreachable", "1"]
    host = builds.with_network(Network.HOST)
    assert probe(host, f"{connect} || echo unreachable") == ["hello"]


def _no_process_with(marker: str) -> bool:
    for process in psutil.process_iter(["cmdline"]):
        if marker in " ".join(process.info["cmdline"] or []):
            return False
    return True


def test_the_time_limit_kills_every_process_of_the_build(builds: Builds) -> None:
    marker = f"{time.time_ns() % 10**9}"
    limits = BuildLimits(total_timeout=30, phase_timeout=0.5)
    started = time.monotonic()
    result, _ = builds.run(
        "version: 0.2\nphases:\n  build:\n    commands:\n"
        f"      - (sleep 3{marker} &) ; setsid sleep 4{marker} & sleep 5{marker}\n",
        limits=limits,
    )
    assert result.status is BuildStatus.TIMED_OUT
    assert time.monotonic() - started < 3
    deadline = time.monotonic() + 2
    while not _no_process_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _no_process_with(marker)


def test_the_memory_limit_stops_a_greedy_build(builds: Builds) -> None:
    limits = BuildLimits(total_timeout=30, memory_bytes=256 * 1024 * 1024)
    result, log = builds.run(
        "version: 0.2\nphases:\n  build:\n    commands:\n"
        "      - x=$(head -c 400000000 /dev/zero | tr '\\0' a); echo allocated ${#x}\n",
        limits=limits,
    )
    assert result.status is BuildStatus.FAILED
    assert "allocated 400000000" not in log
    assert "cannot allocate" in log


def test_the_cpu_and_file_size_limits(builds: Builds) -> None:
    limits = BuildLimits(total_timeout=30, cpu_seconds=1, file_size=1024 * 1024)
    result, log = builds.run(
        "version: 0.2\nphases:\n  build:\n    on-failure: CONTINUE\n    commands:\n"
        "      - head -c 2000000 /dev/zero > big\n"
        "  post_build:\n    commands:\n      - 'while :; do :; done'\n",
        limits=limits,
    )
    assert result.status is BuildStatus.FAILED, log
    assert (builds.workspace / "big").stat().st_size == 1024 * 1024
    post_build = result.phase("POST_BUILD")
    assert post_build is not None and post_build.status is BuildStatus.FAILED
    assert post_build.duration < 5


def test_bwrap_is_required_unless_shell_is_chosen(tmp_path: Path) -> None:
    with pytest.raises(SandboxUnavailable, match="bubblewrap"):
        executor_for("bwrap", bwrap=str(tmp_path / "no-bwrap"))
    assert isinstance(executor_for("shell"), ShellExecutor)
    default = executor_for()
    assert isinstance(default, BwrapExecutor) and default.network is Network.NONE
    assert default.kind is ExecutorKind.BWRAP


def test_the_process_limit_stops_a_fork_bomb(builds: Builds) -> None:
    if os.geteuid() == 0 and not os.access("/sys/fs/cgroup/pids", os.W_OK):
        pytest.skip("as root, only a pids cgroup limits processes, and none is writable here")
    limits = BuildLimits(total_timeout=30, processes=20)
    started = time.monotonic()
    result, log = builds.run(
        "version: 0.2\nphases:\n  build:\n    commands:\n"
        "      - for i in $(seq 60); do sleep 1 & done; wait; echo done\n",
        limits=limits,
    )
    assert "Resource temporarily unavailable" in log
    assert time.monotonic() - started < 10
    assert result.status in (BuildStatus.SUCCEEDED, BuildStatus.FAILED)


def test_a_sandbox_that_cannot_start_is_a_fault(tmp_path: Path) -> None:
    broken = Builds(tmp_path / "broken", BwrapExecutor(binary="/bin/false"))
    result, _ = broken.run("version: 0.2\nphases:\n  build:\n    commands: [echo hi]\n")
    assert result.status is BuildStatus.FAULT
    assert [(p.name, p.status) for p in result.phases] == [("PROVISIONING", BuildStatus.FAULT)]
    missing = Builds(tmp_path / "missing")
    missing.workspace.rmdir()
    result, log = missing.run("version: 0.2\n")
    assert result.status is BuildStatus.FAULT and "workspace does not exist" in log
