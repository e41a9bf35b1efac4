"""Repository paths as the API takes them: `/a/b.txt` and `a/b.txt` are the same file."""

from __future__ import annotations

from gitserver.content.errors import InvalidPath, PathRequired

MAX_PATH = 4096


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


def join(parts: tuple[str, ...]) -> str:
    return "/".join(parts)
