"""Content reads as a service: a repository the caller was allowed to read, typed
arguments in, `content.views` out. The API and the web UI both call this; neither opens a
`Reader` itself.

Authorization is the front end's (`gitserver/access.py`) before the call: reads have no
rule of their own beyond what the repository holds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from dulwich.pack import PackFileDisappeared

from gitserver.content.errors import CommitIdsLimitExceeded
from gitserver.content.history import differences, file_differences, file_history
from gitserver.content.reader import FULL_OID, Reader
from gitserver.content.readers import Readers
from gitserver.content.views import CommitInfo, Difference, FileContent, FileVersion, Folder
from gitserver.db import Repository
from gitserver.store.errors import CommitNotFound, InvalidCommitId
from gitserver.store.repositories import RepositoryStore

T = TypeVar("T")
MAX_COMMIT_IDS = 100
MAX_HISTORY = 10_000


@dataclass(frozen=True, slots=True)
class CommitLookupError:
    commit_id: str
    code: str  # CommitIdDoesNotExistException | InvalidCommitIdException


class Contents:
    def __init__(
        self, store: RepositoryStore, max_file_size: int, readers: Readers | None = None
    ) -> None:
        self.store = store
        self.max_file_size = max_file_size
        # Open repositories kept between reads; None: each read opens its own.
        self.readers = readers

    async def _read(self, repo: Repository, work: Callable[[Reader], T]) -> T:
        path = self.store.path(repo.id)
        readers = self.readers

        def run() -> T:
            if readers is not None:
                try:
                    with readers.lend(path) as reader:
                        return work(reader)
                except (PackFileDisappeared, FileNotFoundError):
                    # A kept reader's list of packs may name one maintenance has since
                    # deleted, its index never loaded (dulwich rescans on a missed
                    # object, not on that): the work runs again on a reader opened now.
                    pass
            with Reader(path) as reader:
                return work(reader)

        return await asyncio.to_thread(run)

    async def file(self, repo: Repository, specifier: str | None, path: str) -> FileContent:
        """The file at `path` in the commit `specifier` names (default branch if None)."""
        return await self._read(
            repo,
            lambda r: r.get_file(
                r.resolve(specifier, repo.default_branch), path, self.max_file_size
            ),
        )

    async def folder(self, repo: Repository, specifier: str | None, path: str) -> Folder:
        return await self._read(
            repo, lambda r: r.get_folder(r.resolve(specifier, repo.default_branch), path)
        )

    async def blob(self, repo: Repository, blob_id: str) -> bytes:
        return await self._read(repo, lambda r: r.get_blob(blob_id, self.max_file_size))

    @contextlib.asynccontextmanager
    async def blob_reader(self, repo: Repository) -> AsyncIterator[BlobReader]:
        """`blob` for many blobs of one repository (a page's diff): the repository is
        opened once, not once a blob (on a 1,000-file pull request, opening it for each
        of 200 blobs was a fifth of the page's time)."""
        reader = await asyncio.to_thread(Reader, self.store.path(repo.id))
        try:
            yield BlobReader(reader, self.max_file_size)
        finally:
            reader.close()

    async def commit(self, repo: Repository, commit_id: str) -> CommitInfo:
        """Raises InvalidCommitId (not a full id), CommitNotFound."""
        if not FULL_OID.fullmatch(commit_id):
            raise InvalidCommitId(f"{commit_id!r} is not a full commit ID")

        def work(reader: Reader) -> CommitInfo:
            commit = reader.commit(commit_id)
            if commit is None:
                raise CommitNotFound(
                    f"Commit {commit_id} does not exist", aws_type="CommitIdDoesNotExistException"
                )
            return reader.commit_info(commit)

        return await self._read(repo, work)

    async def commit_changes(
        self, repo: Repository, commit_id: str
    ) -> tuple[CommitInfo, list[Difference]]:
        """The commit and every file it changed from its first parent (from nothing for a
        root commit): a commit page's two reads in one trip to the repository.

        Raises InvalidCommitId (not a full id), CommitNotFound."""
        if not FULL_OID.fullmatch(commit_id):
            raise InvalidCommitId(f"{commit_id!r} is not a full commit ID")

        def work(reader: Reader) -> tuple[CommitInfo, list[Difference]]:
            commit = reader.commit(commit_id)
            if commit is None:
                raise CommitNotFound(
                    f"Commit {commit_id} does not exist", aws_type="CommitIdDoesNotExistException"
                )
            parent = reader.commit(commit.parents[0].decode()) if commit.parents else None
            return reader.commit_info(commit), differences(reader, parent, commit)

        return await self._read(repo, work)

    async def commits(
        self, repo: Repository, commit_ids: Sequence[str]
    ) -> tuple[list[CommitInfo], list[CommitLookupError]]:
        """The commits found, and an error for each id that is invalid or absent."""
        if len(commit_ids) > MAX_COMMIT_IDS:
            raise CommitIdsLimitExceeded(f"At most {MAX_COMMIT_IDS} commit IDs per call")

        def work(reader: Reader) -> tuple[list[CommitInfo], list[CommitLookupError]]:
            found, missing = [], []
            for commit_id in commit_ids:
                if not FULL_OID.fullmatch(commit_id):
                    missing.append(CommitLookupError(commit_id, "InvalidCommitIdException"))
                elif (commit := reader.commit(commit_id)) is None:
                    missing.append(CommitLookupError(commit_id, "CommitIdDoesNotExistException"))
                else:
                    found.append(reader.commit_info(commit))
            return found, missing

        return await self._read(repo, work)

    async def differences(
        self,
        repo: Repository,
        after: str,
        before: str | None = None,
        *,
        before_path: str | None = None,
        after_path: str | None = None,
    ) -> list[Difference]:
        """Every changed file from `before` (None: the empty tree) to `after`."""

        def work(reader: Reader) -> list[Difference]:
            after_commit = reader.resolve(after, repo.default_branch)
            before_commit = reader.resolve(before, repo.default_branch) if before else None
            return differences(reader, before_commit, after_commit, before_path, after_path)

        return await self._read(repo, work)

    async def file_differences(
        self, repo: Repository, after: str, before: str | None, path: str
    ) -> list[Difference]:
        """`differences` of the one file at `path` (a page showing one file's diff),
        found without comparing the rest of the trees.

        Raises:
            PathRequired, InvalidPath, CommitNotFound.
        """

        def work(reader: Reader) -> list[Difference]:
            after_commit = reader.resolve(after, repo.default_branch)
            before_commit = reader.resolve(before, repo.default_branch) if before else None
            return file_differences(reader, before_commit, after_commit, path)

        return await self._read(repo, work)

    async def file_history(
        self, repo: Repository, specifier: str | None, path: str
    ) -> list[FileVersion]:
        def work(reader: Reader) -> list[FileVersion]:
            start = reader.resolve(specifier, repo.default_branch)
            return file_history(reader, start, path, limit=MAX_HISTORY)

        return await self._read(repo, work)


class BlobReader:
    """Blobs of one open repository, each read off the event loop (one at a time: the
    `Reader` is used by one thread at once, never concurrently)."""

    def __init__(self, reader: Reader, limit: int) -> None:
        self._reader = reader
        self._limit = limit
        self._lock = asyncio.Lock()

    async def blob(self, blob_id: str) -> bytes:
        """As `Contents.blob`. Raises FileTooLarge, InvalidBlobId, BlobNotFound."""
        async with self._lock:
            return await asyncio.to_thread(self._reader.get_blob, blob_id, self._limit)

    async def apply(self, work: Callable[[Callable[[str], bytes]], T]) -> T:
        """`work(read)` off the event loop, `read` being `blob` without the hop: a file's
        two sides and what is computed from them in one trip to a thread, not three."""

        def read(blob_id: str) -> bytes:
            return self._reader.get_blob(blob_id, self._limit)

        async with self._lock:
            return await asyncio.to_thread(work, read)
