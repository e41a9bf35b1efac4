"""Git over SSH with the real OpenSSH client: what the shared contract suite cannot say.

Clone, push, fetch, tags, deletes, shallow and partial clone and protocol v0/v2 run over
SSH in `test_git_contract.py` (the `remote` fixture's `ssh` parameter). Here: the ways
in, the ways refused, limits, disconnects and host keys.
"""

from __future__ import annotations

import concurrent.futures
import io
import os
import stat
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import Git, Server, SshIdentity, server_git_processes, wait_until

INTERACTIVE = (
    "You have successfully authenticated over SSH. You can use Git to interact with gitserver."
)


def ssh(
    identity: SshIdentity,
    server: Server,
    *command: str,
    user: str = "admin",
    options: tuple[str, ...] = (),
    input: bytes = b"",
    timeout: float = 60,
) -> subprocess.CompletedProcess[bytes]:
    """Run the OpenSSH client against the server with `identity`."""
    argv = [*identity.argv(), *options, "-p", str(server.ssh_port), f"{user}@127.0.0.1", *command]
    return subprocess.run(argv, input=input, capture_output=True, timeout=timeout)


def seeded(git: Git, tmp_path: Path, url: str, commits: int = 1) -> Path:
    """A work tree with `commits` commits on main, pushed to `url`."""
    work = git.init(tmp_path / "seed")
    for i in range(commits):
        git.commit(work, f"f{i}.txt")
    git("push", url, "main", cwd=work)
    return work


@pytest.fixture
def ssh_git(git: Git, ssh_identity: SshIdentity) -> Git:
    """`git` using the admin's registered key."""
    git.env.update(ssh_identity.git_env())
    return git


def test_path_forms_git_and_codecommit_use(
    server: Server,
    repo: Callable[..., str],
    ssh_git: Git,
    ssh_identity: SshIdentity,
    tmp_path: Path,
) -> None:
    name = repo()
    work = seeded(ssh_git, tmp_path, server.ssh_url(name))
    head = ssh_git.rev_parse(work, "HEAD")
    # scp-like URLs cannot carry a port: the ssh command line does.
    port = {"GIT_SSH_COMMAND": f"{' '.join(ssh_identity.argv())} -p {server.ssh_port}"}
    for url in (
        server.ssh_url(name) + ".git",
        server.ssh_url(name) + "/",
        f"admin@127.0.0.1:v1/repos/{name}",  # scp-like: no leading slash
        f"admin@127.0.0.1:/v1/repos/{name}.git",
    ):
        listed = ssh_git("ls-remote", url, "refs/heads/main", env=port).stdout
        assert listed.split() == [head, "refs/heads/main"], url
    for command in (
        f"git-upload-pack '/v1/repos/{name}'",
        f"git-upload-pack v1/repos/{name}.git",
        f"git upload-pack '/v1/repos/{name}'",
        f'git-upload-pack "/{name}.git"',
    ):
        result = ssh(ssh_identity, server, command, input=b"0000")
        assert result.returncode == 0, (command, result.stderr)
        assert f"{head} refs/heads/main".encode() in result.stdout, command


def test_upload_archive(
    server: Server, repo: Callable[..., str], ssh_git: Git, tmp_path: Path
) -> None:
    name = repo()
    seeded(ssh_git, tmp_path, server.ssh_url(name), commits=2)
    archive = subprocess.run(
        ["git", "archive", f"--remote={server.ssh_url(name)}", "--format=tar", "main"],
        capture_output=True,
        env=ssh_git.env,
        cwd=tmp_path,
        timeout=60,
    )
    assert archive.returncode == 0, archive.stderr
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        assert sorted(tar.getnames()) == ["f0.txt", "f1.txt"]


def test_user_name_or_key_id_as_the_ssh_user(
    server: Server,
    repo: Callable[..., str],
    ssh_git: Git,
    ssh_identity: SshIdentity,
    tmp_path: Path,
) -> None:
    name = repo()
    key_id = ssh_identity.key_id
    head = ssh_git.rev_parse(seeded(ssh_git, tmp_path, server.ssh_url(name, key_id)), "HEAD")
    clone = tmp_path / "by-name"
    ssh_git("clone", "-q", server.ssh_url(name, "admin"), str(clone))
    assert ssh_git.rev_parse(clone, "HEAD") == head
    other_id = SshIdentity.generate(tmp_path / "k", tmp_path / "unused").register(server)
    try:
        # The id of another key (even the same user's) does not admit this key.
        wrong = ssh_git("ls-remote", server.ssh_url(name, other_id), check=False)
        assert wrong.returncode != 0 and "Permission denied (publickey)" in wrong.stderr
    finally:
        server.cli("ssh-key", "delete", other_id)


