"""Payload formats: one converter per format, looked up at send time (None: skip).

Adding a new event's payload (pull requests) is one function per format here; the
dispatcher does not change.
"""

from __future__ import annotations

from triggers.events import Event
from triggers.formats.codecommit import codecommit
from triggers.formats.context import (
    CommitInfo,
    Converter,
    Payload,
    PayloadContext,
    RepositoryInfo,
)
from triggers.formats.eventbridge import eventbridge
from triggers.formats.github import github as github_refs
from triggers.formats.github_pulls import pull_request_payload
from triggers.formats.github_status import status_payload
from triggers.formats.native import native


async def github(event: Event, context: PayloadContext) -> Payload | None:
    """GitHub's payloads: `push` for reference events, `status` for commit statuses, the
    pull-request family else."""
    return (
        await github_refs(event, context)
        or await status_payload(event, context)
        or await pull_request_payload(event, context)
    )


CONVERTERS: dict[str, Converter] = {
    "native": native,
    "github": github,
    "codecommit": codecommit,
    "eventbridge": eventbridge,
}

__all__ = [
    "CONVERTERS",
    "CommitInfo",
    "Converter",
    "Payload",
    "PayloadContext",
    "RepositoryInfo",
]
