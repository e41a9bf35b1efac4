"""Repository paths as the API takes them: `/a/b.txt` and `a/b.txt` are the same file."""

from __future__ import annotations

import re

from gitserver.content.errors import InvalidPath, PathRequired

MAX_PATH = 4096
# Code points HFS+ ignores when it compares names (git's `utf8.c` `next_hfs_char`), so
# `.g\u200cit` is `.git` on a Mac: ZWNJ, ZWJ, LRM, RLM, the bidi embeddings and
# overrides, the deprecated format characters, and the BOM.
_HFS_IGNORED = dict.fromkeys(
    [0x200C, 0x200D, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF]
)
# NTFS: case-insensitive, trailing dots and spaces dropped, `:` starts a stream name and
# `\` separates directories; `GIT~1` is the 8.3 short name (git's `is_ntfs_dotgit`).
_NTFS_DOTGIT = re.compile(r"(?:\.git|git~1)[. ]*(?:[:\\].*)?", re.IGNORECASE | re.ASCII | re.DOTALL)


def split_path(path: str | None, *, allow_root: bool = False) -> tuple[str, ...]:
    """The components of `path`, checked; `()` is the root (only if `allow_root`).

    Raises:
        PathRequired, InvalidPath.
    """
    if path is None or (path == "" and not allow_root):
        raise PathRequired("A file path is required")
    text = path.strip("/") if allow_root else path.removeprefix("/")
    if not text:
        if allow_root:
            return ()
        raise PathRequired("A file path is required")
    if len(text.encode()) > MAX_PATH:
        raise InvalidPath(f"The path is longer than {MAX_PATH} bytes")
    parts = tuple(text.split("/"))
    for part in parts:
        if part in {"", ".", ".."} or "\x00" in part:
            raise InvalidPath(f"The path {path!r} is not valid: empty, '.' or '..' component")
        if part == ".git":
            raise InvalidPath(f"The path {path!r} is not valid: '.git' is reserved")
    return parts


def is_dotgit(part: str) -> bool:
    """Whether some filesystem git checks out on would take `part` for `.git`.

    A clear, early answer for API writes; the authority is git's own check on the objects
    (`content.packs`), which refuses the same names (fsck `hasDotgit`).
    """
    hfs = part.translate(_HFS_IGNORED)
    return (hfs.isascii() and hfs.lower() == ".git") or _NTFS_DOTGIT.fullmatch(part) is not None


def check_writable(parts: tuple[str, ...]) -> tuple[str, ...]:
    """Return `parts` if a commit may create an entry at that path.

    Raises:
        InvalidPath: a component git would refuse in a push (CVE-2014-9390).
    """
    for part in parts:
        if is_dotgit(part):
            raise InvalidPath(
                f"The path {join(parts)!r} is not valid: {part!r} is '.git' on some filesystems"
            )
    return parts


def join(parts: tuple[str, ...]) -> str:
    return "/".join(parts)
