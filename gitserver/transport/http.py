"""Smart HTTP (gitprotocol-http(5)) in front of `git upload-pack|receive-pack --stateless-rpc`.

Bytes stream both ways in bounded chunks: a pack never sits in memory. Unknown and
forbidden repositories look the same to a caller who may not read them: authorization
is decided on the ARN (and the repository's tags; an unknown name has none) before the
answer reveals whether the name exists.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import BinaryIO

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from auth.authenticate import Authenticator
from auth.errors import AuthenticationFailed
from auth.principal import Principal
from gitserver import errors as category
from gitserver.access import Access, RequestInfo, request_info
from gitserver.clientip import Network
from gitserver.db import Repository
from gitserver.gitcmd import kill
from gitserver.store.errors import InvalidRepositoryName, RepositoryNotFound
from gitserver.store.naming import validate_repository_name
from gitserver.store.repositories import RepositoryStore
from gitserver.transport import httpbody
from gitserver.transport.engine import (
    RECEIVE_PACK,
    UPLOAD_PACK,
    GitEngine,
    service_action,
    valid_git_protocol,
)
from gitserver.transport.httpbody import CHUNK, BadBody, Body, final_answer, read_chunk, settle
from gitserver.transport.limits import Busy, Slots
from gitserver.transport.packcache import CacheUnavailable, PackFailed
from gitserver.transport.pktline import (
    FLUSH,
    ProtocolError,
    PushRequest,
    pkt,
    read_push_request,
    rejection_report,
)
from gitserver.transport.reportstatus import ReportSplicer, plan_push
from gitserver.transport.responses import (
    MAX_CACHED_REQUEST,
    GitExited,
    Key,
    Kind,
    UploadResponses,
    advertisement_key,
    cache_key,
    repo_files,
)

log = logging.getLogger(__name__)

REALM = 'Basic realm="gitserver", charset="UTF-8"'
# Longer claimed user names are cut in the log and the audit record (IAM allows 64).
_MAX_CLAIMED_USER = 128
# After a stalled body's stdin is closed, git gets this long to clean up and exit.
STALL_GRACE = 10.0
_SUFFIXES = ("/info/refs", "/git-upload-pack", "/git-receive-pack")
# A finished cached answer at least this large goes to the socket by sendfile(2); below
# it one read and one write cost as little.
_SENDFILE_MIN = 64 * 1024
NO_CACHE = {
    "Cache-Control": "no-cache, max-age=0, must-revalidate",
    "Expires": "Fri, 01 Jan 1980 00:00:00 GMT",
    "Pragma": "no-cache",
}


class GitHttpLimits:
    def __init__(
        self,
        max_upload_request: int,
        max_push_commands: int,
        timeout: float,
        *,
        body_idle_timeout: float = 60.0,
        max_processes: int = 256,
        max_processes_per_user: int = 32,
    ) -> None:
        self.max_upload_request = max_upload_request
        self.max_push_commands = max_push_commands
        self.timeout = timeout
        self.body_idle_timeout = body_idle_timeout
        self.max_processes = max_processes
        self.max_processes_per_user = max_processes_per_user


def _text(status: type[web.HTTPException], message: str, **headers: str) -> web.HTTPException:
    # git prints a text/plain error body to the user ("remote: ...").
    return status(text=message + "\n", content_type="text/plain", headers=headers or None)


HTTP_STATUS: dict[type[category.DomainError], type[web.HTTPException]] = {
    category.NotFound: web.HTTPNotFound,
    category.AlreadyExists: web.HTTPConflict,
    category.Conflict: web.HTTPConflict,
    category.InvalidInput: web.HTTPBadRequest,
    # Not 429: these are quotas (a size, a count), and a retry gets the same answer;
    # 429 tells clients to come back later. Busy process slots are the 429s (and 503s).
    category.LimitExceeded: web.HTTPBadRequest,
    category.AccessDenied: web.HTTPForbidden,
    category.AuthenticationFailed: web.HTTPUnauthorized,
}
"""The HTTP front end's one mapping of domain errors (see `gitserver.errors`)."""


def _refusal(error: category.DomainError, **headers: str) -> web.HTTPException:
    """`error` as the client sees it: its category's status, `gitserver: <message>`."""
    return _text(HTTP_STATUS[category.category_of(error)], f"gitserver: {error}", **headers)


