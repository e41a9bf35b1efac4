"""Test support: a real `gitserver serve` process, the real CLI, the real `git`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.cli_zygote import run_cli

VENV_BIN = Path(sys.executable).parent
GITSERVER = str(VENV_BIN / "gitserver")
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def postgres_admin_url() -> str | None:
    """The PostgreSQL to test against, or None when none is reachable."""
    url = os.environ.get("GITSERVER_TEST_DATABASE_URL", PG_DEFAULT)
    parsed = urllib.parse.urlparse(url.replace("+asyncpg", ""))
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), 2):
            pass
    except OSError:
        return None
    return url


def _pg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def create_pg_database(admin_url: str) -> str:
    """A fresh database for one test session; returns its SQLAlchemy URL."""
    import asyncpg

    name = f"gitserver_test_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        conn = await asyncpg.connect(_pg_dsn(admin_url))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def drop_pg_database(admin_url: str, url: str) -> None:
    import asyncpg

    name = url.rpartition("/")[2]

    async def drop() -> None:
        conn = await asyncpg.connect(_pg_dsn(admin_url))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


@dataclass
class Server:
    """A running `gitserver serve` on ephemeral ports."""

    data: Path
    database_url: str
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    ssh_port: int = 0
    admin_password: str = ""
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        scheme = "https" if "--tls-cert" in self.extra_args else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def cli_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITSERVER_")}
        env.update(self.env)
        return env

    def cli(self, *args: str, input: str | None = None, check: bool = True) -> Any:
        """Run `gitserver ... --json` against this server's data and database."""
        argv = [
            *args,
            "--data",
            str(self.data),
            "--database-url",
            self.database_url,
            "--json",
        ]
        if self.port:
            argv += ["--base-url", self.base_url]
        if self.ssh_port:
            argv += ["--ssh-base-url", f"ssh://127.0.0.1:{self.ssh_port}"]
        result = run_cli(GITSERVER, argv, self.cli_env(), input)
        if check and result.returncode != 0:
            raise AssertionError(f"gitserver {' '.join(args)} failed: {result.stderr}")
        if not check:
            return result
        return json.loads(result.stdout) if result.stdout.strip() else None

    def start(self, timeout: float = 60) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data.parent / f"{self.data.name}-server.log"
        argv = [
            GITSERVER,
            "serve",
            "--data",
            str(self.data),
            "--database-url",
            self.database_url,
            "--http",
            f"127.0.0.1:{self.port}",
            *([] if "--no-ssh" in self.extra_args else ["--ssh", f"127.0.0.1:{self.ssh_port}"]),
            *self.extra_args,
        ]
        want_ssh = "--no-ssh" not in self.extra_args
        http_seen = ssh_seen = False
        self.process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=self.log_path.open("ab"),
            env=self.cli_env(),
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        while time.monotonic() < deadline:
            raw = self.process.stdout.readline()
            if not raw:
                break
            line = raw.decode().rstrip()
            lines.append(line)
            if m := re.match(r"Created user admin with password: (\S+)", line):
                self.admin_password = m.group(1)
            if m := re.search(r"HTTP listening on https?://[^:]+:(\d+)", line):
                self.port = int(m.group(1))
                http_seen = True
            if m := re.search(r"SSH listening on \S+:(\d+)", line):
                self.ssh_port = int(m.group(1))
                ssh_seen = True
            if http_seen and (ssh_seen or not want_ssh):
                # Keep draining stdout so the server never blocks on a full pipe.
                threading.Thread(target=self.process.stdout.read, daemon=True).start()
                return
        raise RuntimeError(f"server did not start: {lines} {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def url(self, repo: str, user: str = "admin", password: str | None = None) -> str:
        password = self.admin_password if password is None else password
        auth = f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}@"
        scheme, _, host = self.base_url.partition("://")
        return f"{scheme}://{auth}{host}/v1/repos/{repo}"

    def ssh_url(self, repo: str, user: str = "admin") -> str:
        """`ssh://USER@127.0.0.1:PORT/v1/repos/REPO`; USER is a user name or an SSHPublicKeyId."""
        assert self.ssh_port, "this server runs without SSH"
        return f"ssh://{user}@127.0.0.1:{self.ssh_port}/v1/repos/{repo}"

    def known_hosts(self, path: Path) -> Path:
        """Write the server's published host keys as a known_hosts file."""
        keys = self.cli("ssh-key", "host-fingerprints")["hostKeys"]
        path.write_text("".join(f"[127.0.0.1]:{self.ssh_port} {k['publicKey']}\n" for k in keys))
        return path

    def events(self, repo: str | None = None, after: int = 0) -> list[dict[str, Any]]:
        args = ["event", "list", "--after", str(after)]
        if repo:
            args += ["--repo", repo]
        return list(self.cli(*args)["events"])


def git_env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Committer",
        "GIT_COMMITTER_EMAIL": "committer@example.com",
        "LC_ALL": "C",
    }


