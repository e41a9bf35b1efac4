"""argon2id hashing for passwords and HTTPS Git credentials."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): each check holds its memory while
# it runs; callers bound how many run at once (see auth.authenticate).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    # Verifying against this when the account does not exist keeps the timing the same.
    return _hasher.hash("gitserver-dummy-password")


MIN_LENGTH = 8


def weakness(password: str) -> str:
    """Why `password` may not be chosen by its user ("" if it may). Administrators set
    passwords with the CLI unchecked; a user choosing their own (the web UI) is checked."""
    if len(password) < MIN_LENGTH:
        return f"The new password must have at least {MIN_LENGTH} characters."
    return ""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not a hash exists; never raises on a mismatch."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False
