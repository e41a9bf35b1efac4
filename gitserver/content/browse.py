"""What a person browsing a repository reads beyond the API's content calls: the refs,
a page of the log, blame, a file's size before its content, and a blob as a stream.

Like `content.service.Contents`, authorization is the front end's, before the call. Every
git process goes through `gitcmd.Git`; user values pass `user_value` and sit after
`--end-of-options` or `--`.
"""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from gitserver.content.errors import FileNotFound, FileTooLarge
from gitserver.content.paths import join, split_path
from gitserver.content.reader import FULL_OID, GITLINK, Reader, file_mode_name
from gitserver.content.sizes import object_size
from gitserver.content.views import CommitInfo, UserInfo
from gitserver.db import Repository
from gitserver.gitcmd import Git, GitError, kill, user_value
from gitserver.store.errors import CommitNotFound
from gitserver.store.repositories import RepositoryStore

_RS, _US = "\x1e", "\x1f"
_LOG_FORMAT = _US.join(["%H", "%T", "%P", "%an", "%ae", "%ad", "%cn", "%ce", "%cd", "%B"]) + _RS
_CHUNK = 65536
T = TypeVar("T")
# What a repository's home page shows as its README, in order of preference.
README_NAMES = ("readme.md", "readme.markdown", "readme", "readme.txt", "readme.rst")
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's well-known empty tree


@dataclass(frozen=True, slots=True)
class RefList:
    """Branches and tags by short name, each with the object it points at."""

    branches: tuple[tuple[str, str], ...]
    tags: tuple[tuple[str, str], ...]

    def names(self) -> set[str]:
        return {name for name, _ in self.branches} | {name for name, _ in self.tags}


@dataclass(frozen=True, slots=True)
class Located:
    """A browsing URL resolved: the refs, the ref named, its commit, the path after it."""

    refs: RefList
    ref: str
    commit_id: str
    path: str


@dataclass(frozen=True, slots=True)
class Readme:
    """A repository's README: its path and content (None: larger than the page shows)."""

    path: str
    content: bytes | None


@dataclass(frozen=True, slots=True)
class FileStat:
    """A file's identity and size, read from object headers (the content stays packed)."""

    commit_id: str
    blob_id: str
    path: str
    mode: str  # NORMAL | EXECUTABLE | SYMLINK
    size: int


@dataclass(frozen=True, slots=True)
class BlameLine:
    commit_id: str
    author: str
    timestamp: int
    summary: str
    line: str


