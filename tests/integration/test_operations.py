"""What an operator runs the server with: `/readyz`, JSON logs that carry the request id
the client saw (and no secret), and a SIGTERM that lets a push in flight finish."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gitserver.db import Database
from gitserver.readiness import check
from gitserver.transport.pktline import pkt
from tests.api_support import codecommit
from tests.support import Git, Server, basic_auth, http_request, raw_receive_pack, wait_until
from tests.web_support import signed_in

ZERO = "0" * 40


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def test_readyz_answers_ready_and_every_response_names_its_request(server: Server) -> None:
    status, headers, body = http_request(server, "GET", "/readyz")
    assert (status, json.loads(body)) == (200, {"status": "ready"})
    assert _is_uuid(headers["X-Request-Id"])

    # A client is not a trusted proxy: its own id is not taken (it could pose as another
    # request in the logs); it gets a fresh one.
    status, headers, _ = http_request(server, "GET", "/healthz", headers={"X-Request-Id": "mine"})
    assert status == 200 and _is_uuid(headers["X-Request-Id"])

    # The API's own request id is the same one.
    status, headers, _ = http_request(
        server,
        "POST",
        "/",
        b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "CodeCommit_20150413.ListRepositories",
        },
    )
    assert status >= 400
    assert headers["x-amzn-RequestId"] == headers["X-Request-Id"]


def test_readiness_names_the_database_without_its_password(tmp_path: Path) -> None:
    """Nothing listens on port 1: the database part fails, and the reason is short and
    free of the URL's secret."""
    db = Database("postgresql+asyncpg://gitserver:s3cret-pw@127.0.0.1:1/gitserver")

    async def probe() -> Any:
        try:
            return await check(db, tmp_path)
        finally:
            await db.close()

    state = asyncio.run(probe())
    assert state.as_json()["status"] == "unavailable"
    assert state.failed == "database"
    assert "s3cret" not in json.dumps(state.as_json())


def test_json_logs_then_sigterm_during_a_push(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    """One server run as an operator would: JSON logs that carry the request id the
    client saw and no secret; then SIGTERM while a push uploads: the push completes,
    its event is recorded, new connections are refused, and the process exits 0."""
    srv = make_server(
        "--log-format", "json", "--trusted-proxies", "127.0.0.1", "--shutdown-timeout", "30"
    )
    name = "operated"
    key = srv.cli("access-key", "create", "admin")
    codecommit(srv, key).create_repository(repositoryName=name)
    work = git.init(tmp_path / "work")
    base = git.commit(work, "a.txt", "1\n")
    git("push", "-q", srv.url(name), "main", cwd=work)
    _check_json_logs(srv, name, key)
    _push_through_sigterm(srv, git, work, name, base)


def _check_json_logs(srv: Server, name: str, key: dict[str, str]) -> None:
    browser = signed_in(srv, "admin", srv.admin_password)
    browser.get(f"/repositories/{name}")
    # A trusted proxy (loopback here) names the request; a wrong password is logged.
    wrong = "not-the-password-" + uuid.uuid4().hex
    status, headers, _ = http_request(
        srv,
        "GET",
        f"/v1/repos/{name}/info/refs?service=git-upload-pack",
        headers={"X-Request-Id": "proxy-trace-42"},
        password=wrong,
    )
    assert status == 401 and headers["X-Request-Id"] == "proxy-trace-42"

    assert srv.log_path is not None
    text = srv.log_path.read_text()
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    refused = [r for r in records if r["message"] == "authentication failed"]
    assert [r["request_id"] for r in refused] == ["proxy-trace-42"], refused
    secrets = [
        srv.admin_password,
        wrong,
        key["SecretAccessKey"],
        basic_auth("admin", srv.admin_password).split()[1],
        browser.cookies["gitserver_session"],
    ]
    assert not [secret for secret in secrets if secret in text]


def _pack(git: Git, work: Path, new: str, old: str) -> bytes:
    return subprocess.run(
        ["git", "pack-objects", "--revs", "--stdout", "-q"],
        cwd=work,
        input=f"{new}\n^{old}\n".encode(),
        capture_output=True,
        env=git.env,
        check=True,
    ).stdout


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def _push_through_sigterm(srv: Server, git: Git, work: Path, name: str, base: str) -> None:
    new = git.commit(work, "big.bin", uuid.uuid4().hex * 20000)
    pack = _pack(git, work, new, base)
    command = f"{base} {new} refs/heads/main\0report-status agent=test\n".encode()
    assert srv.process is not None

    def body() -> Iterator[bytes]:
        yield pkt(command) + b"0000" + pack[:4096]
        # The push is under way: the server is told to stop, and stops listening.
        srv.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        assert wait_until(lambda: _refused(srv.port) and _refused(srv.ssh_port), timeout=20)
        yield pack[4096:]

    status, report = raw_receive_pack(srv, name, body())
    assert status == 200
    assert b"ok refs/heads/main" in report, report
    assert srv.process.wait(timeout=30) == 0
    updated = [e for e in srv.events(name) if e["type"] == "referenceUpdated"]
    assert [e["detail"]["commitId"] for e in updated] == [new]


def test_a_json_line_has_the_bound_request_id_the_extras_and_the_exception() -> None:
    import logging
    import sys

    from gitserver.logs import JsonFormatter, RequestIdFilter, bind_request_id, reset_request_id

    token = bind_request_id("req-7")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            record = logging.getLogger("gitserver.test").makeRecord(
                "gitserver.test",
                logging.ERROR,
                __file__,
                1,
                "failed %s",
                ("here",),
                sys.exc_info(),
                extra={"push_id": "p-1"},
            )
        RequestIdFilter().filter(record)
    finally:
        reset_request_id(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["time"].endswith("Z") and line["level"] == "ERROR"
    assert (line["message"], line["request_id"], line["push_id"]) == ("failed here", "req-7", "p-1")
    assert "ValueError: boom" in line["exc"]
