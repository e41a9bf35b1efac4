"""`uploadpack.packObjectsHook`: upload-pack hands its pack-objects run to this server,
which answers identical runs from one pack (`packcache.PackCache`).

git reads that key only from protected configuration (the command line, here
`GIT_CONFIG_COUNT` from `gitcmd`), never from a repository's own config, so only the
upload-packs the engine starts use it. git runs the hook as `HOOK git [--shallow-file ""]
pack-objects OPTIONS...` with the wants, haves, shallow and filter lines on stdin
(gitprotocol-pack(5), git-config(1) `uploadpack.packObjectsHook`). The hook,
`packclient.py`, sends that over the hook socket; the pack comes back in frames:

    request:  MAGIC, b"%d\\n" % len(header), header = token NUL repository NUL argv
              joined by NUL, then pack-objects' stdin to EOF
    reply:    b"D" + 4-byte length + that many pack bytes, repeated; then b"E" (the
              pack is whole) or b"F" + 4-byte length + a message for the user

A reply without its `E` is a failure: the client exits non-zero and upload-pack tells
its client, which never takes a cut pack for a whole one.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import hmac
import logging
import os
import secrets
import shlex
import sys
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path

from gitserver.gitcmd import Git, kill
from gitserver.transport.packcache import CacheUnavailable, PackCache, PackFailed

log = logging.getLogger(__name__)

__all__ = [
    "MAGIC",
    "PackHook",
    "PackObjects",
    "PackRequest",
    "RequestError",
    "cache_key",
    "parse_request",
]

MAGIC = b"gitserver-pack-objects 1\n"
CLIENT = Path(__file__).with_name("packclient.py")
_CHUNK = 1 << 20
_READ = 256 * 1024
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_MAX_HEADER = 64 * 1024
# Options that change what is printed on stderr, not the pack.
_NOT_IN_KEY = frozenset({"--progress"})
_KEY_VERSION = b"pack-objects-cache 1\0"


class RequestError(ValueError):
    """A hook request this server will not run."""


@dataclass(frozen=True, slots=True)
class PackRequest:
    """One pack-objects run as upload-pack asked for it."""

    token: str
    repository: Path
    # git's arguments after `git`: [--shallow-file ""] pack-objects OPTIONS...
    args: tuple[str, ...]
    stdin: bytes


def parse_request(raw: bytes) -> PackRequest:
    """The request in `raw` (MAGIC included).

    Raises:
        RequestError: malformed, or not a `git pack-objects --stdout` run.
    """
    if not raw.startswith(MAGIC):
        raise RequestError("not a pack-objects request")
    length, newline, rest = raw[len(MAGIC) :].partition(b"\n")
    if not newline or not length.isdigit() or int(length) > min(len(rest), _MAX_HEADER):
        raise RequestError("malformed pack-objects request")
    header, stdin = rest[: int(length)], rest[int(length) :]
    fields = [f.decode("utf-8", "surrogateescape") for f in header.split(b"\0")]
    if len(fields) < 4 or fields[2] != "git":
        raise RequestError("malformed pack-objects request")
    token, repository, args = fields[0], Path(fields[1]), tuple(fields[3:])
    return PackRequest(token, repository, _checked(args), stdin)


def _checked(args: tuple[str, ...]) -> tuple[str, ...]:
    # Exactly what upload-pack runs: a fixed command, options only, the pack on stdout.
    # Anything else (a `-c`, another command, a path) is refused.
    if args[:3] == ("--shallow-file", "", "pack-objects"):
        options = args[3:]
    elif args[:1] == ("pack-objects",):
        options = args[1:]
    else:
        raise RequestError("not a pack-objects run")
    if "--stdout" not in options:
        raise RequestError("pack-objects without --stdout")
    for option in options:
        if not option.startswith("--") or "\n" in option:
            raise RequestError(f"unexpected pack-objects argument {option!r}")
    return args


def cache_key(request: PackRequest) -> str:
    """The pack's identity: the repository, the options that shape it, and its stdin.

    The repository is its directory, whose name is the repository's id (a UUID never
    reused): a repository deleted and created again under the same name has a new id,
    so no entry of the old one can match it.
    """
    digest = hashlib.sha256(_KEY_VERSION)
    digest.update(str(request.repository).encode("utf-8", "surrogateescape") + b"\0")
    for arg in request.args:
        if arg not in _NOT_IN_KEY:
            digest.update(arg.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(b"\0")
    digest.update(request.stdin)
    return digest.hexdigest()


class PackHook:
    """The hook upload-pack runs, and the token that ties a request to its repository.

    The token is an HMAC of the repository's path under a key of this process: a
    request names only a repository the engine started upload-pack on.
    """

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self._key = secrets.token_bytes(32)

    def config(self) -> dict[str, str]:
        # -I -S: no site-packages, no environment; the client imports only builtins.
        command = f"{shlex.quote(sys.executable)} -I -S {shlex.quote(str(CLIENT))}"
        return {"uploadpack.packObjectsHook": command}

    def env(self, repository: Path) -> dict[str, str]:
        return {
            "GITSERVER_HOOK_SOCKET": str(self.socket),
            "GITSERVER_PACK_REPO": str(repository),
            "GITSERVER_PACK_TOKEN": self._token(repository),
        }

    def verify(self, request: PackRequest) -> bool:
        return hmac.compare_digest(request.token, self._token(request.repository))

    def _token(self, repository: Path) -> str:
        message = str(repository).encode("utf-8", "surrogateescape")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def frame(kind: bytes, length: int = 0) -> bytes:
    return kind + length.to_bytes(4, "big")


class PackObjects:
    """Answers the hook's requests: runs pack-objects through the cache, streams frames."""

    def __init__(self, git: Git, hook: PackHook, cache: PackCache, timeout: float) -> None:
        self._git = git
        self.hook = hook
        self.cache = cache
        self._timeout = timeout

    async def serve(self, raw: bytes, writer: asyncio.StreamWriter) -> None:
        """Answer one request on `writer` (the hook socket's connection)."""
        try:
            request = parse_request(raw)
        except RequestError as exc:
            log.warning("refused a pack-objects request: %s", exc)
            return await _failure(writer, "gitserver: refused a malformed pack request")
        if not self.hook.verify(request):
            log.warning("refused a pack-objects request with a wrong token")
            return await _failure(writer, "gitserver: refused a pack request")
        try:
            try:
                await self._from_cache(request, writer)
            except CacheUnavailable:
                await self._direct(request, writer)
        except PackFailed:
            return await _failure(writer, "gitserver: the pack could not be made")
        except (ConnectionError, OSError, RuntimeError) as exc:
            log.info("pack-objects client went away: %s", exc)
            return
        with contextlib.suppress(ConnectionError):
            writer.write(frame(b"E"))
            await writer.drain()

    async def _from_cache(self, request: PackRequest, writer: asyncio.StreamWriter) -> None:
        async with self.cache.open(cache_key(request), lambda: self._run(request)) as pack:
            fd = pack.file.fileno()
            async for offset, count in pack.spans():
                end = offset + count
                while offset < end:
                    # A quarter MiB at a time from the page cache: bounded memory per
                    # request, and drain() holds a slow client's reads back, not the run.
                    data = os.pread(fd, min(_READ, end - offset), offset)
                    if not data:
                        raise PackFailed("the pack file is shorter than written")
                    writer.write(frame(b"D", len(data)) + data)
                    await writer.drain()
                    offset += len(data)

    async def _direct(self, request: PackRequest, writer: asyncio.StreamWriter) -> None:
        """The run streamed straight to this request: when the cache has no room on disk."""
        run = self._run(request)
        try:
            async for chunk in run:
                writer.write(frame(b"D", len(chunk)) + chunk)
                await writer.drain()
        finally:
            await run.aclose()

    async def _run(self, request: PackRequest) -> AsyncGenerator[bytes, None]:
        """One pack-objects run: its stdout, or PackFailed when it does not exit 0."""
        args = [arg for arg in request.args if arg not in _NOT_IN_KEY]
        # A pipe and a read buffer of a MiB: git writes ahead while this loop is busy
        # with other requests, and each wake-up moves more (64 KiB pieces cost 4x here).
        process = await self._git.spawn(*args, repo=request.repository, limit=_CHUNK)
        assert process.stdout is not None
        _widen(process.stdout)
        run = stream_output(process, request.stdin, self._timeout, "pack-objects")
        try:
            async for chunk in run:
                yield chunk
        finally:
            await run.aclose()  # the process is stopped now, not when run is collected