def test_unknown_key_is_refused(
    server: Server, ssh_identity: SshIdentity, repo: Callable[..., str], tmp_path: Path
) -> None:
    stranger = SshIdentity.generate(tmp_path, ssh_identity.known_hosts)
    for user in ("admin", "APKA" + "A" * 16):
        result = ssh(stranger, server, f"git-upload-pack '/v1/repos/{repo()}'", user=user)
        assert result.returncode == 255
        assert b"Permission denied (publickey)" in result.stderr


def test_deactivated_key_is_refused_at_once(
    server: Server, ssh_identity: SshIdentity, repo: Callable[..., str], tmp_path: Path
) -> None:
    name = repo()
    identity = SshIdentity.generate(tmp_path, ssh_identity.known_hosts, kind="rsa")
    key_id = identity.register(server)
    command = f"git-upload-pack '/v1/repos/{name}'"
    try:
        assert ssh(identity, server, command, input=b"0000").returncode == 0
        server.cli("ssh-key", "deactivate", key_id)
        refused = ssh(identity, server, command, input=b"0000")
        assert refused.returncode == 255 and b"Permission denied" in refused.stderr
        server.cli("ssh-key", "activate", key_id)
        assert ssh(identity, server, command, input=b"0000", user=key_id).returncode == 0
    finally:
        server.cli("ssh-key", "delete", key_id)
    assert ssh(identity, server, command, input=b"0000").returncode == 255


