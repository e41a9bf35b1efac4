"""Issue 14 §1.4: hostile HTTP input on every route, against one running server.

The routes are the application's own (the web UI's route table, git's smart HTTP routes,
the API, /healthz and /metrics), each filled in with real names and then with hostile
ones: bytes that are not UTF-8, NUL, lone surrogates, traversal. Every answer must be a
4xx with a message, or the page itself; never a 5xx, never a traceback in the server's
log, never a file from outside the repository. Limits on size and time per route are in
test_http_limits.py (git, headers); the ones here cover the other routes.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.model import Shape, StructureShape

from gitserver.api import model
from gitserver.transport.http import GitHttp
from gitserver.web.pages import STATIC
from gitserver.web.site import routes as web_routes
from tests.api_support import REGION, codecommit
from tests.support import Git, Server, basic_auth, run_sql
from tests.web_support import Browser, signed_in

# Percent-encoded, as they would sit in a URL or a form: invalid UTF-8, NUL, a UTF-8
# encoded surrogate (invalid too), traversal with an encoded slash.
HOSTILE = ["%FF%FE", "%00", "%ED%A0%80", "..%2F..%2F..%2Fetc%2Fpasswd"]
SECRETS = [b"root:x:0:0", b"[core]", b"repositoryformatversion"]
_PLACEHOLDER = re.compile(r"\{(\w+)(?::[^{}]*)?\}")
_FORM_FIELD = re.compile(r'name="([\w-]+)"')
_QUERY_NAME = re.compile(r'query\.get(?:all)?\("([\w-]+)"')


def _route_table() -> list[tuple[str, str]]:
    """(method, path template) of every route the server mounts."""
    handlers = SimpleNamespace(info_refs=None, upload_pack=None, receive_pack=None)
    git = GitHttp.routes(cast(GitHttp, handlers))
    table = [(r.method, r.path) for r in [*web_routes(), *git]]
    return [*table, ("POST", "/"), ("GET", "/healthz"), ("GET", "/metrics")]


def _form_fields() -> list[str]:
    templates = STATIC.parent / "templates"
    found = {m for t in templates.glob("*.html") for m in _FORM_FIELD.findall(t.read_text())}
    return sorted(found - {"csrf"})


def _query_names() -> list[str]:
    web = Path(STATIC).parent
    return sorted({m for f in web.glob("*.py") for m in _QUERY_NAME.findall(f.read_text())})


@pytest.fixture(scope="module")
def site(server: Server, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A repository with a commit, the admin's browser session and an access key."""
    name = f"hostile-{int(time.time() * 1000) % 10**8}"
    server.cli("repo", "create", name)
    work = tmp_path_factory.mktemp("hostile")
    git = Git(work / "home")
    clone = work / "w"
    git("clone", "-q", server.url(name), str(clone))
    git.commit(clone, "README.md", "hello\n")
    head = git.commit(clone, "dir/a.txt", "a\n")
    git("push", "-q", "origin", "HEAD:main", cwd=clone)
    key = server.cli("access-key", "create", "admin")
    browser = signed_in(server, "admin", server.admin_password)
    assert server.log_path is not None
    return SimpleNamespace(
        repo=name, head=head, key=key, browser=browser, log_start=server.log_path.stat().st_size
    )


def _fill(template: str, values: dict[str, str], hostile: str | None = None) -> str:
    """The path with each placeholder set to its real value (or `hostile`, the first)."""
    out, first = template, True
    for match in _PLACEHOLDER.finditer(template):
        value = values.get(match.group(1), "fuzz-nobody")
        if hostile is not None and first:
            value, first = hostile, False
        out = out.replace(match.group(0), value, 1)
    return out


def _values(site: SimpleNamespace) -> dict[str, str]:
    return {
        "name": site.repo,
        "tail": "main/README.md",
        "commit": site.head,
        "spec": "main...main",
        "id": "1",
    }