async def stream_output(
    process: asyncio.subprocess.Process,
    stdin: bytes,
    timeout: float,
    name: str,
    failed: type[PackFailed] = PackFailed,
) -> AsyncGenerator[bytes, None]:
    """`process`'s stdout, fed `stdin`, until it exits, within `timeout` seconds in all.

    Raises:
        PackFailed: the time ran out; `failed` (a PackFailed) when it exits non-zero.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    assert process.stdout is not None and process.stderr is not None
    feed = asyncio.ensure_future(_feed(process, stdin))
    stderr = asyncio.ensure_future(_tail(process.stderr))
    try:
        while True:
            async with asyncio.timeout_at(deadline):
                chunk = await process.stdout.read(_CHUNK)
            if not chunk:
                break
            yield chunk
        async with asyncio.timeout_at(deadline):
            returncode = await process.wait()
        if returncode != 0:
            raise failed(f"{name} exited {returncode}: {await stderr}")
    except TimeoutError:
        raise PackFailed(f"{name} ran longer than {timeout:g} s") from None
    finally:
        if process.returncode is None:
            kill(process)
            await process.wait()
        feed.cancel()
        stderr.cancel()
        await asyncio.gather(feed, stderr, return_exceptions=True)


def _widen(stream: asyncio.StreamReader) -> None:
    transport = getattr(stream, "_transport", None)
    pipe = transport.get_extra_info("pipe") if transport is not None else None
    if pipe is not None:
        with contextlib.suppress(OSError):  # not Linux, or over /proc/sys/fs/pipe-max-size
            fcntl.fcntl(pipe.fileno(), _F_SETPIPE_SZ, _CHUNK)


async def _feed(process: asyncio.subprocess.Process, data: bytes) -> None:
    assert process.stdin is not None
    with contextlib.suppress(ConnectionError):
        process.stdin.write(data)
        await process.stdin.drain()
        process.stdin.close()


async def _tail(stream: asyncio.StreamReader, keep: int = 2000) -> str:
    tail = b""
    while chunk := await stream.read(65536):
        tail = (tail + chunk)[-keep:]
    return tail.decode("utf-8", "replace").strip()


async def _failure(writer: asyncio.StreamWriter, message: str) -> None:
    data = message.encode()
    with contextlib.suppress(ConnectionError):
        writer.write(frame(b"F", len(data)) + data)
        await writer.drain()
