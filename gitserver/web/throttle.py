"""Sign-in rate limiting: exponential backoff per user name and per client address.

After `free` failures a key must wait 1 s, then 2 s, 4 s ... up to `ceiling` before its
next attempt is even checked; a success clears the user's count (not the address's: one
address guessing many names stays slowed). Per process, in memory: a restart forgives,
and N servers behind a balancer allow N times the attempts, still with backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

_MAX_KEYS = 50_000


@dataclass(slots=True)
class _Entry:
    failures: int
    blocked_until: float


class Throttle:
    """Counts failed sign-ins per key and says how long a key must wait."""

    def __init__(
        self,
        *,
        user_free: int = 5,
        ip_free: int = 20,
        ceiling: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._free = {"user": user_free, "ip": ip_free}
        self._ceiling = ceiling
        self._clock = clock
        self._entries: dict[tuple[str, str], _Entry] = {}

    def wait(self, user: str, ip: str) -> float:
        """Seconds before this user name or address may try again (0: now)."""
        now = self._clock()
        waits = [
            entry.blocked_until - now
            for key in (("user", user.lower()), ("ip", ip))
            if (entry := self._entries.get(key)) is not None
        ]
        return max([0.0, *waits])

    def failed(self, user: str, ip: str) -> None:
        if len(self._entries) >= _MAX_KEYS:
            self._entries.clear()  # a flood of names must not grow memory without bound
        now = self._clock()
        for kind, value in (("user", user.lower()), ("ip", ip)):
            entry = self._entries.setdefault((kind, value), _Entry(0, 0.0))
            entry.failures += 1
            over = entry.failures - self._free[kind]
            if over >= 0:
                entry.blocked_until = now + min(self._ceiling, 2.0**over)

    def succeeded(self, user: str) -> None:
        self._entries.pop(("user", user.lower()), None)
