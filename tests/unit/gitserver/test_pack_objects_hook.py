"""The pack-objects hook: its requests, the cache key, and the client git runs."""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gitserver.transport import packclient
from gitserver.transport.packobjects import (
    CLIENT,
    MAGIC,
    PackHook,
    PackRequest,
    RequestError,
    cache_key,
    frame,
    parse_request,
)

REPO = Path("/data/repos/0b5c9d2e-1111-4222-8333-944445555666.git")
UPLOAD_PACK_ARGS = ("pack-objects", "--revs", "--thin", "--stdout", "--delta-base-offset")


def raw_request(args: tuple[str, ...], stdin: bytes = b"", token: str = "t") -> bytes:
    header = b"\0".join(f.encode() for f in (token, str(REPO), "git", *args))
    return MAGIC + b"%d\n" % len(header) + header + stdin


def request(
    args: tuple[str, ...] = UPLOAD_PACK_ARGS, stdin: bytes = b"a\n--not\n\n"
) -> PackRequest:
    return PackRequest("t", REPO, args, stdin)


def test_a_request_round_trips_what_upload_pack_asked() -> None:
    shallow = ("--shallow-file", "", *UPLOAD_PACK_ARGS, "--shallow", "--include-tag")
    parsed = parse_request(raw_request(shallow, b"--shallow abc\nabc\n--not\n\n"))
    assert parsed == PackRequest("t", REPO, shallow, b"--shallow abc\nabc\n--not\n\n")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("-c", "core.pager=evil", *UPLOAD_PACK_ARGS), id="config-option"),
        pytest.param(("upload-pack", "--stdout"), id="another-command"),
        pytest.param(("pack-objects", "--revs", "base-name"), id="writes-files"),
        pytest.param(("pack-objects", "--stdout", "/etc/passwd"), id="positional"),
        pytest.param(("--shallow-file", "/tmp/x", *UPLOAD_PACK_ARGS), id="shallow-file-path"),
        pytest.param((), id="nothing"),
    ],
)
def test_only_upload_packs_own_runs_are_accepted(args: tuple[str, ...]) -> None:
    with pytest.raises(RequestError):
        parse_request(raw_request(args))


def test_a_truncated_request_is_refused() -> None:
    with pytest.raises(RequestError):
        parse_request(raw_request(UPLOAD_PACK_ARGS)[:40])
    with pytest.raises(RequestError):
        parse_request(b"{}")


def test_the_key_follows_repository_options_and_stdin_but_not_progress() -> None:
    base = cache_key(request())
    assert cache_key(request((*UPLOAD_PACK_ARGS, "--progress"))) == base
    assert cache_key(request((*UPLOAD_PACK_ARGS, "--filter=blob:none"))) != base
    assert cache_key(request(stdin=b"a\n--not\nb\n\n")) != base
    assert cache_key(request(stdin=b"--shallow a\na\n--not\n\n")) != base
    other = PackRequest("t", REPO.with_name("0b5c9d2e-aaaa.git"), UPLOAD_PACK_ARGS, b"a\n--not\n\n")
    assert cache_key(other) != base


def test_the_token_binds_a_request_to_its_repository(tmp_path: Path) -> None:
    hook = PackHook(tmp_path / "hooks.sock")
    env = hook.env(REPO)
    good = PackRequest(env["GITSERVER_PACK_TOKEN"], REPO, UPLOAD_PACK_ARGS, b"")
    assert hook.verify(good)
    assert not hook.verify(PackRequest(good.token, REPO.with_name("x.git"), good.args, b""))
    assert not PackHook(tmp_path / "hooks.sock").verify(good)  # another server's key


def test_the_client_imports_nothing_outside_the_interpreter() -> None:
    tree = ast.parse(CLIENT.read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(isinstance(n, ast.ImportFrom) for n in ast.walk(tree))
    assert names <= {"_socket", "errno", "os", "sys"}  # C modules: no Python source to load
    assert packclient.MAGIC == MAGIC


@contextmanager
def fake_server(path: Path, reply: bytes) -> Iterator[list[bytes]]:
    """A hook socket that records one request and answers `reply`, then closes."""
    received: list[bytes] = []
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
            received.append(data)
            conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        thread.join(10)
        listener.close()


def run_client(
    tmp_path: Path, *command: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    # stdout is a pipe, as upload-pack's is: the client splices into it.
    return subprocess.run(
        [sys.executable, "-I", "-S", str(CLIENT), *command],
        input=b"want-lines\n",
        capture_output=True,
        env={"PATH": os.environ["PATH"], **(env or {})},
        timeout=30,
        check=False,
    )


def client_env(sock: Path) -> dict[str, str]:
    return {
        "GITSERVER_HOOK_SOCKET": str(sock),
        "GITSERVER_PACK_TOKEN": "t",
        "GITSERVER_PACK_REPO": str(REPO),
    }


def test_the_client_passes_the_pack_through_and_exits_0_on_the_end_frame(tmp_path: Path) -> None:
    sock = tmp_path / "s"
    reply = frame(b"D", 4) + b"PACK" + frame(b"D", 3) + b"abc" + frame(b"E")
    with fake_server(sock, reply) as received:
        done = run_client(tmp_path, "git", *UPLOAD_PACK_ARGS, env=client_env(sock))
    assert (done.returncode, done.stdout) == (0, b"PACKabc")
    assert parse_request(received[0]).stdin == b"want-lines\n"


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        pytest.param(frame(b"D", 4) + b"PACK", b"cut off", id="no-end-frame"),
        pytest.param(frame(b"D", 4) + b"PA", b"cut off", id="short-frame"),
        pytest.param(frame(b"D", 4) + b"PACK" + frame(b"F", 4) + b"gone", b"gone", id="failure"),
    ],
)
def test_the_client_fails_a_pack_that_does_not_end_whole(
    tmp_path: Path, reply: bytes, message: bytes
) -> None:
    sock = tmp_path / "s"
    with fake_server(sock, reply):
        done = run_client(tmp_path, "git", *UPLOAD_PACK_ARGS, env=client_env(sock))
    assert done.returncode == 1
    assert message in done.stderr


def test_without_the_server_the_client_runs_the_command_itself(tmp_path: Path) -> None:
    done = run_client(tmp_path, "cat", env=client_env(tmp_path / "no-such-socket"))
    assert (done.returncode, done.stdout) == (0, b"want-lines\n")
