"""No front-end action is reachable without the authorizer: every git route and SSH
service, driven by a user who holds no policy, is refused with AWS's words.

The API's operations are enumerated the same way in test_api_protocol.py
(`test_every_operation_is_authorized`).
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitserver.transport.engine import SERVICES
from gitserver.transport.http import GitHttp
from tests.support import Server, SshIdentity, basic_auth, http_request

PASSWORD = "no-policy-password-3kq"


@pytest.fixture(scope="session")
def nobody(server: Server) -> str:
    name = f"nobody-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", name, "--password-stdin", input=PASSWORD + "\n")
    return name


def _http_doors(repo: str) -> list[tuple[str, str, dict[str, str]]]:
    """Every route GitHttp registers, as concrete requests for `repo`."""
    routes: Any = GitHttp.routes(GitHttp.__new__(GitHttp))
    doors = []
    for route in routes:
        path = re.sub(r"\{name:[^}]*\}", f"{repo}.git", route.path).replace("{name}", repo)
        if path.endswith("/info/refs"):
            for service in ("git-upload-pack", "git-receive-pack"):
                doors.append((route.method, f"{path}?service={service}", {}))
        else:
            service = path.rsplit("/", 1)[1]
            doors.append((route.method, path, {"Content-Type": f"application/x-{service}-request"}))
    return doors


def test_every_http_git_route_asks_the_authorizer(
    server: Server, repo: Callable[..., str], nobody: str
) -> None:
    name = repo("door")
    doors = _http_doors(name)
    assert len(doors) == 8  # info/refs x2 services, upload-pack, receive-pack; two URL forms
    for method, path, headers in doors:
        status, _, body = http_request(
            server,
            method,
            path,
            body=b"0000",
            headers={**headers, "Authorization": basic_auth(nobody, PASSWORD)},
        )
        assert status == 403, (method, path, status, body[:200])
        assert b"is not authorized to perform: codecommit:Git" in body, (path, body[:200])


def test_every_ssh_service_asks_the_authorizer(
    server: Server, repo: Callable[..., str], nobody: str, tmp_path: Path
) -> None:
    name = repo("door-ssh")
    identity = SshIdentity.generate(tmp_path, server.known_hosts(tmp_path / "known_hosts"))
    identity.register(server, nobody)
    for service in SERVICES:
        result = subprocess.run(
            [
                *identity.argv(),
                "-p",
                str(server.ssh_port),
                f"{nobody}@127.0.0.1",
                f"{service} '/v1/repos/{name}'",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert result.returncode != 0, service
        assert "is not authorized to perform: codecommit:Git" in result.stderr, (
            service,
            result.stderr,
        )
