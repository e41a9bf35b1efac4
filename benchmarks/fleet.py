"""Clone storms from "off-machine" clients: what a remote CI fleet's clones cost a server.

A real `git clone` on the benchmark machine runs index-pack and a connectivity check,
about 0.2 CPU-s per clone of the quick repository: 8 or 32 of them on the server's two
cores drown what the server does. A fleet client here sends the HTTP requests real git
sends for a bare clone and drains the pack to nowhere, checking it as it goes, all
clients as threads of one process: the machine pays the server's work and little else.

The requests are those of one real `git clone --bare` captured through a recording
reverse proxy (`capture`): the same paths, headers (the 401 round trip and the
`Authorization` that follows it included) and bodies. Only the fetch request depends on
the repository's refs; it is rebuilt from each client's own ls-refs answer, and at
capture time the rebuilt body must equal the one git sent, byte for byte.

Every response is checked: HTTP 200, side-band demultiplexed, a pack whose header's
object count is the one a real clone received (`git rev-list --objects --all` of the
source, checked against the captured clone), and whose trailer is the SHA-1 of the rest.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import http.server
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import gitops

# Hop-by-hop or per-connection headers: the client library writes its own.
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class FleetError(gitops.Mismatch):
    """A fleet client got a failure or a pack that is not what a real clone gets."""


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # absolute path on the server, query included
    headers: tuple[tuple[str, str], ...]
    body: bytes  # as sent on the wire (gzip-compressed when git compressed it)


@dataclass(frozen=True, slots=True)
class Script:
    """What real git sent for one bare clone; the fetch body rebuilt per repository state."""

    host: str
    port: int
    requests: tuple[Request, ...]
    ls_refs: int  # index of the ls-refs request (its answer names the wants)
    fetch: int  # index of the fetch request
    fetch_head: tuple[bytes, ...]  # pkt-lines before the want lines
    fetch_tail: tuple[bytes, ...]  # pkt-lines after them
    gzip_fetch: bool

    def fetch_body(self, ls_refs_answer: bytes) -> bytes:
        lines = [*self.fetch_head, *(want_lines(ls_refs_answer)), *self.fetch_tail]
        raw = b"".join(pkt(line) if line not in (b"0000", b"0001") else line for line in lines)
        return gzip.compress(raw, mtime=0) if self.gzip_fetch else raw


# --- pkt-lines ---------------------------------------------------------------------------


def pkt(payload: bytes) -> bytes:
    return b"%04x" % (len(payload) + 4) + payload


def pkt_lines(data: bytes) -> Iterator[bytes]:
    """The packets of `data`; flush and delimiter packets as b"0000" and b"0001"."""
    at = 0
    while at < len(data):
        size = int(data[at : at + 4], 16)
        if size < 4:
            yield data[at : at + 4]
            at += 4
            continue
        yield data[at + 4 : at + size]
        at += size


def want_lines(ls_refs_answer: bytes) -> list[bytes]:
    """git's wants for a bare clone: each advertised ref's object in the order of the
    answer, HEAD first and duplicates kept, as fetch-pack sends them."""
    return [
        b"want " + line.split(b" ", 1)[0] + b"\n"
        for line in pkt_lines(ls_refs_answer)
        if line not in (b"0000", b"0001")
    ]


# --- capture -----------------------------------------------------------------------------


@contextmanager
def _recording_proxy(host: str, port: int) -> Iterator[tuple[int, list[tuple[Request, bytes]]]]:
    """A reverse proxy to host:port on a free port; yields it and the (request, answer)s."""
    log: list[tuple[Request, bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._forward(b"")

        def do_POST(self) -> None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                parts = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                self._forward(b"".join(parts))
            else:
                self._forward(self.rfile.read(int(self.headers.get("Content-Length", 0))))

        def _forward(self, body: bytes) -> None:
            headers = tuple(
                (k, v) for k, v in self.headers.items() if k.lower() not in _OWN_HEADERS
            )
            request = Request(self.command, self.path, headers, body)
            conn = http.client.HTTPConnection(host, port, timeout=600)
            try:
                answer, status, reply_headers = _send(conn, request)
            finally:
                conn.close()
            log.append((request, answer))
            self.send_response(status)
            for key, value in reply_headers:
                if key.lower() not in _OWN_HEADERS:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), log
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _send(
    conn: http.client.HTTPConnection, request: Request
) -> tuple[bytes, int, list[tuple[str, str]]]:
    conn.request(
        request.method,
        request.path,
        body=request.body if request.method == "POST" else None,
        headers=dict(request.headers),
    )
    response = conn.getresponse()
    return response.read(), response.status, response.getheaders()


def capture(url: str, dest: Path) -> tuple[Script, int]:
    """Clone `url` (bare, into `dest`) through a recording proxy: the fleet's script,
    and how many objects the real clone received."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    with _recording_proxy(host, port) as (proxy_port, log):
        netloc = parts.netloc.rsplit(":", 1)[0] + f":{proxy_port}"
        gitops.git("clone", "--bare", "--quiet", parts._replace(netloc=netloc).geturl(), str(dest))
    kinds = [_kind(request) for request, _ in log]
    if kinds.count("ls-refs") != 1 or kinds.count("fetch") != 1:
        raise FleetError(f"unexpected requests from git clone: {kinds}")
    ls_refs, fetch = kinds.index("ls-refs"), kinds.index("fetch")
    request = log[fetch][0]
    compressed = dict((k.lower(), v) for k, v in request.headers).get("content-encoding") == "gzip"
    sent = gzip.decompress(request.body) if compressed else request.body
    lines = list(pkt_lines(sent))
    first = next(i for i, line in enumerate(lines) if line.startswith(b"want "))
    last = max(i for i, line in enumerate(lines) if line.startswith(b"want "))
    script = Script(
        host,
        port,
        tuple(r for r, _ in log),
        ls_refs,
        fetch,
        tuple(lines[:first]),
        tuple(lines[last + 1 :]),
        compressed,
    )
    rebuilt = script.fetch_body(log[ls_refs][1])
    if (gzip.decompress(rebuilt) if compressed else rebuilt) != sent:
        raise FleetError(f"the rebuilt fetch request differs from git's:\n{sent!r}")
    objects = int(
        next(
            line.split()[1]
            for line in gitops.git("count-objects", "-v", cwd=dest).splitlines()
            if line.startswith("in-pack:")
        )
    )
    return script, objects


