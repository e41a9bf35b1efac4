"""Real `git diff` on two texts, read back as hunks and rows, for the diff tests."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

GitRow = tuple[str, int | None, int | None]
HEADER = re.compile(r"^(@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@.*)")
ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "LC_ALL": "C",
}


def git_diff(before: str, after: str, context: int = 3, *options: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        old, new = Path(tmp) / "old", Path(tmp) / "new"
        old.write_bytes(before.encode())
        new.write_bytes(after.encode())
        result = subprocess.run(
            ["git", "diff", "--no-index", "--no-color", f"-U{context}", *options, "old", "new"],
            cwd=tmp,
            capture_output=True,
            env=ENV,
            check=False,
        )
    assert result.returncode in (0, 1), result.stderr
    return result.stdout.decode()


def git_hunks(patch: str) -> list[tuple[str, list[GitRow], set[int]]]:
    """Each hunk's header, its rows (kind, old line, new line), and the indexes of rows
    git follows with "\\ No newline at end of file"."""
    hunks: list[tuple[str, list[GitRow], set[int]]] = []
    o = n = 0
    for line in patch.split("\n"):
        match = HEADER.match(line)
        if match:
            o, n = int(match[2]), int(match[4])
            hunks.append((match[1], [], set()))
        elif not hunks or not line:
            continue
        elif line[0] == " ":
            hunks[-1][1].append(("context", o, n))
            o, n = o + 1, n + 1
        elif line[0] == "-":
            hunks[-1][1].append(("delete", o, None))
            o += 1
        elif line[0] == "+":
            hunks[-1][1].append(("add", None, n))
            n += 1
        elif line[0] == "\\":
            hunks[-1][2].add(len(hunks[-1][1]) - 1)
    return hunks


def lines(*numbers: int) -> str:
    return "".join(f"line {n}\n" for n in numbers)
