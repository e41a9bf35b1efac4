"""The listening side of HTTP: aiohttp behind the connection limits of `limits.py`.

aiohttp has no header-read timeout and no connection cap, and its answer to a
malformed request quotes the offending bytes (an `Authorization` value included) in
the 400 body and in an ERROR traceback. `GuardedSite` serves the runner's application
through a `Guard` per connection and a request handler that answers parse errors with
the status line only.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from ssl import SSLContext
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from gitserver.errors import UNAVAILABLE_MESSAGE, unavailable
from gitserver.logs import bind_request_id, new_request_id, reset_request_id, sane_request_id
from gitserver.transport.limits import ConnectionLimiter

__all__ = [
    "REFUSAL",
    "REQUEST_ID_HEADER",
    "GuardedSite",
    "database_outage",
    "guard_middleware",
    "request_id_middleware",
    "send_request_id",
]

REQUEST_ID_HEADER = "X-Request-Id"

log = logging.getLogger(__name__)

# What a connection past a cap gets before it is closed; git prints the body.
_REFUSAL_BODY = b"gitserver: too many connections; try again later\n"
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: %d\r\n"
    b"Retry-After: 5\r\n"
    b"Connection: close\r\n\r\n" % len(_REFUSAL_BODY)
) + _REFUSAL_BODY


class _QuietRequestHandler(RequestHandler):
    """aiohttp's handler, but errors never quote the request (headers hold credentials)."""

    __slots__ = ()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500:
            # Our own failure: the traceback is the log's business, the body stays generic.
            return super().handle_error(request, status, exc, None)
        # The exception's text quotes the bytes that failed to parse: name its type only.
        log.info(
            "malformed HTTP request",
            extra={"status": status, "error": type(exc).__name__, "client_ip": request.remote},
        )
        if request.writer.output_size > 0:
            raise ConnectionError("response already started")
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        response = web.Response(status=status, text=f"{status} {phrase}\n")
        response.force_close()
        return response


def guard_middleware(limiter: ConnectionLimiter) -> Any:
    """Tell each connection's `Guard` when a request is under way (its headers are in)."""

    @web.middleware
    async def guard(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        current = limiter.guard(request.transport)
        if current is not None:
            current.begin()
        try:
            return await handler(request)
        finally:
            if current is not None:
                current.end()

    return guard


def request_id_middleware(trusted: Callable[[str], bool], in_flight: dict[int, str]) -> Any:
    """Give each request an id, bound for its log records and returned to the client;
    `in_flight` holds the requests under way (what a shutdown past its deadline cuts).

    A proxy in front may have named the request already: its `X-Request-Id` is kept
    when the proxy is trusted (`trusted_proxies`) and the id is sane; a client's own
    header is not believed, or it could make its lines look like another request's.
    """

    @web.middleware
    async def bind(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        incoming = None
        if trusted(request.remote or ""):
            incoming = sane_request_id(request.headers.get(REQUEST_ID_HEADER))
        request_id = incoming or new_request_id()
        request["request_id"] = request_id
        token = bind_request_id(request_id)
        in_flight[id(request)] = f"{request.method} {request.path} (request {request_id})"
        try:
            return await handler(request)
        finally:
            in_flight.pop(id(request), None)
            reset_request_id(token)

    return bind


async def send_request_id(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """`on_response_prepare`: every response (streamed git ones too) names its request."""
    request_id = request.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id


@web.middleware
async def database_outage(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A 503 for whatever the database being down stopped (git's routes, `/healthz`).

    The API and the web UI answer it in their own formats first; git prints a text/plain
    body to its user ("remote: gitserver: ..."), and clients retry a 503 later.
    """
    try:
        return await handler(request)
    except Exception as exc:
        # A client that went away (reset, broken pipe) is not the database; and once a
        # streamed answer has started there is no status left to change. A reset can
        # also be the database's own connection (PostgreSQL shutting down): then the
        # client's is still open, and gets its 503.
        transport = request.transport
        client_gone = isinstance(exc, (ConnectionResetError, BrokenPipeError)) and (
            transport is None or transport.is_closing()
        )
        if client_gone or not unavailable(exc) or request.writer.output_size > 0:
            raise
        log.warning("request failed: %s", UNAVAILABLE_MESSAGE, extra={"path": request.path})
        return web.Response(
            status=503, text=f"gitserver: {UNAVAILABLE_MESSAGE}\n", headers={"Retry-After": "5"}
        )


class GuardedSite(web.BaseSite):
    """Like `web.TCPSite`, with every connection behind `limiter` and `_QuietRequestHandler`."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        limiter: ConnectionLimiter,
        *,
        handler_options: dict[str, Any],
        ssl_context: SSLContext | None = None,
        backlog: int = 128,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._host = host
        self._port = port
        self._limiter = limiter
        # The options the runner was given: they configure each connection's handler.
        self._options = handler_options

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        """The bound port (the system's choice when started with 0)."""
        assert isinstance(self._server, asyncio.Server)
        sockets = self._server.sockets
        return int(sockets[0].getsockname()[1]) if sockets else self._port

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert isinstance(server, web.Server)

        def handler() -> asyncio.Protocol:
            return _QuietRequestHandler(server, loop=loop, **self._options)

        self._server = await loop.create_server(
            self._limiter.protocol_factory(handler),
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_address=True,
            family=socket.AF_INET6 if ":" in self._host else socket.AF_UNSPEC,
        )
