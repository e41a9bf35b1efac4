"""`aws:SourceIp` in policies: the peer address, or X-Forwarded-For through trusted proxies."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.support import Git, Server

PASSWORD = "source-ip-password"
CLIENT = "203.0.113.5"  # what the proxy says the client was


def _office_only_user(server: Server, tmp_path: Path) -> str:
    """PowerUser, but everything is denied from outside 203.0.113.0/24."""
    server.cli("user", "create", "remote-worker", "--password-stdin", input=PASSWORD + "\n")
    server.cli("policy", "attach-user-policy", "remote-worker", "GitServerPowerUser")
    document = tmp_path / "office-only.json"
    document.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "OfficeOnly",
                        "Effect": "Deny",
                        "Action": "codecommit:*",
                        "Resource": "*",
                        "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
                    }
                ],
            }
        )
    )
    server.cli(
        "policy", "put-user-policy", "remote-worker", "OfficeOnly", "--document", str(document)
    )
    return "remote-worker"


def _ls_remote(git: Git, server: Server, repo: str, user: str) -> tuple[int, str]:
    result = git(
        "-c",
        f"http.extraHeader=X-Forwarded-For: {CLIENT}",
        "ls-remote",
        server.url(repo, user, PASSWORD),
        check=False,
    )
    return result.returncode, result.stderr


def test_forwarded_for_is_ignored_from_an_untrusted_peer(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    server = make_server()
    server.cli("repo", "create", "office")
    user = _office_only_user(server, tmp_path)
    code, stderr = _ls_remote(git, server, "office", user)
    assert code != 0
    assert "explicit deny" in stderr  # the peer, 127.0.0.1, is outside the office range


def test_forwarded_for_is_believed_from_a_trusted_proxy(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    server = make_server("--trusted-proxies", "127.0.0.1")
    server.cli("repo", "create", "office")
    user = _office_only_user(server, tmp_path)
    code, stderr = _ls_remote(git, server, "office", user)
    assert code == 0, stderr
    # The same request without the header comes from the proxy itself: outside the office.
    plain = git("ls-remote", server.url("office", user, PASSWORD), check=False)
    assert plain.returncode != 0 and "explicit deny" in plain.stderr
