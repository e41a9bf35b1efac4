"""Real clients against the real server: libgit2, the AWS credential helpers, raw HTTP.

Each test drives a client the way a CodeCommit user would (git with a credential
helper, git-remote-codecommit, pygit2) and checks what that user would see.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import gzip
import hashlib
import hmac
import http.client
import ipaddress
import os
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pygit2
import pytest

from auth.sigv4 import git_signature
from tests.support import VENV_BIN, Git, Server

REGION = "us-east-1"
FLUSH = b"0000"
DELIM = b"0001"


# --- helpers


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _user(server: Server, *, admin: bool) -> str:
    name = _unique("dev")
    server.cli("user", "create", name, *(["--admin"] if admin else []))
    return name


def _push_initial(git: Git, tmp_path: Path, server: Server, name: str) -> str:
    work = git.init(tmp_path / f"seed-{name}")
    head = git.commit(work, "README.md", "hello\n")
    git("push", server.url(name), "main", cwd=work)
    return head


def _remote_head(git: Git, url: str, ref: str = "refs/heads/main", **env: str) -> str:
    out = git("ls-remote", url, ref, env=env).stdout.split()
    return out[0] if out else ""


def _aws_env(key_id: str, secret: str, tmp_path: Path) -> dict[str, str]:
    """AWS settings for the clients, with nothing from this machine's ~/.aws leaking in."""
    return {
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "no-such-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-such-aws-credentials"),
    }


def _helper_args() -> list[str]:
    """git -c options for `aws codecommit credential-helper`, as the CodeCommit docs set it up."""
    helper = f"!{VENV_BIN / 'aws'} codecommit credential-helper --ignore-host-check $@"
    return [
        "-c",
        "credential.helper=",
        "-c",
        f"credential.helper={helper}",
        "-c",
        "credential.UseHttpPath=true",
    ]


