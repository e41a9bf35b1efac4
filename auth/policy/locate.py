"""Where in a policy's JSON text a JSON path (``Statement[1].Effect``) is, so an editor
can show a grammar error at its line.

The grammar decodes the document with ``json.loads`` and reports errors by path; the
decoded objects keep no positions. This scanner walks the same (valid) text once and
records where each path starts, building path strings exactly as the grammar does:
``key`` at the top, ``parent.key`` below, ``parent[i]`` for list items.
"""

from __future__ import annotations

import json

_SPACE = " \t\r\n"


def locate(text: str, path: str) -> int | None:
    """The character offset of `path` in `text` (of its key, for an object member), or of
    its nearest enclosing element that exists; None for the whole document or text that
    is not JSON."""
    if not path:
        return None
    offsets = _offsets(text)
    while path:
        if path in offsets:
            return offsets[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


def _offsets(text: str) -> dict[str, int]:
    found: dict[str, int] = {}
    try:
        _Scanner(text, found).value(0, "")
    except (ValueError, IndexError, RecursionError):
        return found  # not JSON after all: what was found so far
    return found


class _Scanner:
    def __init__(self, text: str, found: dict[str, int]) -> None:
        self.text = text
        self.found = found
        self.decoder = json.JSONDecoder()

    def skip(self, i: int) -> int:
        while self.text[i] in _SPACE:
            i += 1
        return i

    def value(self, i: int, path: str) -> int:
        """Scan the value at `i`; the offset after it."""
        i = self.skip(i)
        if path:
            self.found.setdefault(path, i)
        char = self.text[i]
        if char == "{":
            return self.members(i + 1, path)
        if char == "[":
            return self.items(i + 1, path)
        _, end = self.decoder.raw_decode(self.text, i)
        return int(end)

    def members(self, i: int, path: str) -> int:
        i = self.skip(i)
        if self.text[i] == "}":
            return i + 1
        while True:
            i = self.skip(i)
            key, end = self.decoder.raw_decode(self.text, i)
            member = f"{path}.{key}" if path else str(key)
            self.found.setdefault(member, i)  # the key's line: where the reader looks
            i = self.skip(end)
            if self.text[i] != ":":
                raise ValueError("expected ':'")
            i = self.skip(self.value(i + 1, member))
            if self.text[i] == "}":
                return i + 1
            if self.text[i] != ",":
                raise ValueError("expected ','")
            i += 1

    def items(self, i: int, path: str) -> int:
        i = self.skip(i)
        if self.text[i] == "]":
            return i + 1
        index = 0
        while True:
            i = self.skip(self.value(i, f"{path}[{index}]"))
            if self.text[i] == "]":
                return i + 1
            if self.text[i] != ",":
                raise ValueError("expected ','")
            i, index = i + 1, index + 1


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset (json's own counting)."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