def _kind(request: Request) -> str:
    if request.method == "GET":
        return "advertisement"
    body = request.body
    if dict((k.lower(), v) for k, v in request.headers).get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    return next(pkt_lines(body)).rstrip(b"\n").removeprefix(b"command=").decode()


def object_count(repo: Path) -> int:
    """Objects a full clone of `repo` receives: everything its refs reach, tags included."""
    return sum(1 for _ in gitops.git("rev-list", "--objects", "--all", cwd=repo).splitlines())


# --- the storm ---------------------------------------------------------------------------


class _PackCheck:
    """Hashes a pack as it streams by; keeps the last 20 bytes back (the trailer)."""

    def __init__(self) -> None:
        self.digest = hashlib.sha1(usedforsecurity=False)
        self.head = b""
        self.tail = b""
        self.size = 0

    def feed(self, data: bytes) -> None:
        self.size += len(data)
        if len(self.head) < 12:
            self.head += data[: 12 - len(self.head)]
        joined = self.tail + data
        self.digest.update(joined[:-20])
        self.tail = joined[-20:]

    def verify(self, objects: int, what: str) -> None:
        if self.size < 32 or self.head[:8] != b"PACK\x00\x00\x00\x02":
            raise FleetError(f"{what}: no version 2 pack ({self.size} bytes)")
        count = struct.unpack(">I", self.head[8:12])[0]
        if count != objects:
            raise FleetError(f"{what}: pack of {count} objects, a real clone gets {objects}")
        if self.digest.digest() != self.tail:
            raise FleetError(f"{what}: the pack's trailer is not its SHA-1 (cut or corrupt)")


def _read_exactly(response: http.client.HTTPResponse, size: int, what: str) -> bytes:
    data = response.read(size)
    if len(data) != size:
        raise FleetError(f"{what}: the answer ended inside a packet")
    return data


def _drain_fetch(response: http.client.HTTPResponse, objects: int, what: str) -> int:
    """Demultiplex a protocol v2 fetch answer; check its pack; the pack's size."""
    check = _PackCheck()
    in_pack = False
    while True:
        size = int(_read_exactly(response, 4, what), 16)
        if size == 0:
            break
        if size < 4:
            continue
        data = _read_exactly(response, size - 4, what)
        if not in_pack:
            in_pack = data == b"packfile\n"
            continue
        band = data[0]
        if band == 1:
            check.feed(data[1:])
        elif band == 3:
            raise FleetError(f"{what}: the server sent an error: {data[1:200]!r}")
    if response.read(1):
        raise FleetError(f"{what}: bytes after the final flush packet")
    check.verify(objects, what)
    return check.size


def _client(script: Script, objects: int, head: str, what: str) -> int:
    """One clone's requests over one keep-alive connection, as curl makes them."""
    conn = http.client.HTTPConnection(script.host, script.port, timeout=600)
    try:
        ls_refs_answer = b""
        for index, request in enumerate(script.requests):
            if index == script.fetch:
                request = Request(
                    request.method,
                    request.path,
                    request.headers,
                    script.fetch_body(ls_refs_answer),
                )
                conn.request(request.method, request.path, request.body, dict(request.headers))
                response = conn.getresponse()
                if response.status != 200:
                    raise FleetError(f"{what}: fetch answered {response.status}")
                return _drain_fetch(response, objects, what)
            answer, status, _ = _send(conn, request)
            if status not in (200, 401):
                raise FleetError(f"{what}: {request.method} {request.path} answered {status}")
            if index == script.ls_refs:
                if f"{head} refs/heads/main".encode() not in answer:
                    raise FleetError(f"{what}: main is not {head} in the ref advertisement")
                ls_refs_answer = answer
        raise FleetError(f"{what}: the script has no fetch")
    finally:
        conn.close()


@dataclass(frozen=True, slots=True)
class StormResult:
    seconds: float  # from the start to the last client's last byte
    client_cpu: float  # CPU seconds of this process (the fleet) meanwhile
    pack_bytes: int


def storm(script: Script, clients: int, objects: int, head: str, what: str) -> StormResult:
    """`clients` clones at once, one thread each; raises unless every client saw main at
    `head` and received a whole pack of `objects` objects."""
    start = threading.Barrier(clients + 1)
    sizes: list[int] = []
    errors: list[BaseException] = []

    def run(k: int) -> None:
        start.wait()
        try:
            sizes.append(_client(script, objects, head, f"{what}, client {k + 1}"))
        except BaseException as exc:  # reported below, with the others' results
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(clients)]
    for thread in threads:
        thread.start()
    cpu = time.process_time()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    result = StormResult(
        time.perf_counter() - started, time.process_time() - cpu, max(sizes or [0])
    )
    if errors:
        raise errors[0]
    return result
