"""Opaque continuation tokens: an offset into a stable ordering, tied to the operation."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import TypeVar

from gitserver.api.errors import ApiError

T = TypeVar("T")


INVALID_TOKEN = "InvalidContinuationTokenException"
"""CodeCommit's name for a bad token; CodePipeline's is `InvalidNextTokenException`."""


def page(
    items: Sequence[T], token: str | None, size: int, scope: str, error: str = INVALID_TOKEN
) -> tuple[Sequence[T], str | None]:
    """One page of `items` after `token`, and the token of the next page (None: last).

    Raises:
        ApiError: `error` for a token this did not make.
    """
    start = offset_of(token, scope, error)
    chunk = items[start : start + size]
    end = start + len(chunk)
    return chunk, (_token(end, scope) if end < len(items) else None)


def _token(offset: int, scope: str) -> str:
    return base64.urlsafe_b64encode(f"{scope}:{offset}".encode()).decode()


def offset_of(token: str | None, scope: str, error: str = INVALID_TOKEN) -> int:
    """Where the page `token` names starts (0 without a token): a caller that reads
    only as far as it needs.

    Raises:
        ApiError: `error` for a token this did not make.
    """
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        found_scope, _, number = text.rpartition(":")
        offset = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        offset, found_scope = -1, ""
    if found_scope != scope or offset < 0:
        raise ApiError(error, "The continuation token is not valid")
    return offset