class Browse:
    """Read-only git views for front ends (the web UI)."""

    def __init__(self, git: Git, store: RepositoryStore) -> None:
        self.git = git
        self.store = store

    async def refs(self, repo: Repository) -> RefList:
        return await asyncio.to_thread(self._with_reader, repo, _ref_list)

    async def locate(self, repo: Repository, parts: Sequence[str]) -> Located:
        """What a browsing URL's segments name: the ref (longest prefix that is a branch or
        tag, else a commit id), the commit it resolves to and the path after it; with the
        refs read for it (one repository open for all three).

        Raises:
            CommitNotFound, InvalidCommit.
        """

        def work(reader: Reader) -> Located:
            refs = _ref_list(reader)
            ref, path = split_ref(refs.names(), parts)
            commit = reader.resolve(ref, repo.default_branch)
            return Located(refs, ref, commit.id.decode(), path)

        return await asyncio.to_thread(self._with_reader, repo, work)

    async def readme(self, repo: Repository, limit: int) -> Readme | None:
        """The default branch's README (the first of `README_NAMES` at the top of its
        tree), its content read only when at most `limit` bytes; None when there is no
        default branch or no README."""

        def work(reader: Reader) -> Readme | None:
            try:
                commit = reader.resolve(None, repo.default_branch)
            except CommitNotFound:  # no default branch yet, or a push deleted it
                return None
            tree = reader.tree(commit.tree)
            names = {item.path.decode("utf-8", "replace").lower(): item for item in tree.items()}
            item = next((names[n] for n in README_NAMES if n in names), None)
            if item is None or not stat.S_ISREG(item.mode):
                return None
            path = item.path.decode("utf-8", "replace")
            try:
                return Readme(path, reader.blob(item.sha, limit))
            except FileTooLarge:
                return Readme(path, None)

        return await asyncio.to_thread(self._with_reader, repo, work)

    def _with_reader(self, repo: Repository, work: Callable[[Reader], T]) -> T:
        with Reader(self.store.path(repo.id)) as reader:
            return work(reader)

    async def resolve(self, repo: Repository, specifier: str) -> str:
        """The full id of the commit `specifier` (a commit id, branch or tag) names.

        Raises:
            CommitNotFound, InvalidCommit.
        """

        def work() -> str:
            with Reader(self.store.path(repo.id)) as reader:
                return reader.resolve(specifier, repo.default_branch).id.decode()

        return await asyncio.to_thread(work)

    async def stat(self, repo: Repository, specifier: str, path: str) -> FileStat:
        """The file at `path` in `specifier` without reading its content.

        Raises:
            FileNotFound, CommitNotFound, InvalidCommit, InvalidPath.
        """

        def work() -> FileStat:
            with Reader(self.store.path(repo.id)) as reader:
                commit = reader.resolve(specifier, repo.default_branch)
                parts = split_path(path)
                found = reader.entry(commit, parts)
                if found is None or stat.S_ISDIR(found[0]) or found[0] == GITLINK:
                    raise FileNotFound(f"The file {join(parts)} does not exist")
                mode, oid = found
                size = object_size(reader.repo.object_store, oid)
                if size is None:  # no header says: the object tells (rare: alternates)
                    size = len(reader.obj(oid).as_raw_string())
                return FileStat(
                    commit.id.decode(), oid.decode(), join(parts), file_mode_name(mode), size
                )

        return await asyncio.to_thread(work)

    async def blob_chunks(self, repo: Repository, blob_id: str) -> AsyncGenerator[bytes, None]:
        """The blob's bytes in bounded chunks, from `git cat-file` (never whole in memory)."""
        process = await self.git.spawn(
            "cat-file",
            "blob",
            user_value(blob_id),
            repo=self.store.path(repo.id),
            stderr_to_pipe=False,
        )
        assert process.stdout is not None and process.stdin is not None
        process.stdin.close()
        try:
            while chunk := await process.stdout.read(_CHUNK):
                yield chunk
        finally:
            kill(process)
            await process.wait()

    async def log(
        self, repo: Repository, commit_id: str, *, path: str = "", skip: int = 0, limit: int = 50
    ) -> list[CommitInfo]:
        """Up to `limit` commits reachable from `commit_id` (touching `path`), after `skip`."""
        args = [
            "log",
            f"--skip={max(skip, 0)}",
            f"-n{limit}",
            "--date=raw",
            f"--format={_LOG_FORMAT}",
        ]
        args += ["--end-of-options", user_value(commit_id)]
        if path:
            args += ["--", user_value(path)]
        try:
            result = await self.git.run(*args, repo=self.store.path(repo.id))
        except GitError:
            raise CommitNotFound(f"Commit {commit_id} does not exist") from None
        text = result.stdout.decode("utf-8", "replace")
        return [_commit(chunk.lstrip("\n")) for chunk in text.split(_RS) if chunk.strip()]

    async def numstat(
        self, repo: Repository, before: str | None, after: str, *, path: str | None = None
    ) -> bytes:
        """`git diff --numstat -z` between two commits (None: the empty tree): each file's
        added and deleted lines, counted by git without a blob leaving its process; with
        `path`, that file's only (git then compares only the trees on its path)."""
        args = ["diff", "--numstat", "-z", "--no-renames", "--end-of-options"]
        args += [user_value(before or EMPTY_TREE), user_value(after)]
        if path is not None:
            # A file's name, never a pattern or other magic; and no leading "-" to refuse.
            args += ["--", user_value(":(literal)" + join(split_path(path)))]
        result = await self.git.run(*args, repo=self.store.path(repo.id))
        return result.stdout

    async def commit_numstat(self, repo: Repository, commit_id: str) -> bytes:
        """`numstat` from the commit's first parent (the empty tree for a root commit) to
        the commit, without knowing the parent first: a commit page starts it at once."""
        args = ["diff-tree", "-r", "--root", "--no-commit-id", "--diff-merges=first-parent"]
        args += ["--numstat", "-z", "--no-renames", "--end-of-options", user_value(commit_id)]
        result = await self.git.run(*args, repo=self.store.path(repo.id))
        return result.stdout

    async def blame(self, repo: Repository, commit_id: str, path: str) -> list[BlameLine]:
        """Who last changed each line of `path` at `commit_id` (`git blame --porcelain`)."""
        result = await self.git.run(
            "blame",
            "--porcelain",
            user_value(commit_id),
            "--",
            user_value(path),
            repo=self.store.path(repo.id),
        )
        return parse_porcelain(result.stdout.decode("utf-8", "replace"))


