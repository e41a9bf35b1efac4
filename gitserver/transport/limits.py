"""Limits every network front end needs before it trusts a peer with resources.

- `ConnectionLimiter` counts open connections per client IP and in total; a connection
  past either cap is closed at once, before anything is read from it.
- `Guard` is the asyncio protocol that stands in front of a front end's own protocol: it
  applies the limiter and closes a connection whose peer does not finish starting a
  request (HTTP: its headers) within a deadline.
- `Slots` caps concurrent work (git processes) per key (a user) and in total.
- `AcceptErrors` turns asyncio's accept failures (EMFILE and friends) into one log line
  per interval; `raise_nofile_limit` lifts the descriptor limit as far as allowed.

Nothing here knows HTTP or SSH: `transport/httpsite.py` wires it into aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import resource
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from gitserver.clientip import Network

__all__ = [
    "AcceptErrors",
    "Busy",
    "ConnectionLimiter",
    "Every",
    "Guard",
    "Slots",
    "in_networks",
    "peer_ip",
    "raise_nofile_limit",
]

log = logging.getLogger(__name__)

# asyncio's accept loop reports these and retries a second later (selector_events.py).
ACCEPT_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def raise_nofile_limit() -> int:
    """Lift the soft RLIMIT_NOFILE to the hard limit (where allowed); returns the soft limit.

    Each connection, git process pipe and database file is a descriptor; distributions
    still start services with a soft limit of 1024 while the hard one is far higher.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == resource.RLIM_INFINITY or soft >= hard:
        # Linux refuses an infinite NOFILE (it is capped by fs.nr_open): keep what we have.
        return soft if soft != resource.RLIM_INFINITY else 1 << 20
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        log.warning("could not raise the open-file limit", extra={"soft": soft, "hard": hard})
        return soft
    return hard


def in_networks(networks: Iterable[Network]) -> Callable[[str], bool]:
    """A test for "this address is in one of `networks`" (e.g. the trusted proxies)."""
    networks = tuple(networks)

    def contains(ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in networks)

    return contains


def peer_ip(transport: asyncio.BaseTransport) -> str:
    """The peer's address without its port ("" for a unix socket or a closed transport)."""
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return ""


class Every:
    """Says when a recurring event is due a log line: at most once per `interval`, with
    how many occurrences that line stands for, so a flood costs one line per interval."""

    def __init__(self, interval: float = 10.0) -> None:
        self.interval = interval
        self._count = 0
        self._last = float("-inf")

    def hit(self) -> int:
        """Count one occurrence; how many to report now, or 0 to stay quiet."""
        self._count += 1
        now = time.monotonic()
        if now - self._last < self.interval:
            return 0
        count, self._count, self._last = self._count, 0, now
        return count


class ConnectionLimiter:
    """Open connections per client IP and in total, for the front end called `name`.

    Addresses in `exempt` (trusted proxies: every client behind one shares its address)
    count towards the total only. `header_timeout` is the `Guard`'s deadline (HTTP).
    """

    def __init__(
        self,
        max_total: int,
        max_per_ip: int,
        header_timeout: float = 0.0,
        *,
        name: str = "http",
        exempt: Callable[[str], bool] = lambda ip: False,
        refusal: bytes = b"",
    ) -> None:
        self.max_total = max_total
        self.max_per_ip = max_per_ip
        self.header_timeout = header_timeout
        self.refusal = refusal
        self.name = name
        self._exempt = exempt
        self._total = 0
        self._per_ip: dict[str, int] = {}
        self._guards: dict[asyncio.BaseTransport, Guard] = {}
        self._refusals = Every()
        self.refused = 0

    @property
    def total(self) -> int:
        return self._total

    def admit(self, ip: str) -> bool:
        """Count a new connection from `ip`; False (and nothing counted) past a cap."""
        mine = self._per_ip.get(ip, 0)
        if self._total >= self.max_total or (mine >= self.max_per_ip and not self._exempt(ip)):
            self._refused(ip)
            return False
        self._total += 1
        self._per_ip[ip] = mine + 1
        return True

    def _refused(self, ip: str) -> None:
        self.refused += 1
        if count := self._refusals.hit():
            log.warning(
                "%s connections refused at the limit (%d in total, %d per address): "
                "%d since the last report, the latest from %s",
                self.name,
                self.max_total,
                self.max_per_ip,
                count,
                ip,
            )

    def release(self, ip: str) -> None:
        self._total -= 1
        left = self._per_ip[ip] - 1
        if left:
            self._per_ip[ip] = left
        else:
            del self._per_ip[ip]

    def protocol_factory(self, inner: Callable[[], asyncio.Protocol]) -> Callable[[], Guard]:
        """A factory for `loop.create_server` that puts a `Guard` before `inner`'s protocols."""
        return lambda: Guard(self, inner)

    def guard(self, transport: asyncio.BaseTransport | None) -> Guard | None:
        """The guard of an admitted connection, for the front end to report request starts."""
        return self._guards.get(transport) if transport is not None else None

    def _opened(self, transport: asyncio.BaseTransport, guard: Guard) -> None:
        self._guards[transport] = guard

    def _closed(self, transport: asyncio.BaseTransport) -> None:
        self._guards.pop(transport, None)


