"""Kept readers (`content.readers`): a reused open repository sees every push, repack and
ref packing made after it was opened, and is never lent to two users at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from gitserver.content.errors import FileNotFound
from gitserver.content.reader import Reader
from gitserver.content.readers import Readers
from tests.support import Git

LIMIT = 1 << 20


def _bare(git: Git, tmp_path: Path) -> tuple[Path, Path]:
    work = git.init(tmp_path / "work")
    git.commit(work, "README.md", "one\n")
    bare = tmp_path / "repo.git"
    git("clone", "-q", "--bare", str(work), str(bare))
    git("remote", "add", "origin", str(bare), cwd=work)
    return work, bare


def _readme(readers: Readers, bare: Path) -> tuple[str, bytes]:
    with readers.lend(bare) as reader:
        found = reader.get_file(reader.resolve(None, "main"), "README.md", LIMIT)
        return found.commit_id, found.content


def test_a_kept_reader_sees_pushes_repacks_and_packed_refs(git: Git, tmp_path: Path) -> None:
    work, bare = _bare(git, tmp_path)
    readers = Readers()
    first, content = _readme(readers, bare)
    assert content == b"one\n"
    with readers.lend(bare) as reader:
        kept = reader

    second = git.commit(work, "README.md", "two\n")
    git("push", "-q", "origin", "main", cwd=work)  # a loose ref and new objects
    with readers.lend(bare) as reader:
        assert reader is kept, "the idle reader is reused"
    assert _readme(readers, bare) == (second, b"two\n")

    git("--git-dir", str(bare), "gc", "-q", "--prune=now")  # one new pack, refs packed
    assert _readme(readers, bare) == (second, b"two\n")
    third = git.commit(work, "README.md", "three\n")
    git("push", "-q", "origin", "main", cwd=work)
    git("--git-dir", str(bare), "repack", "-adq")  # the pack the reader read is deleted
    git("--git-dir", str(bare), "pack-refs", "--all")
    assert _readme(readers, bare) == (third, b"three\n")
    with readers.lend(bare) as reader:
        assert reader is kept
    assert first != second
    readers.close()


def test_readers_are_lent_to_one_user_at_a_time(git: Git, tmp_path: Path) -> None:
    _, bare = _bare(git, tmp_path)
    readers = Readers(per_repository=2)
    lent: list[Reader] = []
    started = threading.Barrier(3)

    def borrow() -> None:
        with readers.lend(bare) as reader:
            lent.append(reader)
            started.wait(timeout=10)

    threads = [threading.Thread(target=borrow) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len({id(reader) for reader in lent}) == 3, "three at once: three readers"
    with readers.lend(bare) as a, readers.lend(bare) as b, readers.lend(bare) as c:
        kept = {id(a), id(b), id(c)} & {id(reader) for reader in lent}
        assert len(kept) == 2, "at most per_repository idle readers were kept"
    readers.close()


def test_old_readers_are_closed_and_errors_decide_what_is_kept(git: Git, tmp_path: Path) -> None:
    _, bare = _bare(git, tmp_path)
    readers = Readers(max_age=0.05)
    with readers.lend(bare) as first:
        pass
    time.sleep(0.1)
    with readers.lend(bare) as second:
        assert second is not first, "past max_age a reader is opened again"

    readers = Readers()
    with pytest.raises(FileNotFound), readers.lend(bare) as reader:
        kept = reader
        reader.get_file(reader.resolve(None, "main"), "missing.txt", LIMIT)
    with readers.lend(bare) as reader:
        assert reader is kept, "a domain error leaves the reader sound"
    with pytest.raises(OSError), readers.lend(bare) as reader:
        raise OSError("cut mid-read")
    with readers.lend(bare) as reader:
        assert reader is not kept, "any other error closes it"
    readers.close()


def test_a_read_whose_kept_reader_lost_a_pack_runs_again_on_a_new_one(
    git: Git, tmp_path: Path
) -> None:
    # Maintenance can delete a pack a kept reader listed but never opened the index of:
    # dulwich then raises PackFileDisappeared (a 500 in the web UI's blob page, seen in
    # the authorization matrix). The read is run again on a reader opened now.
    import asyncio

    from dulwich.pack import PackFileDisappeared

    from gitserver.content.service import Contents
    from gitserver.db import Repository

    _, bare = _bare(git, tmp_path)
    readers = Readers()
    store = type("Store", (), {"path": staticmethod(lambda _id: bare)})()
    contents = Contents(store, LIMIT, readers)  # type: ignore[arg-type]
    with readers.lend(bare) as reader:
        kept = reader
    used: list[Reader] = []

    def work(reader: Reader) -> bytes:
        used.append(reader)
        if reader is kept:
            raise PackFileDisappeared(None)
        return reader.get_file(reader.resolve(None, "main"), "README.md", LIMIT).content

    assert asyncio.run(contents._read(Repository(id="r"), work)) == b"one\n"
    assert used[0] is kept and used[1] is not kept
    with readers.lend(bare) as reader:
        assert reader is not kept, "the reader that failed is not kept"
    readers.close()


def test_a_ref_listing_never_misses_a_ref_that_git_is_packing(git: Git, tmp_path: Path) -> None:
    """`pack-refs` writes packed-refs, then deletes the loose files: a listing that read
    packed-refs before the write and the folder after the delete would lose branches.
    Here branches are only ever added, so each listing holds every branch of the one
    before it."""
    work, bare = _bare(git, tmp_path)
    head = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    stop = threading.Event()
    cycles = 0

    def churn() -> None:
        nonlocal cycles
        while not stop.is_set() and cycles < 300:
            batch = "".join(f"create refs/heads/c{cycles}-{i} {head}\n" for i in range(5))
            git("--git-dir", str(bare), "update-ref", "--stdin", input=batch.encode())  # loose
            git("--git-dir", str(bare), "pack-refs", "--all")
            cycles += 1

    packer = threading.Thread(target=churn)
    packer.start()
    reader = Reader(bare)
    seen: set[str] = set()
    lost: list[str] = []
    try:
        while cycles < 40:
            listed = set(reader.refs())
            lost += sorted(seen - listed)
            seen = listed
    finally:
        stop.set()
        packer.join()
        reader.close()
    assert lost == []


def test_a_reader_open_across_a_repack_still_reads_blobs(git: Git, tmp_path: Path) -> None:
    """A page's diff reads blobs on one reader for a while; maintenance may delete the
    pack the reader listed before it loaded that pack's index (a 500 once, under load)."""
    work, bare = _bare(git, tmp_path)
    blob = git("rev-parse", "HEAD:README.md", cwd=work).stdout.strip()
    git("--git-dir", str(bare), "repack", "-adq")
    reader = Reader(bare)
    try:
        assert reader.repo.object_store.packs, "the reader lists the pack, index not loaded"
        git.commit(work, "other.txt", "two\n")
        git("push", "-q", "origin", "main", cwd=work)
        git("--git-dir", str(bare), "repack", "-adq")  # the listed pack is deleted
        assert reader.blob(blob.encode(), LIMIT) == b"one\n"
    finally:
        reader.close()