class GitHttp:
    """Route handlers for `/v1/repos/{name}` and `/{name}.git`."""

    def __init__(
        self,
        engine: GitEngine,
        access: Access,
        authenticator: Authenticator,
        store: RepositoryStore,
        limits: GitHttpLimits,
        trusted_proxies: tuple[Network, ...] = (),
        responses: UploadResponses | None = None,
    ) -> None:
        self.engine = engine
        self.responses = responses
        self.access = access
        self.authenticator = authenticator
        self.store = store
        self.limits = limits
        self.trusted_proxies = trusted_proxies
        self.processes = Slots(limits.max_processes, limits.max_processes_per_user, "git processes")

    def routes(self) -> list[web.RouteDef]:
        routes = []
        for prefix in ("/v1/repos/{name}", "/{name:[^/]+\\.git}"):
            routes += [
                web.get(prefix + "/info/refs", self.info_refs),
                web.post(prefix + "/git-upload-pack", self.upload_pack),
                web.post(prefix + "/git-receive-pack", self.receive_pack),
            ]
        return routes

    async def info_refs(self, request: web.Request) -> web.StreamResponse:
        service = request.query.get("service", "")
        if service not in (UPLOAD_PACK, RECEIVE_PACK):
            raise _text(web.HTTPForbidden, "gitserver: only the smart HTTP protocol is supported")
        principal, repo, _ = await self._admit(request, service)
        protocol = self._protocol(request)
        # Before protocol v2 the advertisement opens with the service line; v2's does not.
        preamble = (
            b"" if "version=2" in protocol else pkt(f"# service={service}\n".encode()) + FLUSH
        )
        with self._process_slot(principal):
            if service == UPLOAD_PACK and self.responses is not None:
                path = self.store.path(repo.id)
                key = advertisement_key(repo.id, repo.ref_version, protocol, repo_files(path))
                cached = await self._cached(request, repo, key, protocol, b"", preamble)
                if cached is not None:
                    return cached
            process = await self.engine.spawn(
                service, self.store.path(repo.id), stateless=True, advertise=True, protocol=protocol
            )
            response = web.StreamResponse(
                headers={"Content-Type": f"application/x-{service}-advertisement", **NO_CACHE}
            )
            await response.prepare(request)
            if preamble:
                await response.write(preamble)
            return await self._stream(
                process, request, response, feed=None, kill_on_disconnect=True
            )

    async def upload_pack(self, request: web.Request) -> web.StreamResponse:
        self._require_type(request, UPLOAD_PACK)
        principal, repo, _ = await self._admit(request, UPLOAD_PACK)
        protocol = self._protocol(request)
        with self._process_slot(principal):
            body, stalled = b"", False
            if self.responses is not None:
                body, whole, stalled = await self._peek(request)
                if whole:
                    files = repo_files(self.store.path(repo.id))
                    encoding = request.headers.get("Content-Encoding", "")
                    key = cache_key(repo.id, repo.ref_version, protocol, encoding, body, files)
                    cached = await self._cached(request, repo, key, protocol, body)
                    if cached is not None:
                        return cached
            process = await self.engine.spawn(
                UPLOAD_PACK, self.store.path(repo.id), stateless=True, protocol=protocol
            )
            response = self._result_response(UPLOAD_PACK)
            feed = self._feed(
                request, process, body, self.limits.max_upload_request, stalled=stalled
            )
            return await self._stream(
                process, request, response, feed=feed, kill_on_disconnect=True
            )

    async def _peek(self, request: web.Request) -> tuple[bytes, bool, bool]:
        """The body's first bytes (its end, if it has one within `MAX_CACHED_REQUEST`):
        (bytes, whether that is the whole body, whether it stalled).

        A body that breaks off or cannot be decoded is left to `_feed`, whose next read
        raises the same error, so git and the client see what they saw before.
        """
        data = bytearray()
        try:
            while len(data) <= MAX_CACHED_REQUEST:
                chunk = await read_chunk(request.content, self.limits.body_idle_timeout)
                if not chunk:
                    return bytes(data), True, False
                data += chunk
        except TimeoutError:
            return bytes(data), False, True
        except Exception:
            return bytes(data), False, False
        return bytes(data), False, False

    async def _cached(
        self,
        request: web.Request,
        repo: Repository,
        key: Key | None,
        protocol: str,
        body: bytes,
        preamble: bytes = b"",
    ) -> web.StreamResponse | None:
        """The answer from the response cache, after `preamble`; None if the request is not
        one it keeps, or it has no room: then git runs as for any other request."""
        if self.responses is None or key is None:
            return None
        what = "advertisement" if key.kind is Kind.ADVERTISEMENT else "result"
        response = self._result_response(UPLOAD_PACK, what)
        path = self.store.path(repo.id)
        try:
            async with (
                asyncio.timeout(self.limits.timeout),
                self.responses.open(key, path, protocol, body) as answer,
            ):
                if answer.size is not None and answer.size >= _SENDFILE_MIN:
                    await _send_file(request, response, preamble, answer.file, answer.size)
                    return response
                async with contextlib.aclosing(answer.pieces()) as pieces:
                    async for piece in pieces:
                        # Headers wait for the first byte, as in `_stream`: a request git
                        # refuses without a word is answered 400, not an empty 200.
                        if not response.prepared:
                            await response.prepare(request)
                            if preamble:
                                await response.write(preamble)
                        await response.write(piece)
        except CacheUnavailable:
            return None
        except PackFailed as exc:
            if not response.prepared:
                raise _text(
                    web.HTTPBadRequest, "gitserver: git could not process this request"
                ) from None
            if not isinstance(exc, GitExited):
                # Cut (a timeout, a shutdown): the connection ends without the final
                # chunk (aiohttp's own write_eof then fails), so the client sees a cut
                # answer, never a whole-looking one.
                if request.transport is not None:
                    request.transport.close()
                return response
        except (ConnectionError, RuntimeError):
            return response  # the client went away; the run goes on for other readers
        with contextlib.suppress(ConnectionError, RuntimeError):
            if not response.prepared:
                await response.prepare(request)
                if preamble:
                    await response.write(preamble)
            await response.write_eof()
        return response

    async def receive_pack(self, request: web.Request) -> web.StreamResponse:
        self._require_type(request, RECEIVE_PACK)
        principal, repo, info = await self._admit(request, RECEIVE_PACK)
        try:
            push = await self._push_request(request)
        except BadBody as exc:
            return await final_answer(request, exc.status, exc.message)
        target = self.access.repository(repo.name, repo)
        refs = (command.ref for command in push.commands)
        denied = self.access.denied_refs(principal, target, refs, info)
        plan = plan_push(push, denied)
        if plan.whole_rejection:
            try:
                return await self._reject(request, push, plan.refused)
            except BadBody as exc:
                return await final_answer(request, exc.status, exc.message)
        # git gets only the allowed updates (and the whole pack); the client hears of the
        # denied ones from `ng` lines added to git's report.
        path = self.store.path(repo.id)
        with self._process_slot(principal):
            async with self.engine.push_session(principal, repo.id, target, path, info) as session:
                self.engine.plan(session, plan.updates)
                session.report = plan.splicer
                process = await self.engine.spawn(RECEIVE_PACK, path, stateless=True, push=session)
                response = self._result_response(RECEIVE_PACK)
                # A filtered push may leave git nothing to read the pack for (deletes
                # only): the rest of the body is then drained so the client reads the report.
                feed = self._feed(request, process, plan.prefix, limit=0, drain=plan.filtered)
                # Once git has the whole push, let it finish even if the client goes away:
                # the repository, not the client, decides what happened. The push is
                # settled before the response ends, so the client's next request sees it.
                return await self._stream(
                    process,
                    request,
                    response,
                    feed=feed,
                    kill_on_disconnect=False,
                    splice=plan.splicer,
                    before_end=functools.partial(self.engine.settle, session),
                )

    async def _reject(
        self, request: web.Request, push: PushRequest, denied: dict[str, str]
    ) -> web.StreamResponse:
        if not push.reports_status:
            raise _refusal(category.AccessDenied(next(iter(denied.values()))))
        # Drain the pack without storing it, so the client reads our report, not a reset.
        try:
            while await read_chunk(request.content, self.limits.body_idle_timeout):
                pass
        except TimeoutError:
            raise BadBody.stalled(self.limits.body_idle_timeout) from None
        except (web.RequestPayloadError, HttpProcessingError):
            raise BadBody.undecodable() from None
        response = self._result_response(RECEIVE_PACK)
        await response.prepare(request)
        await response.write(rejection_report(push, denied))
        await response.write_eof()
        return response

    async def _push_request(self, request: web.Request) -> PushRequest:
        """The push's command list, read before git starts (its refs are decided first).

        Raises:
            BadBody: the body cannot be decoded or stalled.
        """
        try:
            # Command lists are small next to the pack: the idle limit bounds the whole list.
            async with asyncio.timeout(self.limits.body_idle_timeout):
                return await read_push_request(request.content, self.limits.max_push_commands)
        except ProtocolError as exc:
            raise _text(web.HTTPBadRequest, f"gitserver: {exc}") from None
        except (web.RequestPayloadError, HttpProcessingError):
            raise BadBody.undecodable() from None
        except TimeoutError:
            raise BadBody.stalled(self.limits.body_idle_timeout) from None

    @contextlib.contextmanager
    def _process_slot(self, principal: Principal) -> Iterator[None]:
        """Hold one of the user's git process slots while git runs; 429/503 past the caps."""
        try:
            with self.processes.hold(principal.user_id, principal.name):
                yield
        except Busy as exc:
            log.warning(
                "git process limit reached",
                extra={"user": principal.name, "server_wide": exc.server_wide},
            )
            status = web.HTTPServiceUnavailable if exc.server_wide else web.HTTPTooManyRequests
            raise _text(status, str(exc), **{"Retry-After": "5"}) from None

    def _feed(
        self,
        request: web.Request,
        process: asyncio.subprocess.Process,
        prefix: bytes,
        limit: int,
        *,
        drain: bool = False,
        stalled: bool = False,
    ) -> asyncio.Task[Body]:
        return httpbody.feed(
            request.content,
            process,
            prefix,
            limit,
            self.limits.body_idle_timeout,
            drain=drain,
            stalled=stalled,
        )

    def _result_response(self, service: str, what: str = "result") -> web.StreamResponse:
        return web.StreamResponse(
            headers={"Content-Type": f"application/x-{service}-{what}", **NO_CACHE}
        )

    def _require_type(self, request: web.Request, service: str) -> None:
        if request.content_type != f"application/x-{service}-request":
            raise _text(web.HTTPUnsupportedMediaType, f"gitserver: expected a {service} request")

    def _protocol(self, request: web.Request) -> str:
        value = request.headers.get("Git-Protocol", "")
        if value and not valid_git_protocol(value):
            raise _text(web.HTTPBadRequest, "gitserver: malformed Git-Protocol header")
        return value

    async def _admit(
        self, request: web.Request, service: str
    ) -> tuple[Principal, Repository, RequestInfo]:
        """Name check, authentication, authorization, then the 404: in that order.

        The row is read before the decision (its tags are ``aws:ResourceTag/*``), but an
        unknown name has no tags and is only revealed to a caller who would be allowed.
        """
        name = request.match_info["name"].removesuffix(".git")
        try:
            validate_repository_name(name)
        except InvalidRepositoryName as exc:
            raise _refusal(exc) from None
        info = request_info(
            "https" if request.secure else "http",
            request.remote or "",
            secure=request.secure,
            user_agent=request.headers.get("User-Agent", ""),
            forwarded_for=request.headers.get("X-Forwarded-For"),
            trusted_proxies=self.trusted_proxies,
        )
        principal, rows = await self._authenticate(request, info, service, name)
        try:
            target = self.access.repository(name)
            self.access.check_all(principal, service_action(service), [target], rows, info)
        except category.AccessDenied as exc:
            raise _refusal(exc) from None
        repo = rows.get(name)
        if repo is None:
            raise _refusal(RepositoryNotFound(f"repository {name} does not exist"))
        return principal, repo, info

    async def _authenticate(
        self, request: web.Request, info: RequestInfo, service: str, name: str
    ) -> tuple[Principal, dict[str, Repository]]:
        """The Basic credentials' principal, and the repository's row (absent if unknown)
        read in the same read transaction: one database unit per git request. A request
        without credentials is git's usual first try and only gets the challenge;
        credentials that fail are audited."""
        header = request.headers.get("Authorization", "")
        if not header:
            raise _refusal(
                category.AuthenticationFailed("authentication required"),
                **{"WWW-Authenticate": REALM},
            )
        credentials = _basic_credentials(header)
        username, password = credentials or ("", "")
        username = username[:_MAX_CLAIMED_USER]
        try:
            if credentials is None:
                raise AuthenticationFailed("malformed or unsupported Authorization header")
            record, rows = await self.access.db.read(
                lambda c: (
                    self.authenticator.read_basic(c, username, password),
                    self.access.read_rows(c, {name}),
                )
            )
            principal = await self.authenticator.basic_principal(
                username,
                password,
                record,
                paths=_signed_paths(request.path),
                hosts=_hosts(request),
            )
            return principal, rows
        except AuthenticationFailed as exc:
            log.info("authentication failed", extra={"user": username, "reason": str(exc)})
            self.engine.failed_login(
                username,
                "basic",
                exc,
                info,
                resource=self.access.endpoints.arn(name),
                detail={"service": service},
            )
            raise _refusal(
                category.AuthenticationFailed(
                    f"{'malformed' if credentials is None else 'invalid'} credentials"
                ),
                **{"WWW-Authenticate": REALM},
            ) from None

    async def _stream(
        self,
        process: asyncio.subprocess.Process,
        request: web.Request,
        response: web.StreamResponse,
        *,
        feed: asyncio.Task[Body] | None,
        kill_on_disconnect: bool,
        splice: ReportSplicer | None = None,
        before_end: Callable[[], Awaitable[None]] | None = None,
    ) -> web.StreamResponse:
        """Copy git's stdout to the client while `feed` copies the body to git's stdin.

        `splice`, if given, rewrites git's output on the way (see ReportSplicer);
        `before_end` runs once git has exited, before the response ends.
        Returns the response sent: `response`, or an error if git never wrote a byte.
        """
        assert process.stdout is not None and process.stderr is not None
        if feed is None and process.stdin is not None:
            process.stdin.close()
        drain_err = asyncio.ensure_future(httpbody.tail(process.stderr))
        client_gone = False
        try:
            async with asyncio.timeout(self.limits.timeout):
                while chunk := await process.stdout.read(CHUNK):
                    if splice is not None:
                        chunk = splice.feed(chunk)
                    if client_gone or not chunk:
                        continue
                    try:
                        # Headers wait for git's first byte: a request git refuses
                        # without a word is answered 400, not an empty 200.
                        if not response.prepared:
                            await response.prepare(request)
                        await response.write(chunk)
                    except (ConnectionError, RuntimeError):
                        client_gone = True
                        # A push whose body broke off has EOF on git's stdin (see _feed):
                        # git gives up by itself; a kill would leave its quarantine behind.
                        if kill_on_disconnect:
                            kill(process)
                # stdout's EOF means git is done; a body cut short already got EOF on
                # git's stdin (see _feed), so git never acts on half a push.
                await process.wait()
                if feed is not None:
                    await settle(feed)
                if before_end is not None:
                    await before_end()
            ended = httpbody.outcome(feed)
            if ended is Body.STALLED and not response.prepared:
                bad = BadBody.stalled(self.limits.body_idle_timeout)
                return await final_answer(request, bad.status, bad.message)
            if ended is Body.UNDECODABLE and not response.prepared:
                bad = BadBody.undecodable()
                return await final_answer(request, bad.status, bad.message)
            if not response.prepared and process.returncode != 0:
                raise _text(web.HTTPBadRequest, "gitserver: git could not process this request")
            if not client_gone:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    if not response.prepared:
                        await response.prepare(request)
                    if splice is not None and (tail := splice.finish()):
                        await response.write(tail)
                    await response.write_eof()
            if ended in (Body.STALLED, Body.UNDECODABLE):
                # git answered (its own report): close rather than linger on the body.
                request.protocol.force_close()
            return response
        except (TimeoutError, asyncio.CancelledError):
            kill(process)
            raise
        finally:
            if process.returncode is None:
                kill(process)
                await process.wait()
            if feed is not None and not feed.done():
                feed.cancel()
            stderr = await drain_err
            if process.returncode not in (0, None) and stderr:
                log.info("git exited %s: %s", process.returncode, stderr[-500:])


