"""A file's lines as HTML fragments for the file view, and git's binary test."""

from __future__ import annotations

import asyncio

from markupsafe import Markup

from gitserver.web.highlight import HighlightCache, render


async def code_lines(cache: HighlightCache, path: str, text: str) -> list[Markup]:
    """One highlighted, escaped HTML fragment per line of `text` (git's lines). Lexing
    is CPU work (up to ~0.5 s for a large file): it runs in a thread, off the loop."""

    def work() -> list[Markup]:
        return [render(line) for line in cache(path, text)]

    return await asyncio.to_thread(work)


def is_binary(head: bytes) -> bool:
    """Git's rule (`buffer_is_binary`): a NUL in the first 8000 bytes."""
    return b"\0" in head[:8000]
