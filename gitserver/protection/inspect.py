"""What a push or an API write adds, read from git: added lines for secret scanning and
blobs over a size limit.

Only the new commits are read (`TIPS --not --all`: in pre-receive the refs do not yet
hold the pushed commits, and for an API write the new commit is in the object store but
on no ref yet), so a secret already in history is not reported again. Lines come from
`git log -p --cc -U0`: for a merge only the lines new against every parent (a conflict
resolution), because the merged commits are read on their own or were already there.

Bounds, so a push's size never decides the server's memory or time: files larger than
`MAX_SCANNED_FILE` are not scanned (git treats them as binary, `core.bigFileThreshold`),
binary files are not scanned, a line is read up to `scanner.MAX_LINE` characters and a
push up to `MAX_SCANNED_BYTES` of diff; what is past a bound is let through unscanned
and logged (`Scan.truncated`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitserver.gitcmd import Git, kill
from gitserver.protection.scanner import MAX_LINE, may_hold_secret, scan_line

log = logging.getLogger(__name__)

MAX_SCANNED_FILE = 1024 * 1024
MAX_SCANNED_BYTES = 64 * 1024 * 1024
MAX_FINDINGS = 50
SCAN_TIMEOUT = 300.0
_READ = 256 * 1024
# A block without a `diff ` header is handed on at this size (a file diff is bounded by
# MAX_SCANNED_FILE a side, so this is rare).
_MAX_PENDING = 4 * 1024 * 1024
_OID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_HUNK = re.compile(rb"^(@+) .*?\+(\d+)(?:,\d+)? @+")
_SCAN_CONFIG = {
    "core.bigFileThreshold": str(MAX_SCANNED_FILE),
    "core.quotePath": "false",
    "diff.noprefix": "false",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """A secret in an added line; `masked` is all of the secret that is ever shown."""

    kind: str
    path: str
    line: int
    commit: str
    masked: str


@dataclass(slots=True)
class Scan:
    findings: list[Finding] = field(default_factory=list)
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class LargeFile:
    path: str
    size: int


def _new_commits(tips: Sequence[str]) -> list[str]:
    wanted = [tip for tip in tips if _OID.fullmatch(tip)]
    return [*wanted, "--not", "--all"] if wanted else []


async def find_secrets(git: Git, repo: Path, tips: Sequence[str], env: Mapping[str, str]) -> Scan:
    """The secrets in the lines the commits new in `tips` add (`env`: the quarantine)."""
    scan = Scan()
    revisions = _new_commits(tips)
    if not revisions:
        return scan
    args = ["log", "-p", "--cc", "-U0", "--format=%x00%H", "--no-color", "--no-ext-diff"]
    # `revisions` are checked hex ids and `--not --all`: no option can be smuggled in.
    args += ["--no-renames", "--no-textconv", *revisions]
    process = await git.spawn(*args, repo=repo, config=_SCAN_CONFIG, extra_env=env)
    parser = _DiffParser(scan)
    try:
        async with asyncio.timeout(SCAN_TIMEOUT):
            assert process.stdout is not None
            async for block, whole in _blocks(process.stdout, scan):
                _feed_block(parser, block, whole)
                if len(scan.findings) >= MAX_FINDINGS:
                    break
    except TimeoutError:
        scan.truncated = True
    finally:
        if process.returncode is None:
            kill(process)
        await process.wait()
    if scan.truncated:
        log.warning("secret scan stopped at its bound", extra={"repo": str(repo)})
    return scan


async def _blocks(stream: asyncio.StreamReader, scan: Scan) -> AsyncIterator[tuple[bytes, bool]]:
    """The output in blocks of whole lines, up to MAX_SCANNED_BYTES; each with whether
    it ends a file diff (it ends just before a `diff ` header, or the output)."""
    pending, size = b"", 0
    while chunk := await stream.read(_READ):
        size += len(chunk)
        if size > MAX_SCANNED_BYTES:
            scan.truncated = True
            return
        pending += chunk
        cut, whole = pending.rfind(b"\ndiff "), True
        if cut < 0 and len(pending) > _MAX_PENDING:
            # A long file diff: handed on at a line's end.
            cut, whole = pending.rfind(b"\n"), False
        if cut >= 0:
            yield pending[:cut], whole
            pending = pending[cut + 1 :]
    if pending:
        yield pending, True


def _feed_block(parser: _DiffParser, block: bytes, ends_whole: bool) -> None:
    """Scan a block's file diffs, skipping those where no kind of secret can be (the
    common case: 3x cheaper than reading every line). `ends_whole`: the block's last
    file diff is complete (else the next block continues it)."""
    parts = block.split(b"\ndiff ")
    for index, part in enumerate(parts):
        section = part if index == 0 else b"diff " + part
        whole = section.startswith((b"diff ", b"\x00")) and (ends_whole or index < len(parts) - 1)
        if not whole or may_hold_secret(section):
            # A file diff cut between two blocks is read in full, on both sides: its
            # path, hunk and line numbers carry over.
            for line in section.split(b"\n"):
                parser.feed(line[:MAX_LINE])
            continue
        # Skipped, the parser only needs the state the section leaves: its header's,
        # or that of the next commit's marker at its end.
        parser.feed(section.partition(b"\n")[0])
        marker = section.rfind(b"\n\x00")
        if marker >= 0:
            parser.feed(section[marker + 1 :].partition(b"\n")[0])


class _DiffParser:
    """Follows `git log -p --cc -U0` output and scans each added line."""

    def __init__(self, scan: Scan) -> None:
        self.scan = scan
        self.commit = ""
        self.path: str | None = None
        self.in_hunk = False
        self.columns = 1
        self.number = 0

    def feed(self, line: bytes) -> None:
        if line.startswith(b"\x00"):
            self.commit, self.path, self.in_hunk = line[1:].decode(), None, False
        elif line.startswith(b"diff "):
            self.path, self.in_hunk = None, False
        elif line.startswith(b"@@"):
            self._hunk(line)
        elif self.in_hunk:
            self._content(line)
        elif line.startswith(b"+++ "):
            self.path = _path(line[4:])

    def _hunk(self, line: bytes) -> None:
        match = _HUNK.match(line)
        self.in_hunk = match is not None and self.path is not None
        if match is not None:
            self.columns = len(match.group(1)) - 1
            self.number = int(match.group(2))

    def _content(self, line: bytes) -> None:
        prefix = line[: self.columns]
        if b"-" in prefix or line.startswith(b"\\"):
            return  # a removed line, or "\ No newline at end of file"
        number = self.number
        self.number += 1
        # Added against every parent: a one-parent diff's "+", a merge's "++".
        if prefix != b"+" * self.columns or self.path is None or not may_hold_secret(line):
            return
        text = line[self.columns :].decode("utf-8", "replace")
        for match in scan_line(text):
            self.scan.findings.append(
                Finding(match.kind, self.path, number, self.commit, match.masked)
            )


def _path(raw: bytes) -> str | None:
    """The new path of a `+++ b/PATH` line (None for a deletion)."""
    text = raw.decode("utf-8", "replace")
    if text.startswith('"') and text.endswith('"'):
        # git quotes a name with control characters, C style; shown, never opened.
        text = text[1:-1].encode("latin-1", "replace").decode("unicode_escape", "replace")
    if text == "/dev/null":
        return None
    return text[2:] if text.startswith("b/") else text


async def find_large_files(
    git: Git, repo: Path, tips: Sequence[str], env: Mapping[str, str], limit: int
) -> list[LargeFile]:
    """The blobs new in `tips` larger than `limit` bytes, by path."""
    revisions = _new_commits(tips)
    if not revisions:
        return []
    listed = await git.run("rev-list", "--objects", *revisions, repo=repo, extra_env=env)
    checked = await git.run(
        "cat-file",
        "--batch-check=%(objecttype) %(objectsize) %(rest)",
        repo=repo,
        input=listed.stdout,
        extra_env=env,
    )
    found = []
    for line in checked.stdout.decode("utf-8", "replace").splitlines():
        kind, _, rest = line.partition(" ")
        size, _, path = rest.partition(" ")
        if kind == "blob" and size.isdigit() and int(size) > limit:
            found.append(LargeFile(path, int(size)))
    return found