class Client:
    """One keep-alive connection, re-opened when the server closes it."""

    def __init__(self, server: Server, cookies: dict[str, str] | None = None) -> None:
        self.server = server
        self.cookie = "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)

    def send(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        all_headers = {"Cookie": self.cookie, **(headers or {})} if self.cookie else headers or {}
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body or None, headers=all_headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.will_close:
                    self.conn.close()
                return response.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")


def _refused_cleanly(status: int, body: bytes, what: str) -> None:
    assert status < 500, f"{what}: {status} {body[:300]!r}"
    assert b"Traceback" not in body, what
    assert not any(secret in body for secret in SECRETS), f"{what}: {body[:300]!r}"


def _no_tracebacks(server: Server, since: int) -> None:
    assert server.log_path is not None
    with server.log_path.open("rb") as log:
        log.seek(since)
        new = log.read()
    assert b"Traceback" not in new, new[new.find(b"Traceback") - 2000 :][:6000].decode(
        errors="replace"
    )


# --- every route, every path segment ------------------------------------------------------


def test_hostile_path_segments_on_every_route(server: Server, site: SimpleNamespace) -> None:
    client = Client(server, site.browser.cookies)
    auth = {"Authorization": basic_auth("admin", server.admin_password)}
    table = _route_table()
    assert len(table) > 80  # the whole application, not a sample
    for index, (method, template) in enumerate(table):
        if not _PLACEHOLDER.search(template):
            continue
        for hostile in (_rotated(index), _rotated(index + 1)):  # two each, all in use
            path = _fill(template, _values(site), hostile)
            status, body = client.send(method, path, b"", auth if "/v1/" in path else None)
            _refused_cleanly(status, body, f"{method} {path}")
    _no_tracebacks(server, site.log_start)


def test_hostile_query_parameters_on_every_page(server: Server, site: SimpleNamespace) -> None:
    client = Client(server, site.browser.cookies)
    names = _query_names()
    assert {"path", "page", "next"} <= set(names)
    for rotation in (0, 2):  # each parameter gets two of the hostile values, all in use
        query = "&".join(f"{n}={_rotated(i + rotation)}" for i, n in enumerate(names))
        for method, template in _route_table():
            if method != "GET":
                continue
            path = _fill(template, _values(site)) + "?" + query
            status, body = client.send("GET", path)
            _refused_cleanly(status, body, f"GET {path}")
    _no_tracebacks(server, site.log_start)


def test_hostile_form_fields_on_every_form(server: Server, site: SimpleNamespace) -> None:
    """Every field any form has, hostile, posted with a valid CSRF token to every POST
    route of the web UI (the session's own routes last: sign-out ends it)."""
    browser: Browser = site.browser
    token = browser.csrf()
    client = Client(server, browser.cookies)
    fields = _form_fields()
    posts = [t for m, t in web_routes_table() if m == "POST" and not t.startswith("/sign-out")]
    for rotation in (0, 2):
        values = [f"{f}={_rotated(i + rotation)}" for i, f in enumerate(fields)]
        body = "&".join([f"csrf={token}", *values]).encode()
        for template in posts:
            path = _fill(template, _values(site))
            status, answer = client.send(
                "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}
            )
            _refused_cleanly(status, answer, f"POST {path} with {body!r}")
    _no_tracebacks(server, site.log_start)


def _rotated(index: int) -> str:
    return HOSTILE[index % len(HOSTILE)]


def web_routes_table() -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in web_routes()]


# --- the API: every operation's string members --------------------------------------------


def _sample(shape: Shape, member: str, site: SimpleNamespace, depth: int = 0) -> Any:
    """A plausible value for `member`: the real repository, branch and commit."""
    if shape.type_name == "structure" and depth < 3:
        structure = cast(StructureShape, shape)
        return {
            n: _sample(s, n, site, depth + 1)
            for n, s in structure.members.items()
            if n in structure.required_members
        }
    if shape.type_name == "list":
        return [_sample(shape.member, member, site, depth + 1)]  # type: ignore[attr-defined]
    samples = {
        "string": "main" if "branch" in member.lower() else "x",
        "integer": 1,
        "long": 1,
        "boolean": False,
        "blob": base64.b64encode(b"x").decode(),
        "timestamp": 0,
        "map": {},
    }
    if shape.type_name == "string":
        if "repositoryname" in member.lower():
            return site.repo
        if "commit" in member.lower() or member in {
            "beforeCommitSpecifier",
            "afterCommitSpecifier",
        }:
            return site.head
        if shape.enum:
            return shape.enum[0]
    return samples.get(shape.type_name, "x")


def _string_members(shape: StructureShape) -> Iterator[str]:
    for name, member in shape.members.items():
        if member.type_name == "string" and not member.enum:
            yield name


def _signed(site: SimpleNamespace, server: Server, target: str, body: bytes) -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url=server.base_url + "/",
        data=body,
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
    )
    credentials = Credentials(site.key["AccessKeyId"], site.key["SecretAccessKey"])
    SigV4Auth(credentials, "codecommit", REGION).add_auth(request)
    return dict(request.headers.items())