async def _send_file(
    request: web.Request, response: web.StreamResponse, preamble: bytes, file: BinaryIO, size: int
) -> None:
    """`preamble` and then `size` bytes of `file` (finished: it will not grow) as the whole
    response, with a Content-Length; the kernel copies the file into the socket.

    The response is never compressed or chunked here, so the file's bytes are the body's.
    On TLS the loop falls back to reading the file and writing it through the transport.
    """
    response.content_length = len(preamble) + size
    await response.prepare(request)
    if preamble:
        await response.write(preamble)
    transport = request.transport
    if transport is None:
        raise ConnectionResetError("the client went away")
    await asyncio.get_running_loop().sendfile(transport, file, 0, size)
    await response.write_eof()


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """User name and password from `Basic base64(user:password)`; None if malformed.

    Anything that is not base64 of UTF-8 is malformed, including a header aiohttp
    decoded from non-ASCII bytes (b64decode raises ValueError on non-ASCII text).
    """
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def _signed_paths(path: str) -> list[str]:
    """The repository path a SigV4 Git password signs: the URL without the service part."""
    for suffix in _SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    base = path.rstrip("/")
    return [base, base + "/"]


def _hosts(request: web.Request) -> list[str]:
    host = request.headers.get("Host", request.host)
    bare = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return [bare, host] if bare != host else [host]
