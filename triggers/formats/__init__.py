"""Payload formats: one converter per format, looked up at send time (None: skip).

Adding a new event's payload (pull requests) is one function per format here; the
dispatcher does not change.
"""

from __future__ import annotations

from triggers.formats.codecommit import codecommit
from triggers.formats.context import (
    CommitInfo,
    Converter,
    Payload,
    PayloadContext,
    RepositoryInfo,
)
from triggers.formats.eventbridge import eventbridge
from triggers.formats.github import github
from triggers.formats.native import native

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