def test_user_without_git_permissions_gets_a_readable_refusal(
    server: Server,
    ssh_identity: SshIdentity,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    # Until policies land, non-admins are implicitly denied everything.
    user = f"dev-{uuid.uuid4().hex[:8]}"
    server.cli("user", "create", user)
    identity = SshIdentity.generate(tmp_path / "k", ssh_identity.known_hosts)
    identity.register(server, user)
    git.env.update(identity.git_env())
    name = repo()

    clone = git("clone", server.ssh_url(name, user), str(tmp_path / "c"), check=False)
    assert clone.returncode != 0
    assert "is not authorized to perform: codecommit:GitPull" in clone.stderr
    assert f"arn:aws:codecommit:us-east-1:000000000000:{name}" in clone.stderr

    work = git.init(tmp_path / "w")
    git.commit(work)
    push = git("push", server.ssh_url(name, user), "main", cwd=work, check=False)
    assert push.returncode != 0
    assert "is not authorized to perform: codecommit:GitPush" in push.stderr
    assert server.events(name)[-1]["type"] == "repositoryCreated"

    # Unknown and forbidden look alike to someone who may not read them...
    missing = git("ls-remote", server.ssh_url("no-such-repo", user), check=False)
    assert "is not authorized to perform: codecommit:GitPull" in missing.stderr
    # ...while someone who may read learns that it does not exist.
    admin = ssh(ssh_identity, server, "git-upload-pack '/v1/repos/no-such-repo'")
    assert admin.returncode == 1
    assert b"repository no-such-repo does not exist" in admin.stderr


def test_interactive_login_gets_one_line_and_a_failure_status(
    server: Server, ssh_identity: SshIdentity
) -> None:
    login = ssh(ssh_identity, server)
    assert login.returncode == 1
    assert login.stderr.decode().strip().splitlines()[-1] == INTERACTIVE
    forced_tty = ssh(ssh_identity, server, options=("-tt",))
    assert forced_tty.returncode != 0
    assert b"PTY allocation request failed" in forced_tty.stderr


@pytest.mark.parametrize(
    ("command", "options", "expected"),
    [
        pytest.param(("ls", "-la"), (), b"unknown command 'ls'", id="shell-command"),
        pytest.param(("cat /etc/passwd",), (), b"unknown command 'cat'", id="other-binary"),
        pytest.param(
            ("git-upload-pack '/etc/passwd'",), (), b"is not a repository path", id="bad-path"
        ),
        pytest.param(("git-upload-pack '/v1/repos/../x'",), (), b"name is not valid", id="dotdot"),
        pytest.param(
            ("git-upload-pack", "'/v1/repos/a'", "--extra"), (), b"usage:", id="extra-args"
        ),
        pytest.param(("git-upload-pack '/v1/repos/x",), (), b"could not be parsed", id="quote"),
        pytest.param(("sftp",), ("-s",), b"subsystem request failed", id="sftp"),
        pytest.param(("shell",), ("-s",), b"subsystem is not available", id="subsystem"),
        pytest.param(
            ("git-upload-pack '/v1/repos/x'",),
            ("-o", "SetEnv=GIT_PROTOCOL=version=2;x"),
            b"malformed GIT_PROTOCOL",
            id="git-protocol",
        ),
    ],
)
def test_everything_but_git_is_refused(
    server: Server,
    ssh_identity: SshIdentity,
    command: tuple[str, ...],
    options: tuple[str, ...],
    expected: bytes,
) -> None:
    result = ssh(ssh_identity, server, *command, options=options)
    assert result.returncode != 0
    assert expected in result.stderr, result.stderr


def test_port_forwarding_is_refused(server: Server, ssh_identity: SshIdentity) -> None:
    remote_forward = ssh(
        ssh_identity,
        server,
        "git-upload-pack '/v1/repos/x'",
        options=("-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:9"),
    )
    assert remote_forward.returncode == 255
    assert b"forwarding failed" in remote_forward.stderr
    local_forward = ssh(ssh_identity, server, options=("-W", "127.0.0.1:9"), input=b"", timeout=30)
    assert local_forward.returncode == 255


_CUTTER = """
import os, signal, subprocess, sys
argv = sys.argv[1:]
limit = int(os.environ["CUT_AFTER_BYTES"])
ssh = subprocess.Popen(os.environ["REAL_SSH"].split() + argv, stdin=subprocess.PIPE)
sent = 0
while chunk := os.read(0, 65536):
    if sent + len(chunk) >= limit:
        ssh.stdin.write(chunk[: limit - sent])
        ssh.stdin.flush()
        ssh.send_signal(signal.SIGKILL)  # the connection drops mid-pack
        ssh.wait()
        sys.exit(255)
    ssh.stdin.write(chunk)
    ssh.stdin.flush()
    sent += len(chunk)
ssh.stdin.close()
sys.exit(ssh.wait())
"""


def test_disconnect_mid_push_leaves_the_branch_unchanged(
    server: Server,
    ssh_identity: SshIdentity,
    repo: Callable[..., str],
    ssh_git: Git,
    tmp_path: Path,
) -> None:
    name = repo()
    work = seeded(ssh_git, tmp_path, server.ssh_url(name))
    before = ssh_git.rev_parse(work, "HEAD")
    events_before = server.events(name)
    (work / "big.bin").write_bytes(os.urandom(6 * 1024 * 1024))
    ssh_git("add", "big.bin", cwd=work)
    ssh_git("commit", "-qm", "big", cwd=work)
    cutter = tmp_path / "cutter.py"
    cutter.write_text(_CUTTER)
    env = {
        "GIT_SSH_COMMAND": f"{sys.executable} {cutter}",
        "GIT_SSH_VARIANT": "ssh",
        "REAL_SSH": " ".join(ssh_identity.argv()),
        "CUT_AFTER_BYTES": str(1024 * 1024),
    }
    push = ssh_git("push", server.ssh_url(name), "main", cwd=work, env=env, check=False)
    assert push.returncode != 0

    path = Path(server.cli("repo", "get", name)["path"])

    def settled() -> bool:
        busy = any("receive-pack" in " ".join(c) for c in server_git_processes(server))
        return not busy and not list((path / "objects").glob("tmp_objdir-incoming-*"))

    assert wait_until(settled, timeout=30), "receive-pack or its quarantine outlived the client"
    listed = ssh_git("ls-remote", server.ssh_url(name), "refs/heads/main").stdout
    assert listed.split()[0] == before
    assert server.events(name) == events_before


def test_ten_concurrent_clones(
    server: Server, repo: Callable[..., str], ssh_git: Git, tmp_path: Path
) -> None:
    name = repo()
    head = ssh_git.rev_parse(seeded(ssh_git, tmp_path, server.ssh_url(name), commits=20), "HEAD")

    def clone(i: int) -> str:
        target = tmp_path / f"clone{i}"
        ssh_git("clone", "-q", server.ssh_url(name), str(target), timeout=120)
        return ssh_git.rev_parse(target, "HEAD")

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        assert list(pool.map(clone, range(10))) == [head] * 10


def _held_session(identity: SshIdentity, server: Server, name: str) -> subprocess.Popen[bytes]:
    """An upload-pack that has advertised its refs and waits for the client."""
    process = subprocess.Popen(
        [
            *identity.argv(),
            "-p",
            str(server.ssh_port),
            "admin@127.0.0.1",
            f"git-upload-pack '/v1/repos/{name}'",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdout.read(4)  # the first pkt-line of the advertisement
    return process


def test_session_limit_per_user(make_server: Callable[..., Server], tmp_path: Path) -> None:
    server = make_server("--ssh-max-sessions-per-user", "1")
    identity = SshIdentity.generate(tmp_path / "k", server.known_hosts(tmp_path / "kh"))
    identity.register(server)
    name = server.cli("repo", "create", "limited")["repositoryName"]
    held = _held_session(identity, server, name)
    try:
        second = ssh(identity, server, f"git-upload-pack '/v1/repos/{name}'", input=b"0000")
        assert second.returncode == 1
        assert b"admin already has 1 SSH sessions (the limit)" in second.stderr
    finally:
        held.communicate(b"0000", timeout=30)
    again = ssh(identity, server, f"git-upload-pack '/v1/repos/{name}'", input=b"0000")
    assert again.returncode == 0, again.stderr


def test_idle_session_is_closed(make_server: Callable[..., Server], tmp_path: Path) -> None:
    server = make_server("--ssh-idle-timeout", "2")
    identity = SshIdentity.generate(tmp_path / "k", server.known_hosts(tmp_path / "kh"))
    identity.register(server)
    name = server.cli("repo", "create", "idle")["repositoryName"]
    held = _held_session(identity, server, name)
    held.wait(timeout=20)  # stdin stays open: only the server can end this session
    assert held.returncode != 0
    assert held.stderr is not None
    assert b"session closed: no data for 2 seconds" in held.stderr.read()
    # A connection that runs no session at all (`ssh -N`) is closed too.
    started = time.monotonic()
    bare = ssh(identity, server, options=("-N",), timeout=20)
    assert bare.returncode == 255 and time.monotonic() - started < 15


def test_host_key_is_stable_across_restarts(
    make_server: Callable[..., Server], tmp_path: Path, git: Git
) -> None:
    server = make_server()
    before = server.cli("ssh-key", "host-fingerprints")["hostKeys"]
    assert [k["type"] for k in before] == ["ssh-ed25519", "ssh-rsa"]
    for path in (server.data / "ssh").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    identity = SshIdentity.generate(tmp_path / "k", server.known_hosts(tmp_path / "kh"))
    identity.register(server)
    git.env.update(identity.git_env())
    name = server.cli("repo", "create", "stable")["repositoryName"]
    seeded(git, tmp_path, server.ssh_url(name))

    server.restart()
    assert server.cli("ssh-key", "host-fingerprints")["hostKeys"] == before
    # The known_hosts written before the restart still matches (StrictHostKeyChecking=yes).
    git("clone", "-q", server.ssh_url(name), str(tmp_path / "after-restart"))


def test_ssh_key_commands(server: Server, tmp_path: Path) -> None:
    user = f"keys-{uuid.uuid4().hex[:8]}"
    server.cli("user", "create", user)
    good = SshIdentity.generate(tmp_path / "good", tmp_path / "kh", kind="ecdsa")
    added = server.cli("ssh-key", "add", user, "--key-file", str(good.public_key))
    assert added["UserName"] == user and added["Status"] == "Active"
    assert added["KeyType"] == "ecdsa-sha2-nistp256"
    keygen = subprocess.run(
        ["ssh-keygen", "-l", "-E", "md5", "-f", str(good.public_key)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert keygen.stdout.split()[1] == "MD5:" + added["Fingerprint"]
    listed = server.cli("ssh-key", "list", user)["SSHPublicKeys"]
    assert [k["SSHPublicKeyId"] for k in listed] == [added["SSHPublicKeyId"]]

    short = tmp_path / "short"
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-N", "", "-f", str(short)])
    for key_file, reason in (
        (short.with_suffix(".pub"), "RSA keys need at least 2048 bits; this one has 1024"),
        (good.public_key, "already registered"),
        (good.key, "this is a private key"),
    ):
        failed = server.cli("ssh-key", "add", "admin", "--key-file", str(key_file), check=False)
        assert failed.returncode == 1 and failed.stdout == ""
        assert failed.stderr.count("\n") == 1 and reason in failed.stderr, failed.stderr
    assert server.cli("ssh-key", "delete", added["SSHPublicKeyId"]) == {
        "deleted": added["SSHPublicKeyId"]
    }
    assert server.cli("ssh-key", "list", user)["SSHPublicKeys"] == []
