"""A file's lines as HTML fragments for the file and blame views.

Highlighting is `gitserver.web.highlight.highlight_lines` (Pygments, built beside this
in branch issue12-diff); until it is merged here the lines are shown escaped, unstyled.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from markupsafe import Markup, escape

Highlighter = Callable[[str, str], list[Markup]]


def _highlighter() -> Highlighter | None:
    try:
        module = importlib.import_module("gitserver.web.highlight")
    except ImportError:
        return None
    found: Highlighter = module.highlight_lines
    return found


def code_lines(path: str, text: str) -> list[Markup]:
    """One escaped (or highlighted) HTML fragment per line of `text`."""
    highlight = _highlighter()
    if highlight is not None:
        return highlight(path, text)
    return [escape(line) for line in text.splitlines()]


def is_binary(head: bytes) -> bool:
    """Git's rule (`buffer_is_binary`): a NUL in the first 8000 bytes."""
    return b"\0" in head[:8000]