# JSON escapes for NUL, a lone high surrogate, and one surrogate-escape would make:
# refused for the whole body, so one request per operation has them in every string.
JSON_UNTEXT = ["\\u0000", "\\ud800", "a\\udcff"]
# What is text and reaches each operation: one request per string member.
JSON_TRAVERSAL = "..\\/..\\/..\\/etc\\/passwd"


def test_hostile_strings_in_every_api_operation(server: Server, site: SimpleNamespace) -> None:
    client = Client(server)
    service = model.service_model("codecommit")
    checked = 0

    def send(name: str, document: dict[str, Any], hostile: str, what: str) -> None:
        text = json.dumps(document).replace('"@@"', f'"{hostile}"')
        for index, untext in enumerate(JSON_UNTEXT):
            text = text.replace(f'"@{index}@"', f'"{untext}"')
        body = text.encode()
        target = f"{model.TARGET_PREFIX}.{name}"
        status, answer = client.send("POST", "/", body, _signed(site, server, target, body))
        _refused_cleanly(status, answer, what)

    for name in service.operation_names:
        op = service.operation_model(name)
        if op.input_shape is None:
            continue
        base = _sample(op.input_shape, "", site)
        members = list(_string_members(op.input_shape))
        for member in members:
            send(name, {**base, member: "@@"}, JSON_TRAVERSAL, f"{name}.{member}=traversal")
            checked += 1
        if members:
            document = {**base, **{m: f"@{i % len(JSON_UNTEXT)}@" for i, m in enumerate(members)}}
            send(name, document, "", f"{name}: NUL and surrogates")
    assert checked > 100
    raw = b'{"repositoryName": "\xff\xfe"}'
    headers = _signed(site, server, f"{model.TARGET_PREFIX}.GetRepository", raw)
    status, answer = client.send("POST", "/", raw, headers)
    assert status == 400 and b"SerializationException" in answer
    _no_tracebacks(server, site.log_start)


# --- path traversal -----------------------------------------------------------------------

TRAVERSALS = [
    "../../../../etc/passwd",
    "..%2f..%2fconfig",
    "/etc/passwd",
    ".git/config",
    "../config",
    "dir/../../config",
    "README.md\x00.txt",
    "dir/./../../HEAD",
]


def test_file_paths_never_leave_the_repository(server: Server, site: SimpleNamespace) -> None:
    """Traversal in every file API: refused, or a file of that name inside the
    repository (`/etc/passwd` is `etc/passwd` there); never a byte from outside."""
    client = codecommit(server, site.key)
    head = site.head
    for path in TRAVERSALS:
        for read in (
            lambda p: client.get_file(repositoryName=site.repo, filePath=p),
            lambda p: client.get_folder(repositoryName=site.repo, folderPath=p),
        ):
            with contextlib.suppress(ClientError):
                text = json.dumps(read(path), default=str).encode()
                assert not any(s in text for s in SECRETS), (path, text)
        for write in (
            lambda p, h: client.put_file(
                repositoryName=site.repo,
                branchName="main",
                fileContent=b"pwned",
                filePath=p,
                parentCommitId=h,
            ),
            lambda p, h: client.delete_file(
                repositoryName=site.repo, branchName="main", filePath=p, parentCommitId=h
            ),
        ):
            with contextlib.suppress(ClientError):
                head = write(path, head)["commitId"]
    # What was written is in the repository's own tree: no `..` or `.git` entry anywhere.
    tree = server_tree(server, site.repo, head)
    assert all(".." not in part.split("/") and ".git" not in part.split("/") for part in tree)
    assert {"README.md", "dir/a.txt"} <= set(tree)
    browser = Client(server, site.browser.cookies)
    for kind in ("blob", "raw", "tree", "history", "blame", "log"):
        for path in ["..%2F..%2Fconfig", "../../config", "%2e%2e/%2e%2e/config", ".git/config"]:
            url = f"/repositories/{site.repo}/{kind}/main/{path}"
            status, body = browser.send("GET", url)
            _refused_cleanly(status, body, url)
    for url in [
        "/repositories/..%2F..%2Fetc",
        "/v1/repos/..%2F..%2Fetc/info/refs?service=git-upload-pack",
        "/%2e%2e.git/info/refs?service=git-upload-pack",
        "/pipelines/x/executions/y/artifacts/..%2F..%2Fconfig.zip",
        "/static/..%2F..%2F..%2Fetc%2Fpasswd",
        "/static/../../../etc/passwd",
    ]:
        status, body = browser.send("GET", url)
        _refused_cleanly(status, body, url)
        assert status >= 400 or status in (301, 302, 303), url
    _no_tracebacks(server, site.log_start)


