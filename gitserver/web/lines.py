"""A file's lines as HTML fragments for the file view, and git's binary test."""

from __future__ import annotations

from markupsafe import Markup

from gitserver.web.highlight import highlight_lines


def code_lines(path: str, text: str) -> list[Markup]:
    """One highlighted, escaped HTML fragment per line of `text` (git's lines)."""
    return highlight_lines(path, text)


def is_binary(head: bytes) -> bool:
    """Git's rule (`buffer_is_binary`): a NUL in the first 8000 bytes."""
    return b"\0" in head[:8000]
