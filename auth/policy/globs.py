"""Wildcard patterns (``*`` any run, ``?`` one character) turned into anchored regexes.

Every character goes through ``re.escape`` first; only ``*`` and ``?`` from policy text
become wildcards. Text that came from a variable or an escape (``${*}``) stays literal.
"""

from __future__ import annotations

import functools
import re

Pieces = tuple[tuple[str, bool], ...]
"""Text pieces, each with whether its ``*``/``?`` are wildcards."""


def _translate(text: str, wildcards: bool) -> str:
    if not wildcards:
        return re.escape(text)
    return "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in text
    )


def glob_source(pieces: Pieces) -> str:
    """The regex source for one pattern, without anchors."""
    return "".join(_translate(text, wildcards) for text, wildcards in pieces)


@functools.lru_cache(maxsize=4096)
def compile_glob(pieces: Pieces, ignore_case: bool = False) -> re.Pattern[str]:
    """An anchored regex for the pattern; cached, so rendered variables stay cheap."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(glob_source(pieces), flags)


def compile_globs(patterns: tuple[Pieces, ...], ignore_case: bool = False) -> re.Pattern[str]:
    """One alternation for several patterns, matched with ``fullmatch``."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("|".join(f"(?:{glob_source(p)})" for p in patterns), flags)


def plain(text: str) -> Pieces:
    """Policy text without variables, wildcards active."""
    return ((text, True),)


def split_pieces(pieces: Pieces, separator: str, maxsplit: int) -> list[Pieces]:
    """Split pieces at ``separator`` (in any piece), at most ``maxsplit`` times."""
    parts: list[list[tuple[str, bool]]] = [[]]
    for text, wildcards in pieces:
        chunks = text.split(separator)
        for index, chunk in enumerate(chunks):
            if index > 0:
                if len(parts) > maxsplit:
                    parts[-1].append((separator, False))
                else:
                    parts.append([])
            if chunk:
                parts[-1].append((chunk, wildcards))
    return [tuple(part) for part in parts]
