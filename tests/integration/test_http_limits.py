"""Issue 10: the HTTP front end under hostile clients (a security review on loopback).

Connection floods, half-sent headers, stalled bodies, one user's many pushes, and
malformed input that used to answer 500 or echo a header. Every test runs a private
server with small limits, set through `GITSERVER_*` variables.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import os
import resource
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.support import Git, Server, basic_auth, http_request, server_git_processes, wait_until

ZERO = "0" * 40
RECEIVE_TYPE = "application/x-git-receive-pack-request"
FLOODER = "127.0.0.2"  # loopback is a /8: the flood comes from another client address


def _limits(**values: Any) -> dict[str, str]:
    return {f"GITSERVER_{key.upper()}": str(value) for key, value in values.items()}


def _pkt(data: bytes) -> bytes:
    return f"{len(data) + 4:04x}".encode() + data


def _connect(server: Server, source: str = "127.0.0.1", timeout: float = 30) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", server.port))
    return sock


def _half_sent(server: Server, source: str = "127.0.0.1") -> socket.socket:
    """A connection whose request line and first header are sent, and nothing more."""
    sock = _connect(server, source)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gitserver\r\n")
    return sock


def _read_to_eof(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; socket.timeout if it never does."""
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def _raw(server: Server, request: bytes) -> tuple[int, bytes]:
    """Send one raw request; the status and the body of the answer."""
    with _connect(server) as sock:
        sock.sendall(request)
        answer = _read_to_eof(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _clone_works(server: Server, name: str, git: Git, tmp_path: Path) -> None:
    target = tmp_path / f"clone-{uuid.uuid4().hex[:6]}"
    git("clone", "-q", server.url(name), str(target))
    subprocess.run(["rm", "-rf", str(target)], check=True)


@pytest.fixture
def nofile_soft_limit() -> Iterator[Callable[[int], None]]:
    """Lower this process's soft descriptor limit (children inherit it); restored after."""
    saved = resource.getrlimit(resource.RLIMIT_NOFILE)

    def lower(soft: int) -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, saved[1]))

    yield lower
    resource.setrlimit(resource.RLIMIT_NOFILE, saved)


# --- item 1: connections ------------------------------------------------------------------