def _reference_git_password(
    secret: str, path: str, host: str, region: str, when: datetime.datetime
) -> str:
    """The SigV4 Git password written from reference/codecommit.md 5.2, not the server's code."""
    ts = when.strftime("%Y%m%dT%H%M%S")
    canonical = f"GIT\n{path}\n\nhost:{host}\n\nhost\n"
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            ts,
            f"{ts[:8]}/{region}/codecommit/aws4_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = ("AWS4" + secret).encode()
    for part in (ts[:8], region, "codecommit", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return ts + "Z" + hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _pkt(data: bytes) -> bytes:
    return f"{len(data) + 4:04x}".encode() + data


def _pkt_lines(body: bytes) -> list[bytes | None]:
    """Split a pkt-line stream; None stands for flush/delim. Fails on a malformed stream."""
    lines: list[bytes | None] = []
    pos = 0
    while pos < len(body):
        size = int(body[pos : pos + 4], 16)
        if size < 4:
            lines.append(None)
            pos += 4
            continue
        assert pos + size <= len(body), f"truncated pkt-line at {pos}"
        lines.append(body[pos + 4 : pos + size])
        pos += size
    return lines


def _request(
    server: Server,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    auth: bool = True,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One raw HTTP request, as curl would send it."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        sent = dict(headers or {})
        if auth:
            sent["Authorization"] = _basic("admin", server.admin_password)
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return response.status, response.msg, response.read()
    finally:
        connection.close()


class _Wiretap:
    """A TCP relay in front of the server that keeps what the client sent.

    Lets a test see the HTTP requests a library really made (headers, chunking)
    without touching either side.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sent: list[bytearray] = []
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self.sockets += [client, upstream]
            buffer = bytearray()
            self.sent.append(buffer)
            threading.Thread(
                target=self._pipe, args=(client, upstream, buffer), daemon=True
            ).start()
            threading.Thread(target=self._pipe, args=(upstream, client, None), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, keep: bytearray | None) -> None:
        try:
            while data := source.recv(65536):
                if keep is not None:
                    keep += data
                sink.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def requests(self) -> list[tuple[str, str, dict[str, str]]]:
        """(method, path, lower-cased headers) of every request seen so far."""
        found = []
        for buffer in self.sent:
            for match in re.finditer(
                rb"(GET|POST) (\S+) HTTP/1\.[01]\r\n(.*?)\r\n\r\n", bytes(buffer), re.DOTALL
            ):
                headers = {}
                for line in match.group(3).decode("latin-1").split("\r\n"):
                    key, _, value = line.partition(":")
                    headers[key.strip().lower()] = value.strip()
                found.append((match.group(1).decode(), match.group(2).decode(), headers))
        return found

    def close(self) -> None:
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture
def wiretap(server: Server) -> Iterator[_Wiretap]:
    tap = _Wiretap(server.port)
    yield tap
    tap.close()


# --- 1. libgit2


class _Callbacks(pygit2.RemoteCallbacks):
    def __init__(self, user: str, password: str) -> None:
        super().__init__(credentials=pygit2.UserPass(user, password))
        self.rejected: dict[str, str] = {}
        self.updated: list[str] = []

    def push_update_reference(self, refname: str, message: str) -> None:
        if message:
            self.rejected[refname] = message
        else:
            self.updated.append(refname)


def test_pygit2_clone_and_chunked_push(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, wiretap: _Wiretap
) -> None:
    name = repo()
    head = _push_initial(git, tmp_path, server, name)
    url = f"http://127.0.0.1:{wiretap.port}/v1/repos/{name}"
    callbacks = _Callbacks("admin", server.admin_password)

    cloned = pygit2.clone_repository(url, str(tmp_path / "pygit2"), callbacks=callbacks)
    assert str(cloned.head.target) == head
    assert (tmp_path / "pygit2" / "README.md").read_text() == "hello\n"

    big = os.urandom(4 * 1024 * 1024)  # random: the pack cannot compress it away
    builder = cloned.TreeBuilder(cloned.head.peel(pygit2.Commit).tree)
    builder.insert("big.bin", cloned.create_blob(big), pygit2.enums.FileMode.BLOB)
    author = pygit2.Signature("Lib Git", "libgit2@example.com")
    new = cloned.create_commit(
        "refs/heads/main", author, author, "big file", builder.write(), [cloned.head.target]
    )
    cloned.remotes["origin"].push(["refs/heads/main:refs/heads/main"], callbacks=callbacks)
    assert callbacks.rejected == {}
    assert callbacks.updated == ["refs/heads/main"]

    # What libgit2 sent: protocol v0 (no Git-Protocol) and a chunked push body.
    requests = wiretap.requests()
    assert requests and all("git-protocol" not in headers for _, _, headers in requests)
    pushes = [h for method, path, h in requests if path.endswith("/git-receive-pack")]
    assert pushes and pushes[-1].get("transfer-encoding") == "chunked"
    assert "content-length" not in pushes[-1]

    # The git CLI sees the new commit and the exact bytes.
    assert _remote_head(git, server.url(name)) == str(new)
    check = tmp_path / "check"
    git("clone", "-q", server.url(name), str(check))
    assert git.rev_parse(check, "HEAD") == str(new)
    assert (check / "big.bin").read_bytes() == big
    git("fsck", "--strict", cwd=check)


# --- 2. HTTPS Git credentials


def test_git_credential_clone_and_failures(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo()
    head = _push_initial(git, tmp_path, server, name)
    owner = _user(server, admin=True)
    cred = server.cli("credential", "create", owner)
    assert cred["username"] == f"{owner}-at-000000000000"

    clone = tmp_path / "clone"
    git("clone", "-q", server.url(name, cred["username"], cred["password"]), str(clone))
    assert git.rev_parse(clone, "HEAD") == head

    # Flip the last character: appending a fixed one would leave the password
    # unchanged whenever it already ends with that character (1 in 64).
    last = cred["password"][-1]
    bad_password = cred["password"][:-1] + ("y" if last == "x" else "x")
    wrong = git(
        "clone",
        server.url(name, cred["username"], bad_password),
        str(tmp_path / "wrong"),
        check=False,
    )
    assert wrong.returncode != 0
    assert "Authentication failed" in wrong.stderr
    assert not (tmp_path / "wrong").exists()
    # The server is still serving after the failure.
    assert _remote_head(git, server.url(name, cred["username"], cred["password"])) == head

    server.cli("credential", "deactivate", cred["ServiceSpecificCredentialId"])
    refused = git("ls-remote", server.url(name, cred["username"], cred["password"]), check=False)
    assert refused.returncode != 0
    assert "Authentication failed" in refused.stderr
    server.cli("credential", "activate", cred["ServiceSpecificCredentialId"])
    assert _remote_head(git, server.url(name, cred["username"], cred["password"])) == head


def test_anonymous_request_is_challenged(server: Server, repo: Callable[..., str]) -> None:
    name = repo()
    url = f"http://127.0.0.1:{server.port}/v1/repos/{name}/info/refs?service=git-upload-pack"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=30)
    assert caught.value.code == 401
    assert caught.value.headers["WWW-Authenticate"].startswith("Basic realm=")


def test_git_credential_of_user_without_permission_is_forbidden(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo()
    _push_initial(git, tmp_path, server, name)
    outsider = _user(server, admin=False)
    cred = server.cli("credential", "create", outsider)
    denied = git(
        "clone",
        server.url(name, cred["username"], cred["password"]),
        str(tmp_path / "denied"),
        check=False,
    )
    assert denied.returncode != 0
    assert "403" in denied.stderr
    assert "not authorized to perform: codecommit:GitPull" in denied.stderr
    assert f"user/{outsider}" in denied.stderr


# --- 3. SigV4 Git password


def test_aws_cli_credential_helper_clone_and_push(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo()
    head = _push_initial(git, tmp_path, server, name)
    owner = _user(server, admin=True)
    key = server.cli("access-key", "create", owner)
    env = _aws_env(key["AccessKeyId"], key["SecretAccessKey"], tmp_path)
    url = f"http://127.0.0.1:{server.port}/v1/repos/{name}"

    clone = tmp_path / "clone"
    git(*_helper_args(), "clone", "-q", url, str(clone), env=env)
    assert git.rev_parse(clone, "HEAD") == head

    new = git.commit(clone, "signed.txt", "pushed with a SigV4 password\n")
    git(*_helper_args(), "push", "-q", "origin", "main", cwd=clone, env=env)
    assert _remote_head(git, server.url(name)) == new

    server.cli("access-key", "deactivate", key["AccessKeyId"])
    refused = git(*_helper_args(), "ls-remote", url, env=env, check=False)
    assert refused.returncode != 0
    assert "Authentication failed" in refused.stderr


def test_sigv4_password_freshness(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo()
    head = _push_initial(git, tmp_path, server, name)
    owner = _user(server, admin=True)
    key = server.cli("access-key", "create", owner)
    key_id, secret = key["AccessKeyId"], key["SecretAccessKey"]
    path, host = f"/v1/repos/{name}", "127.0.0.1"
    now = datetime.datetime.now(datetime.UTC)

    def url(password: str) -> str:
        return server.url(name, key_id, password)

    def password_at(when: datetime.datetime) -> str:
        ts = when.strftime("%Y%m%dT%H%M%S")
        return ts + "Z" + git_signature(secret, ts, path, host, REGION)

    # A password made from the reference text alone works: catches a bug the server's
    # signer and verifier would share.
    independent = _reference_git_password(secret, path, host, REGION, now)
    assert _remote_head(git, url(independent)) == head
    assert independent == password_at(now)

    # Reused within the window (a long clone, a cached password), it still works...
    assert _remote_head(git, url(password_at(now - datetime.timedelta(minutes=10)))) == head
    # ...but not once stale: the server allows 15 minutes plus 5 minutes of clock skew.
    for stale in (
        now - datetime.timedelta(minutes=21),
        now - datetime.timedelta(hours=6),
        now + datetime.timedelta(minutes=10),
    ):
        refused = git("ls-remote", url(password_at(stale)), check=False)
        assert refused.returncode != 0, stale
        assert "Authentication failed" in refused.stderr
    # A fresh password for another repository does not open this one.
    other = _reference_git_password(secret, "/v1/repos/other", host, REGION, now)
    assert git("ls-remote", url(other), check=False).returncode != 0


# --- 4. TLS + git-remote-codecommit


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_git_remote_codecommit_over_tls(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    cert, key = _self_signed(tmp_path)
    server = make_server("--tls-cert", str(cert), "--tls-key", str(key))
    assert server.base_url.startswith("https://")
    name = _unique("tls")
    server.cli("repo", "create", name)
    tls = {"GIT_SSL_CAINFO": str(cert)}

    # Seed over HTTPS with the admin password, verifying the certificate.
    work = git.init(tmp_path / "work")
    head = git.commit(work, "README.md", "over TLS\n")
    git("push", "-q", server.url(name), "main", cwd=work, env=tls)
    plain = git("ls-remote", f"http://127.0.0.1:{server.port}/v1/repos/{name}", check=False)
    assert plain.returncode != 0  # the port speaks TLS only

    access = server.cli("access-key", "create", "admin")
    env = {
        **_aws_env(access["AccessKeyId"], access["SecretAccessKey"], tmp_path),
        **tls,
        "CODE_COMMIT_ENDPOINT": f"127.0.0.1:{server.port}",
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
    }
    clone = tmp_path / "clone"
    git("clone", "-q", f"codecommit::{REGION}://{name}", str(clone), env=env)
    assert git.rev_parse(clone, "HEAD") == head
    assert git("remote", "get-url", "origin", cwd=clone).stdout.strip() == (
        f"codecommit::{REGION}://{name}"
    )

    new = git.commit(clone, "remote-codecommit.txt", "pushed through git-remote-codecommit\n")
    git("push", "-q", "origin", "main", cwd=clone, env=env)
    assert _remote_head(git, server.url(name), **tls) == new

    # The helper signs with whatever is in the environment: a wrong secret is refused.
    bad = {**env, "AWS_SECRET_ACCESS_KEY": access["SecretAccessKey"][::-1]}
    refused = git("ls-remote", f"codecommit::{REGION}://{name}", env=bad, check=False)
    assert refused.returncode != 0
    assert "Authentication failed" in refused.stderr


# --- 5. protocol details


def test_protocol_v2_advertisement(server: Server, repo: Callable[..., str]) -> None:
    name = repo()
    path = f"/v1/repos/{name}/info/refs?service=git-upload-pack"
    status, headers, body = _request(server, "GET", path, headers={"Git-Protocol": "version=2"})
    assert status == 200
    assert headers["Content-Type"] == "application/x-git-upload-pack-advertisement"
    lines = _pkt_lines(body)
    assert lines[0] == b"version 2\n"
    assert lines[-1] is None
    capabilities = {line.split(b"=")[0].strip() for line in lines[1:] if line}
    assert {b"ls-refs", b"fetch"} <= capabilities
    assert b"# service=" not in body

    status, _, body = _request(server, "GET", path)
    assert status == 200
    assert _pkt_lines(body)[:2] == [b"# service=git-upload-pack\n", None]


def test_malformed_requests(server: Server, repo: Callable[..., str]) -> None:
    name = repo()
    base = f"/v1/repos/{name}"
    status, _, body = _request(
        server,
        "GET",
        base + "/info/refs?service=git-upload-pack",
        headers={"Git-Protocol": "version=2; rm -rf /"},
    )
    assert status == 400, body
    assert b"Git-Protocol" in body

    status, _, body = _request(server, "GET", base + "/info/refs")
    assert status == 403, body
    assert b"smart HTTP" in body

    status, _, _ = _request(
        server,
        "POST",
        base + "/git-upload-pack",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=b"0000",
    )
    assert status == 415
    status, _, _ = _request(
        server,
        "POST",
        base + "/git-receive-pack",
        headers={"Content-Type": "application/x-git-upload-pack-request"},
        body=b"0000",
    )
    assert status == 415


def test_gzip_encoded_upload_pack_request(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo()
    head = _push_initial(git, tmp_path, server, name)
    command = (
        _pkt(b"command=ls-refs\n")
        + _pkt(b"agent=test-client/1.0\n")
        + _pkt(b"object-format=sha1\n")
        + DELIM
        + _pkt(b"symrefs\n")
        + _pkt(b"ref-prefix refs/heads/\n")
        + FLUSH
    )
    status, headers, body = _request(
        server,
        "POST",
        f"/v1/repos/{name}/git-upload-pack",
        headers={
            "Content-Type": "application/x-git-upload-pack-request",
            "Accept": "application/x-git-upload-pack-result",
            "Content-Encoding": "gzip",
            "Git-Protocol": "version=2",
        },
        body=gzip.compress(command),
    )
    assert status == 200, body
    assert headers["Content-Type"] == "application/x-git-upload-pack-result"
    assert _pkt_lines(body) == [f"{head} refs/heads/main\n".encode(), None]