def server_tree(server: Server, repo: str, commit: str) -> list[str]:
    """Every path in `commit`, read from the server's bare repository with git itself."""
    rows = run_sql(server, "SELECT id FROM repositories WHERE name = :n", params={"n": repo})
    bare = server.data / "repos" / f"{rows[0][0]}.git"
    listing = subprocess.run(
        ["git", "-C", str(bare), "ls-tree", "-r", "-z", "--name-only", commit],
        capture_output=True,
        check=True,
    ).stdout
    return [name.decode() for name in listing.split(b"\0") if name]


# --- sizes and slow clients ---------------------------------------------------------------


def _connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    return sock


def _response(sock: socket.socket) -> bytes:
    """One response, read by its Content-Length (the connection may linger after it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _answer(sock: socket.socket) -> bytes:
    data = b""
    with contextlib.suppress(ConnectionResetError, socket.timeout):
        while chunk := sock.recv(65536):
            data += chunk
    return data


@pytest.mark.parametrize(
    "path", ["/healthz", "/", "/repositories/x", "/v1/repos/x/info/refs", "/sign-in"]
)
def test_oversized_request_line_and_headers_are_refused_unechoed(server: Server, path: str) -> None:
    marker = b"Z7q" * 10_000
    for request in (
        b"GET " + path.encode() + b"?" + marker + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Big: " + marker + b"\r\n\r\n",
        b"GET "
        + path.encode()
        + b" HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-%d: %s\r\n" % (i, marker[:100]) for i in range(200))
        + b"\r\n",
    ):
        with _connect(server) as sock:
            sock.sendall(request)
            answer = _answer(sock)  # read to EOF: the server closes the connection
        status = int(answer.split(b" ", 2)[1])
        assert status in (400, 431), answer[:200]
        assert b"Z7q" not in answer


def test_huge_bodies_are_413_without_being_read(server: Server, site: SimpleNamespace) -> None:
    claimed = 1 << 30  # a gigabyte announced, a megabyte sent
    for path, content_type in (
        ("/", "application/x-amz-json-1.1"),
        ("/sign-in", "application/x-www-form-urlencoded"),
        (f"/repositories/{site.repo}/settings/description", "application/x-www-form-urlencoded"),
    ):
        with _connect(server) as sock:
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {claimed}\r\n\r\n".encode()
            )
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                for _ in range(16):
                    sock.sendall(b"a" * 65536)
            answer = _response(sock)
        assert answer.startswith(b"HTTP/1.1 413"), (path, answer[:300])
        assert b"Traceback" not in answer


def _closed_within(sock: socket.socket, trickle: bytes, interval: float) -> int:
    """Send `trickle` a byte at a time; how many bytes went out before the server closed."""
    sock.setblocking(False)
    for sent, byte in enumerate(trickle):
        try:
            sock.send(bytes([byte]))
            if sock.recv(65536) == b"":
                return sent
        except BlockingIOError:
            pass
        except (BrokenPipeError, ConnectionResetError):
            return sent
        time.sleep(interval)
    return len(trickle)


def test_slow_clients_are_cut_off_on_every_front_end(
    make_server: Callable[..., Server],
) -> None:
    """A header trickled a byte at a time is cut at the header deadline, and a body that
    stops is answered and closed, on the API and web routes as on git's (tested there)."""
    server = make_server(
        "--no-ssh",
        env={"GITSERVER_HTTP_HEADER_TIMEOUT": "1", "GITSERVER_HTTP_BODY_IDLE_TIMEOUT": "1"},
    )
    trickle = b"X-Slow: " + b"a" * 400 + b"\r\n\r\n"  # 400 x 50 ms: 20 s if never cut
    for start in (
        b"POST / HTTP/1.1\r\n",
        b"GET /sign-in HTTP/1.1\r\n",
        b"GET /metrics HTTP/1.1\r\n",
    ):
        with _connect(server) as sock:
            sock.sendall(start + b"Host: x\r\n")
            assert _closed_within(sock, trickle, 0.05) < len(trickle), start
    for path, content_type in (
        ("/", "application/x-amz-json-1.1"),
        ("/sign-in", "application/x-www-form-urlencoded"),
    ):
        with _connect(server) as sock:
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: 1000\r\n\r\n{{}}".encode()
            )
            answer = _response(sock)  # answered at the idle timeout, not waited on forever
        assert answer.startswith(b"HTTP/1.1 408"), (path, answer[:300])
        assert b"connection: close" in answer.lower()
