"""What a CLI command prints: one JSON object with --json, readable text otherwise."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any


class CommandError(Exception):
    """A command cannot do what was asked; the message is the one-line error."""


@dataclass(frozen=True, slots=True)
class Result:
    data: dict[str, Any]
    text: str


class Output:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def emit(self, result: Result) -> None:
        if self.as_json:
            sys.stdout.write(json.dumps(result.data, default=str) + "\n")
        elif result.text:
            sys.stdout.write(result.text.rstrip("\n") + "\n")
        sys.stdout.flush()

    def fail(self, message: str, status: int = 1) -> int:
        """Print the one-line error; returns the exit status."""
        sys.stderr.write(f"gitserver: error: {message}\n")
        return status

    def say(self, message: str) -> None:
        """A progress line for people (stderr under --json so stdout stays one object)."""
        stream = sys.stderr if self.as_json else sys.stdout
        stream.write(message + "\n")
        stream.flush()


def table(rows: list[list[str]], headers: list[str]) -> str:
    if not rows:
        return "(none)"
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False))]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)
