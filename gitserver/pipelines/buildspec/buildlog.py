"""The build log: written line by line as the build runs, secrets masked, size capped.

Each line is flushed when written, so a reader following the file (`pipeline logs
--follow`) sees the build live. The runner's own lines look like CodeBuild's:
`[Container] 2026/12/04 10:00:00.123456 Entering phase BUILD`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

MASK = "***"
# Shorter values are masked too, but only whole: masking "1" everywhere would garble logs.
_MIN_PIECE = 4
_RECENT_LINES = 2000


class Masker:
    """Replaces every secret value (and each line of a multi-line one) with `***`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        pieces: set[str] = set()
        for value in secrets:
            if not value:
                continue
            pieces.add(value)
            pieces.update(p for p in value.splitlines() if len(p.strip()) >= _MIN_PIECE)
        # Longest first, so a secret that contains another is masked whole.
        self._pieces = sorted(pieces, key=len, reverse=True)

    def mask(self, text: str) -> str:
        """`text` with every secret replaced."""
        for piece in self._pieces:
            if piece in text:
                text = text.replace(piece, MASK)
        return text


class BuildLog:
    """Appends masked lines to the log file until `cap` bytes, then one truncation line."""

    def __init__(self, path: Path, masker: Masker, cap: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO = path.open("ab")
        self._masker = masker
        self._cap = cap
        self._written = 0
        self._recent: deque[str] = deque(maxlen=_RECENT_LINES)
        self.lines = 0
        self.truncated = False

    def container(self, message: str) -> None:
        """A line of the runner's own, never dropped by the cap."""
        stamp = datetime.now(UTC).strftime("%Y/%m/%d %H:%M:%S.%f")
        self._write(f"[Container] {stamp} {self._masker.mask(message)}\n".encode(), force=True)

    def output(self, line: bytes) -> None:
        """One line of the build's output (without its newline)."""
        text = self._masker.mask(line.decode("utf-8", "surrogateescape"))
        self._recent.append(text)
        self.lines += 1
        if self.truncated:
            return
        data = text.encode("utf-8", "surrogateescape") + b"\n"
        if self._written + len(data) > self._cap:
            self.truncated = True
            self.container(
                f"Output truncated: the log reached its limit of {self._cap} bytes; "
                "the rest of the build's output is not kept"
            )
            return
        self._write(data)

    def since(self, mark: int) -> str:
        """The output lines since `lines` was `mark` (the last 2,000 at most), masked."""
        count = min(self.lines - mark, len(self._recent))
        return "\n".join(list(self._recent)[len(self._recent) - count :])

    def _write(self, data: bytes, *, force: bool = False) -> None:
        if self._file.closed:
            return
        self._file.write(data)
        self._file.flush()
        if not force:
            self._written += len(data)

    def close(self) -> None:
        """Close the file (later lines are dropped)."""
        self._file.close()