def _ref_list(reader: Reader) -> RefList:
    found = reader.refs()
    heads = sorted(
        (n.removeprefix("refs/heads/"), o) for n, o in found.items() if n.startswith("refs/heads/")
    )
    tags = sorted(
        (n.removeprefix("refs/tags/"), o) for n, o in found.items() if n.startswith("refs/tags/")
    )
    return RefList(tuple(heads), tuple(tags))


def split_ref(names: set[str], parts: Sequence[str]) -> tuple[str, str]:
    """(ref, path) from URL segments: the longest prefix that is one of `names` (branches
    and tags; GitLab's rule: `feature/x/src/a.py` is branch `feature/x` if it exists),
    else a first segment that is a full commit id.

    Raises:
        CommitNotFound: no prefix names a ref.
    """
    for end in range(len(parts), 0, -1):
        candidate = "/".join(parts[:end])
        if candidate in names:
            return candidate, "/".join(parts[end:])
    if parts and FULL_OID.fullmatch(parts[0]):
        return parts[0], "/".join(parts[1:])
    raise CommitNotFound("No branch, tag or commit of that name")


def _user(name: str, email: str, raw_date: str) -> UserInfo:
    seconds, _, zone = raw_date.partition(" ")
    sign = -1 if zone.startswith("-") else 1
    digits = zone.lstrip("+-") or "0000"
    offset = sign * (int(digits[:2]) * 60 + int(digits[2:4] or 0))
    return UserInfo(name, email, int(seconds or 0), offset)


def _commit(chunk: str) -> CommitInfo:
    sha, tree, parents, an, ae, ad, cn, ce, cd, message = chunk.split(_US, 9)
    return CommitInfo(
        commit_id=sha,
        tree_id=tree,
        parents=tuple(parents.split()),
        message=message.rstrip("\n"),
        author=_user(an, ae, ad),
        committer=_user(cn, ce, cd),
    )


def parse_porcelain(text: str) -> list[BlameLine]:
    """`git blame --porcelain`: a header per line group, details the first time a commit
    appears, then the line itself after a TAB (git-blame(1), "THE PORCELAIN FORMAT")."""
    details: dict[str, dict[str, str]] = {}
    lines: list[BlameLine] = []
    current = ""
    for raw in text.split("\n"):
        if raw.startswith("\t"):
            info = details.get(current, {})
            lines.append(
                BlameLine(
                    current,
                    info.get("author", ""),
                    int(info.get("author-time", "0") or 0),
                    info.get("summary", ""),
                    raw[1:],
                )
            )
            continue
        head, _, rest = raw.partition(" ")
        if FULL_OID.fullmatch(head):
            current = head
            details.setdefault(current, {})
        elif head and current:
            details[current].setdefault(head, rest)
    return lines
