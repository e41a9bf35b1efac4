"""The SSH front end's pure parts: command parsing, session caps, host keys."""

from __future__ import annotations

import contextlib
import stat
from pathlib import Path

import pytest

from auth.principal import Principal
from gitserver.transport.hostkeys import load_host_keys
from gitserver.transport.limits import Slots
from gitserver.transport.ssh import session_slot
from gitserver.transport.sshcommand import INTERACTIVE, GitCommand, Refused, parse_command


@pytest.mark.parametrize(
    "command",
    [
        "git-upload-pack '/v1/repos/demo'",
        "git-upload-pack 'v1/repos/demo'",
        "git-upload-pack '/v1/repos/demo.git'",
        "git-upload-pack /v1/repos/demo/",
        'git-upload-pack "v1/repos/demo.git"',
        "git upload-pack '/v1/repos/demo'",
        "git-upload-pack '/demo.git'",
    ],
)
def test_path_forms(command: str) -> None:
    assert parse_command(command) == GitCommand("git-upload-pack", "demo")


@pytest.mark.parametrize("service", ["git-upload-pack", "git-receive-pack", "git-upload-archive"])
def test_services(service: str) -> None:
    assert parse_command(f"{service} '/v1/repos/my.repo_1-x'") == GitCommand(service, "my.repo_1-x")


@pytest.mark.parametrize(
    ("command", "subsystem", "message"),
    [
        pytest.param(None, None, INTERACTIVE, id="shell"),
        pytest.param(None, "sftp", "subsystem is not available", id="subsystem"),
        pytest.param("bash -i", None, "unknown command 'bash'", id="bash"),
        pytest.param("", None, "unknown command (empty)", id="empty"),
        pytest.param("git-upload-pack", None, "usage:", id="no-path"),
        pytest.param("git-upload-pack '/v1/repos/a' '/v1/repos/b'", None, "usage:", id="two"),
        pytest.param("git-upload-pack '/v1/repos/a", None, "could not be parsed", id="quote"),
        pytest.param("git-upload-pack /etc/passwd", None, "not a repository path", id="etc"),
        pytest.param("git-upload-pack demo", None, "not a repository path", id="bare-name"),
        pytest.param("git-upload-pack /v1/repos/a/b", None, "name is not valid", id="slash"),
        pytest.param("git-upload-pack /v1/repos/..", None, "name is not valid", id="dotdot"),
        pytest.param("git-upload-pack /v1/repos/-x", None, None, id="dash-is-a-name"),
        pytest.param("git-upload-pack '/v1/repos/x\ny'", None, "name is not valid", id="newline"),
        pytest.param("git-upload-pack /v1/repos/" + "a" * 101, None, "not valid", id="long"),
    ],
)
def test_refusals(command: str | None, subsystem: str | None, message: str | None) -> None:
    if message is None:
        # A valid CodeCommit name: git is given the repository's path by id, never the name.
        assert parse_command(command, subsystem).repository == "-x"
        return
    with pytest.raises(Refused) as caught:
        parse_command(command, subsystem)
    assert message in caught.value.message
    assert caught.value.status != 0
    assert "\n" not in caught.value.message


def test_echoed_values_are_cut_short() -> None:
    with pytest.raises(Refused) as caught:
        parse_command("x" * 5000)
    assert len(caught.value.message) < 400


def _principal(name: str) -> Principal:
    return Principal(user_id=f"AIDA{name.upper()}", name=name, arn=f"arn:{name}")


def test_session_caps_per_user_and_in_total() -> None:
    limiter = Slots(3, 2, "SSH sessions")
    alice, bob, carol = _principal("alice"), _principal("bob"), _principal("carol")

    def slot(principal: Principal) -> contextlib.AbstractContextManager[None]:
        return session_slot(limiter, principal)

    with slot(alice), slot(alice):
        with pytest.raises(Refused, match="alice already has 2 SSH sessions"), slot(alice):
            pass
        with slot(bob), pytest.raises(Refused, match="server is busy"), slot(carol):
            pass
        with slot(carol):
            pass
    with slot(alice), slot(alice):
        pass  # every slot was given back


def test_host_keys_are_made_once_private_and_reused(tmp_path: Path) -> None:
    first = load_host_keys(tmp_path / "ssh")
    assert [k.algorithm for k in first] == ["ssh-ed25519", "ssh-rsa"]
    assert stat.S_IMODE((tmp_path / "ssh").stat().st_mode) == 0o700
    for key in first:
        assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
    again = load_host_keys(tmp_path / "ssh")
    assert [k.fingerprint() for k in again] == [k.fingerprint() for k in first]
    assert sorted(p.name for p in (tmp_path / "ssh").iterdir()) == [
        "ssh_host_ed25519_key",
        "ssh_host_rsa_key",
    ]
    line = first[0].known_hosts_line("127.0.0.1", 2222)
    assert line.startswith("[127.0.0.1]:2222 ssh-ed25519 AAAA") and len(line.split()) == 3
    assert first[0].known_hosts_line("git.example.com", 22).startswith("git.example.com ")
