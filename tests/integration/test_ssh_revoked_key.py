"""A revoked SSH key stops working on a connection that is already open (issue 10).

OpenSSH's ControlMaster runs later commands as new channels of the first command's
connection, with no new login: the key must be checked again for each of them.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import Git, Server, SshIdentity, wait_until


class _Multiplexed:
    """One user's key with a ControlMaster connection that later commands reuse."""

    def __init__(self, server: Server, tmp_path: Path) -> None:
        self.server = server
        self.user = f"muxkey-{uuid.uuid4().hex[:6]}"
        server.cli("user", "create", self.user)
        server.cli("policy", "attach-user-policy", self.user, "GitServerReadOnly")
        self.identity = SshIdentity.generate(tmp_path / "ssh", server.known_hosts(tmp_path / "kh"))
        self.key_id = self.identity.register(server, self.user)
        control = tmp_path / "ctl"  # short: unix socket paths are limited
        self.ssh = [
            *self.identity.argv(),
            *("-o", "ControlMaster=auto", "-o", f"ControlPath={control}"),
            *("-o", "ControlPersist=60"),
        ]
        self.env = {"GIT_SSH_COMMAND": " ".join(self.ssh)}

    def control(self, operation: str) -> subprocess.CompletedProcess[bytes]:
        argv = [*self.ssh, "-p", str(self.server.ssh_port), "-O", operation]
        return subprocess.run([*argv, f"{self.user}@127.0.0.1"], capture_output=True, timeout=30)


@pytest.fixture
def multiplexed(server: Server, tmp_path: Path) -> Iterator[_Multiplexed]:
    mux = _Multiplexed(server, tmp_path)
    try:
        yield mux
    finally:
        mux.control("exit")


def _refusals(server: Server, user: str) -> list[dict[str, Any]]:
    records = server.cli("audit", "list", "--limit", "1000", "--user", user)["events"]
    return [r for r in records if r["decision"] == "authFailed"]


@pytest.mark.parametrize("revoke", ["deactivate", "delete"])
def test_revoked_key_is_refused_on_an_open_multiplexed_connection(
    server: Server,
    repo: Callable[..., str],
    git: Git,
    multiplexed: _Multiplexed,
    revoke: str,
) -> None:
    url = server.ssh_url(repo("revoked"), multiplexed.user)
    git("ls-remote", url, env=multiplexed.env)
    assert multiplexed.control("check").returncode == 0  # the next command reuses it

    server.cli("ssh-key", revoke, multiplexed.key_id)
    refused = git("ls-remote", url, env=multiplexed.env, check=False)
    assert refused.returncode != 0
    reason = "is inactive" if revoke == "deactivate" else "no longer exists"
    lines = [line for line in refused.stderr.splitlines() if line.startswith("gitserver:")]
    assert lines == [
        f"gitserver: the SSH key {multiplexed.key_id} {reason}; log in again with an active key"
    ], refused.stderr
    # Refused on the very connection that logged in with the key, not a new one.
    assert multiplexed.control("check").returncode == 0

    records = wait_until(lambda: _refusals(server, multiplexed.user), timeout=30)
    assert records, "the refusal was not audited"
    assert records[0]["transport"] == "ssh" and records[0]["method"] == "ssh-key"
    assert f"the SSH key {multiplexed.key_id} {reason}" == records[0]["reason"]
