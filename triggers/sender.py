"""One HTTP attempt, safely: the SSRF guard on every new connection, no redirects, a
capped response, a timeout. The outcome says whether a retry makes sense."""

from __future__ import annotations

import socket
import time
from email.utils import parsedate_to_datetime

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from triggers.errors import TargetRefused
from triggers.outcome import Outcome
from triggers.ssrf import Allowed, check_address, check_url, literal, resolve

MAX_RESPONSE = 64 * 1024
EXCERPT = 2048
MAX_HEADERS = 100
USER_AGENT = "gitserver-hookshot/1"


class GuardedResolver(AbstractResolver):
    """Resolves once per new connection and refuses private addresses not allowed."""

    def __init__(self, allowed: Allowed) -> None:
        self.allowed = allowed

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        port = port or 80
        address = await resolve(host, port, self.allowed)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [
            ResolveResult(hostname=host, host=address, port=port, family=family, proto=0, flags=0)
        ]

    async def close(self) -> None:
        return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class Sender:
    """Owns one client session for every delivery of the process (keep-alive)."""

    def __init__(self, allowed: Allowed) -> None:
        self.allowed = allowed
        self._session: aiohttp.ClientSession | None = None
        # URLs that passed `_check`: it depends on nothing but the URL and `allowed`,
        # and a busy hook would parse the same URL again for every delivery.
        self._checked: set[str] = set()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self.allowed), use_dns_cache=False, limit=256
            )
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": USER_AGENT}, auto_decompress=False
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _check(self, url: str) -> None:
        """The URL rule again (a target stored before it held, or edited in the
        database), and IP literals, which aiohttp connects to without the resolver."""
        if url in self._checked:
            return
        target = check_url(url)
        address = literal(target.host)
        if address is not None:
            check_address(target.host, address, self.allowed)
        if len(self._checked) >= 10_000:
            self._checked.clear()
        self._checked.add(url)

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
        started = time.monotonic()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            self._check(url)
            async with self._client().post(
                url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                data = await response.content.read(MAX_RESPONSE)
                excerpt = data[:EXCERPT].decode("utf-8", "replace")
                error = ""
                if len(response.headers) > MAX_HEADERS:
                    return Outcome(None, "", "too many response headers", elapsed())
                if 300 <= response.status < 400:
                    error = "redirects are not followed"
                return Outcome(
                    response.status,
                    excerpt,
                    error,
                    elapsed(),
                    _retry_after(response.headers.get("Retry-After")),
                )
        except TargetRefused as exc:
            return Outcome(None, "", str(exc), elapsed(), refused=True)
        except aiohttp.InvalidURL as exc:
            # A URL the client cannot parse will not parse better in an hour.
            return Outcome(None, "", f"invalid URL: {exc}"[:500], elapsed(), refused=True)
        except TimeoutError:
            return Outcome(None, "", f"timed out after {timeout:g} s", elapsed())
        except (aiohttp.ClientError, OSError) as exc:
            return Outcome(None, "", f"{type(exc).__name__}: {exc}"[:500], elapsed())