def test_connections_past_the_per_ip_cap_are_refused_at_once(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    server = make_server("--no-ssh", env=_limits(http_max_connections_per_ip=4))
    server.cli("repo", "create", "capped")
    held = [_half_sent(server, FLOODER) for _ in range(4)]
    try:
        with _connect(server, FLOODER) as extra:
            # Closed without a request being read: the 503 line is all it gets.
            answer = _read_to_eof(extra)
        assert answer.startswith(b"HTTP/1.1 503 "), answer
        assert b"too many connections" in answer
        # Another client address is not affected, and the held ones are still open.
        _clone_works(server, "capped", git, tmp_path)
        for sock in held:
            sock.sendall(b"\r\n")
            assert sock.recv(12).startswith(b"HTTP/1.1 200")
    finally:
        for sock in held:
            sock.close()


def test_total_connection_cap_refuses_every_address(make_server: Callable[..., Server]) -> None:
    server = make_server(
        "--no-ssh", env=_limits(http_max_connections=3, http_max_connections_per_ip=100)
    )
    held = [_half_sent(server, f"127.0.0.{3 + i}") for i in range(3)]
    try:
        with _connect(server) as extra:
            assert _read_to_eof(extra).startswith(b"HTTP/1.1 503 ")
    finally:
        for sock in held:
            sock.close()
    # The slots come back when the connections close.
    assert wait_until(lambda: http_request(server, "GET", "/healthz")[0] == 200, timeout=30)


def test_headers_not_complete_within_the_header_timeout_are_closed(
    make_server: Callable[..., Server],
) -> None:
    server = make_server("--no-ssh", env=_limits(http_header_timeout=1))
    with _half_sent(server) as slow:
        # The server closes it without an answer (before: held for aiohttp's hour).
        assert _read_to_eof(slow) == b""
    with _connect(server) as idle:
        assert _read_to_eof(idle) == b""
    # A request that is sent at once is unaffected, also as a second one on a connection.
    with _connect(server) as sock:
        for _ in range(2):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gitserver\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")


def test_flood_at_the_descriptor_limit_keeps_serving_with_a_small_log(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    """~1,100 half-sent requests against 256 descriptors: the server keeps answering, and
    the log holds a few lines, not a traceback per failed accept()."""
    server = make_server("--no-ssh", env=_limits(http_max_connections_per_ip=16))
    server.cli("repo", "create", "flooded")
    psutil.Process(server.pid()).rlimit(psutil.RLIMIT_NOFILE, (256, 256))
    assert server.log_path is not None
    log_before = server.log_path.stat().st_size
    flood: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 60
        while len(flood) < 1100 and time.monotonic() < deadline:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            flood.append(sock)
            sock.settimeout(2)
            with contextlib.suppress(OSError):
                sock.bind((FLOODER, 0))
                sock.connect(("127.0.0.1", server.port))
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        # While the flood's connections are open, other clients are served.
        assert wait_until(lambda: _healthy(server), timeout=30)
        _clone_works(server, "flooded", git, tmp_path)
    finally:
        for sock in flood:
            sock.close()
    _clone_works(server, "flooded", git, tmp_path)
    log = server.log_path.read_bytes()[log_before:]
    assert len(log) < 64 * 1024, len(log)
    assert b"Traceback" not in log


def _healthy(server: Server) -> bool:
    try:
        return http_request(server, "GET", "/healthz")[0] == 200
    except OSError:
        return False


def test_soft_descriptor_limit_is_raised_to_the_hard_limit(
    make_server: Callable[..., Server], nofile_soft_limit: Callable[[int], None]
) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard <= 512:
        pytest.skip("the hard descriptor limit leaves nothing to raise")
    nofile_soft_limit(512)
    server = make_server("--no-ssh")
    soft, server_hard = psutil.Process(server.pid()).rlimit(psutil.RLIMIT_NOFILE)
    assert soft == server_hard == hard


# --- item 1 and 2: stalled bodies and git processes per user ---------------------------------


def _pushable(
    server: Server, git: Git, tmp_path: Path, name: str
) -> tuple[bytes, bytes, Path, str]:
    """A repository with one commit, and a push of a new ~1 MB commit split in two:
    the command list with the pack's first half, and the rest."""
    server.cli("repo", "create", name)
    work = git.init(tmp_path / name)
    base = git.commit(work, "README.md", "base\n")
    git("push", "-q", server.url(name), "main", cwd=work)
    (work / "blob.bin").write_bytes(os.urandom(1024 * 1024))
    git("add", "blob.bin", cwd=work)
    git("commit", "-q", "-m", "big", cwd=work)
    new = git.rev_parse(work, "HEAD")
    pack = subprocess.run(
        ["git", "pack-objects", "--stdout", "--revs", "-q"],
        input=f"{new}\n^{base}\n".encode(),
        cwd=work,
        capture_output=True,
        env=git.env,
        check=True,
    ).stdout
    command = f"{base} {new} refs/heads/main\0report-status agent=test\n".encode()
    body = _pkt(command) + b"0000" + pack
    bare = Path(server.cli("repo", "get", name)["path"])
    return body[: len(body) // 2], body[len(body) // 2 :], bare, base


def _start_push(server: Server, name: str, first_half: bytes, total: int) -> socket.socket:
    """POST a push that announces `total` bytes and sends only `first_half`."""
    sock = _connect(server)
    head = (
        f"POST /v1/repos/{name}/git-receive-pack HTTP/1.1\r\n"
        f"Host: gitserver\r\nAuthorization: {basic_auth('admin', server.admin_password)}\r\n"
        f"Content-Type: {RECEIVE_TYPE}\r\nContent-Length: {total}\r\n\r\n"
    )
    sock.sendall(head.encode() + first_half)
    return sock


def _receive_packs(server: Server) -> list[list[str]]:
    """The server's `git receive-pack` processes (not their index-pack children)."""
    return [c for c in server_git_processes(server) if "receive-pack" in c]


def _quarantines(bare: Path) -> list[str]:
    return [p for p in os.listdir(bare / "objects") if p.startswith("tmp_objdir")]


def test_stalled_push_body_stops_git_and_leaves_no_quarantine(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    server = make_server("--no-ssh", "--no-maintenance", env=_limits(http_body_idle_timeout=2))
    first, rest, bare, base = _pushable(server, git, tmp_path, "stalled")
    with _start_push(server, "stalled", first, len(first) + len(rest)) as sock:
        # git is running and has a quarantine for the half-sent pack ...
        assert wait_until(lambda: _receive_packs(server) and _quarantines(bare), timeout=30)
        # ... until the body has not moved for the idle timeout: git, its stdin closed,
        # reports the short pack (or, silent, the client gets a 408), removes its own
        # quarantine and exits, and the connection is closed.
        answer = _read_to_eof(sock)
    assert b"ng refs/heads/main unpacker error" in answer or answer.startswith(b"HTTP/1.1 408 "), (
        answer[:300]
    )
    assert wait_until(lambda: not _receive_packs(server), timeout=30), _receive_packs(server)
    assert _quarantines(bare) == []
    assert git("--git-dir", str(bare), "rev-parse", "main").stdout.strip() == base


def test_git_processes_per_user_are_capped(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    server = make_server(
        "--no-ssh", "--no-maintenance", env=_limits(http_max_git_processes_per_user=2)
    )
    first, rest, _, _ = _pushable(server, git, tmp_path, "busy")
    pushes = [_start_push(server, "busy", first, len(first) + len(rest)) for _ in range(2)]
    try:
        assert wait_until(lambda: len(_receive_packs(server)) == 2, timeout=30)
        # A third git process for the same user is refused with a message git prints.
        status, _, body = http_request(
            server, "GET", "/v1/repos/busy/info/refs?service=git-upload-pack"
        )
        assert status == 429, (status, body)
        assert b"admin already has 2 git processes" in body
        clone = git("clone", "-q", server.url("busy"), str(tmp_path / "refused"), check=False)
        assert clone.returncode != 0
        assert len(_receive_packs(server)) == 2
    finally:
        for sock in pushes:
            sock.close()
    # Cut-off pushes end their git processes, and the slots come back.
    assert wait_until(lambda: not _receive_packs(server), timeout=30)
    _clone_works(server, "busy", git, tmp_path)


# --- item 3: bad input is a 4xx, not a 500 ------------------------------------------------


def _auth_failures(server: Server, name: str) -> list[dict[str, Any]]:
    events = server.cli("audit", "list", "--limit", "1000", "--action", "Authenticate")
    return [e for e in events["events"] if e.get("resource", "").endswith(f":{name}")]


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param(b"Basic " + base64.b64encode(b"\xff\xfeuser:\xc3("), id="decoded-not-utf8"),
        pytest.param(b"Basic \xff\xfe\xfd", id="header-not-ascii"),
        pytest.param(b"Basic \xc3\xa9\xc3\xa9==", id="header-utf8-not-base64"),
    ],
)
def test_basic_credentials_that_are_not_utf8_are_401_and_audited(
    make_server: Callable[..., Server], credentials: bytes
) -> None:
    server = make_server("--no-ssh")
    server.cli("repo", "create", "badauth")
    status, body = _raw(
        server,
        b"GET /v1/repos/badauth/info/refs?service=git-upload-pack HTTP/1.1\r\n"
        b"Host: gitserver\r\nConnection: close\r\nAuthorization: " + credentials + b"\r\n\r\n",
    )
    assert status == 401, body
    records = wait_until(lambda: _auth_failures(server, "badauth"), timeout=30)
    assert records and records[0]["decision"] == "authFailed", records


def test_invalid_gzip_push_is_400_and_starts_no_git(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    server = make_server("--no-ssh", "--no-maintenance")
    first, rest, bare, base = _pushable(server, git, tmp_path, "gzipped")
    headers = {"Content-Type": RECEIVE_TYPE, "Content-Encoding": "gzip"}
    path = "/v1/repos/gzipped/git-receive-pack"
    status, _, answer = http_request(
        server, "POST", path, body=b"\x1f\x8b\x08\x00garbage, not deflate" * 10, headers=headers
    )
    assert status == 400, (status, answer)
    assert answer == b"gitserver: the request body could not be decoded\n"
    # Valid gzip cut short inside the pack: git has the commands and gives up on the pack.
    status, _, answer = http_request(
        server, "POST", path, body=gzip.compress(first + rest)[:-4096], headers=headers
    )
    assert status == 400 or b"ng refs/heads/main unpacker error" in answer, (status, answer)
    assert wait_until(lambda: not _receive_packs(server), timeout=30)
    assert _quarantines(bare) == []
    assert git("--git-dir", str(bare), "rev-parse", "main").stdout.strip() == base
    assert server.log_path is not None
    assert b"Traceback" not in server.log_path.read_bytes()


# --- item 4: header values are never echoed ---------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(b"Authorization: Basic " + b"A" * 9000, id="oversized-authorization"),
        pytest.param(b"X-Api-Key: " + b"B" * 9000, id="oversized-other"),
        pytest.param(b"Bad\x01Name: value", id="invalid-name"),
        pytest.param(b"X-Folded: a\r\n continued", id="obsolete-folding"),
    ],
)
def test_header_errors_do_not_echo_the_header(
    make_server: Callable[..., Server], header: bytes
) -> None:
    server = make_server("--no-ssh")
    secret = b"s3cr3t" + uuid.uuid4().hex.encode()
    name, sep, value = header.partition(b":")
    header = name + sep + value.replace(b"A" * 40, secret, 1).replace(b"B" * 40, secret, 1)
    if secret not in header:
        header += b"; " + secret
    status, body = _raw(
        server,
        b"GET /v1/repos/r/info/refs?service=git-upload-pack HTTP/1.1\r\n"
        b"Host: gitserver\r\n" + header + b"\r\n\r\n",
    )
    assert 400 <= status < 500, body
    assert secret not in body and b"AAAA" not in body and b"BBBB" not in body
    assert server.log_path is not None
    log = server.log_path.read_bytes()
    assert secret not in log and b"AAAA" not in log and b"BBBB" not in log