class Guard(asyncio.Protocol):
    """One connection: admission by the limiter, then a deadline for each request's start.

    The deadline runs from the connection's start, and again from the first byte after
    each request, until the front end calls `begin()` (HTTP: the headers are parsed).
    An idle keep-alive connection is the front end's business (aiohttp closes it).
    """

    def __init__(self, limiter: ConnectionLimiter, make_inner: Callable[[], asyncio.Protocol]):
        self._limiter = limiter
        self._make_inner = make_inner
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._ip = ""
        self._deadline: asyncio.TimerHandle | None = None
        self._in_request = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._ip = peer_ip(transport)
        if not self._limiter.admit(self._ip):
            # Refused before reading anything: one write, no parser, no task.
            if self._limiter.refusal:
                with contextlib.suppress(Exception):
                    transport.write(self._limiter.refusal)
            transport.close()
            return
        self._transport = transport
        self._limiter._opened(transport, self)
        self._inner = self._make_inner()
        self._arm()
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is None:
            return
        self._disarm()
        assert self._transport is not None
        self._limiter._closed(self._transport)
        self._limiter.release(self._ip)
        inner, self._inner = self._inner, None
        inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._inner is None:
            return
        if not self._in_request and self._deadline is None:
            self._arm()
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def begin(self) -> None:
        """A request has started (its headers are complete): no deadline while it runs."""
        self._in_request = True
        self._disarm()

    def end(self) -> None:
        """The request is done; the next one's deadline starts with its first byte."""
        self._in_request = False

    def _arm(self) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self._limiter.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self._transport is not None and not self._in_request:
            log.debug("request start timed out", extra={"client_ip": self._ip})
            # abort, not close: nothing useful is queued, and the descriptor goes now.
            self._transport.abort()


class Busy(Exception):
    """A `Slots` cap is reached; the message is meant for the client."""

    def __init__(self, message: str, *, server_wide: bool) -> None:
        super().__init__(message)
        self.server_wide = server_wide


class Slots:
    """Concurrent holders per key and in total (e.g. git processes per user)."""

    def __init__(self, max_total: int, max_per_key: int, what: str) -> None:
        self.max_total = max_total
        self.max_per_key = max_per_key
        self.what = what
        self._total = 0
        self._per_key: dict[str, int] = {}

    def held(self, key: str) -> int:
        return self._per_key.get(key, 0)

    @contextlib.contextmanager
    def hold(self, key: str, name: str) -> Iterator[None]:
        """Hold one slot for `key` (`name` is what the client reads).

        Raises:
            Busy: the server or this key is at its limit.
        """
        mine = self._per_key.get(key, 0)
        if self._total >= self.max_total:
            raise Busy(
                f"gitserver: the server is busy ({self.max_total} {self.what}); try again later",
                server_wide=True,
            )
        if mine >= self.max_per_key:
            raise Busy(
                f"gitserver: {name} already has {self.max_per_key} {self.what} "
                "(the limit); try again when one has finished",
                server_wide=False,
            )
        self._total += 1
        self._per_key[key] = mine + 1
        try:
            yield
        finally:
            self._total -= 1
            left = self._per_key[key] - 1
            if left:
                self._per_key[key] = left
            else:
                del self._per_key[key]


class AcceptErrors:
    """A loop exception handler that logs accept failures once per `interval`, with a count.

    asyncio reports every failed `accept()` with a traceback, and Python 3.11's accept loop
    keeps trying up to `backlog` times per wakeup: at the descriptor limit that is hundreds
    of tracebacks a second. Everything else goes to the previous handler.
    """

    def __init__(self, interval: float = 10.0) -> None:
        self._every = Every(interval)
        self._previous: Any = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        self._previous = loop.get_exception_handler()
        loop.set_exception_handler(self)

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in ACCEPT_ERRNOS and "socket" in context:
            if count := self._every.hit():
                log.error(
                    "accepting connections failed (%s): %d times since the last report",
                    exc.strerror,
                    count,
                )
            return
        if self._previous is not None:
            self._previous(loop, context)
        else:
            loop.default_exception_handler(context)
