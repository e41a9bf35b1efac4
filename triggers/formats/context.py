"""What converters may know besides the event: the repository and the pushed commits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from triggers.events import Event


@dataclass(frozen=True, slots=True)
class RepositoryInfo:
    id: str
    name: str
    description: str
    default_branch: str | None
    created_at: datetime
    updated_at: datetime
    pushed_at: datetime | None
    clone_url_http: str
    clone_url_ssh: str
    arn: str


@dataclass(frozen=True, slots=True)
class CommitInfo:
    id: str
    tree_id: str
    message: str
    timestamp: str  # ISO 8601 with offset, as GitHub sends it
    author_name: str
    author_email: str
    committer_name: str
    committer_email: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()


# (repository id, ref, old commit or zero, new commit, at most) -> commits, oldest first.
CommitsFn = Callable[[str, str, str, str, int], Awaitable[list[CommitInfo]]]


@dataclass(frozen=True, slots=True)
class PayloadContext:
    """Per delivery: the server's names and the repository as it is now."""

    base_url: str
    region: str
    account_id: str
    repository: RepositoryInfo | None
    commits: CommitsFn
    subscription: dict[str, Any] = field(default_factory=dict)  # trigger name, customData


@dataclass(frozen=True, slots=True)
class Payload:
    """A converter's result: the body, and the event name header formats carry."""

    body: dict[str, Any]
    event_name: str


Converter = Callable[[Event, PayloadContext], Awaitable[Payload | None]]