class Git:
    """The real git CLI with an isolated HOME."""

    def __init__(self, home: Path) -> None:
        self.env = git_env(home)

    def __call__(
        self,
        *args: str,
        cwd: Path | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
        input: bytes | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            env={**self.env, **(env or {})},
            input=input.decode() if input else None,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"git {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def init(self, path: Path, branch: str = "main") -> Path:
        self("init", "-q", "-b", branch, str(path))
        return path

    def commit(
        self,
        work: Path,
        name: str = "file.txt",
        content: str | None = None,
        message: str | None = None,
    ) -> str:
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content if content is not None else uuid.uuid4().hex + "\n")
        self("add", name, cwd=work)
        self("commit", "-q", "-m", message or f"change {name}", cwd=work)
        return self.rev_parse(work, "HEAD")

    def rev_parse(self, work: Path, rev: str) -> str:
        return self("rev-parse", rev, cwd=work).stdout.strip()


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class Remote:
    """Where a git contract test talks to the server: smart HTTP or SSH."""

    server: Server
    transport: str
    env: dict[str, str]

    def url(self, repo: str, user: str = "admin") -> str:
        if self.transport == "ssh":
            return self.server.ssh_url(repo, user)
        return self.server.url(repo, user)


@dataclass
class SshIdentity:
    """A key pair made with ssh-keygen, and the OpenSSH command line that uses only it."""

    key: Path
    known_hosts: Path
    key_id: str = ""  # the SSHPublicKeyId, once registered

    @classmethod
    def generate(cls, directory: Path, known_hosts: Path, kind: str = "ed25519") -> SshIdentity:
        directory.mkdir(parents=True, exist_ok=True)
        key = directory / f"id_{kind}_{uuid.uuid4().hex[:8]}"
        extra = ["-b", "3072"] if kind == "rsa" else []
        subprocess.run(
            ["ssh-keygen", "-q", "-t", kind, *extra, "-N", "", "-C", "test", "-f", str(key)],
            check=True,
            timeout=60,
        )
        return cls(key, known_hosts)

    @property
    def public_key(self) -> Path:
        return self.key.with_name(self.key.name + ".pub")

    def argv(self) -> list[str]:
        return [
            "ssh",
            "-F",
            "/dev/null",
            "-i",
            str(self.key),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
        ]

    def git_env(self) -> dict[str, str]:
        """Environment for `git` to use this identity (GIT_SSH_COMMAND)."""
        return {"GIT_SSH_COMMAND": " ".join(self.argv())}

    def register(self, server: Server, user: str = "admin") -> str:
        """Upload the public key for `user`; returns its SSHPublicKeyId."""
        added = server.cli("ssh-key", "add", user, "--key-file", str(self.public_key))
        self.key_id = str(added["SSHPublicKeyId"])
        return self.key_id


# --- Helpers for the robustness and reconcile tests -------------------------------------


def cli_env_call(server: Server, env: dict[str, str], *args: str, check: bool = True) -> Any:
    """`server.cli(...)` with extra environment variables for this one call."""
    saved = dict(server.env)
    server.env.update(env)
    try:
        return server.cli(*args, check=check)
    finally:
        server.env.clear()
        server.env.update(saved)


def kill_server(server: Server) -> None:
    """SIGKILL the server process: no shutdown code runs, as in a crash."""
    assert server.process is not None
    server.process.kill()
    server.process.wait()


def raw_receive_pack(server: Server, repo: str, body: Iterable[bytes]) -> tuple[int, bytes]:
    """POST `body` (a receive-pack request, chunked as it is produced: a test can act
    between two chunks) to `repo` as admin; the status and the whole report."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(
            "POST",
            f"/v1/repos/{repo}/git-receive-pack",
            body=body,
            headers={
                "Authorization": basic_auth("admin", server.admin_password),
                "Content-Type": "application/x-git-receive-pack-request",
            },
            encode_chunked=True,
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def basic_auth(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def http_request(
    server: Server,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    password: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP request as admin (or with `password`); returns status, headers, body."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        all_headers = {
            "Authorization": basic_auth(
                "admin", server.admin_password if password is None else password
            ),
            **(headers or {}),
        }
        conn.request(method, path, body=body if method == "POST" else None, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, dict(response.getheaders()), data
    finally:
        conn.close()


def server_git_processes(server: Server) -> list[list[str]]:
    """The command lines of every process the server started (git and its children)."""
    import psutil

    try:
        children = psutil.Process(server.pid()).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    lines = []
    for child in children:
        try:
            lines.append(child.cmdline())
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return lines


def wait_until(predicate: Any, timeout: float = 60.0, interval: float = 0.05) -> Any:
    """Poll `predicate` until it returns something truthy; that value, or None at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def run_sql(server: Server, *statements: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Run raw SQL statements on the server's database in one transaction; rows of the last."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def go() -> list[Any]:
        engine = create_async_engine(server.database_url)
        try:
            async with engine.begin() as conn:
                result = None
                for statement in statements:
                    result = await conn.execute(text(statement), params or {})
                return list(result.fetchall()) if result is not None and result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(go())


def protected_main_user(server: Server, tmp_path: Path, name: str) -> tuple[str, str]:
    """A power user with an explicit deny on pushes to main; returns its name and URL."""
    user = f"partial-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", user)
    server.cli("policy", "attach-user-policy", user, "GitServerPowerUser")
    deny_main = {
        "Effect": "Deny",
        "Action": "codecommit:GitPush",
        "Resource": f"arn:aws:codecommit:us-east-1:000000000000:{name}",
        "Condition": {
            "StringEqualsIfExists": {"codecommit:References": ["refs/heads/main"]},
            "Null": {"codecommit:References": "false"},
        },
    }
    document = tmp_path / "protect-main.json"
    document.write_text(json.dumps({"Version": "2012-10-17", "Statement": [deny_main]}))
    server.cli("policy", "put-user-policy", user, "ProtectMain", "--document", str(document))
    credential = server.cli("credential", "create", user)
    return user, server.url(name, credential["username"], credential["password"])
