"""The pack-objects cache's logic, with scripted runs instead of git."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Coroutine
from pathlib import Path
from typing import Any

from gitserver.transport.packcache import (
    Budget,
    Pack,
    PackCache,
    PackFailed,
    Source,
    metrics_text,
)


class Run:
    """A scripted pack-objects run: yields its chunks when `step()` lets it."""

    def __init__(self, chunks: list[bytes], *, fail_after: int | None = None) -> None:
        self.chunks = chunks
        self.fail_after = fail_after
        self.started = 0
        self.closed = 0
        self.gate = asyncio.Semaphore(0)

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self.gate.release()

    def run_freely(self) -> None:
        self.step(len(self.chunks) + 1)

    async def __call__(self) -> AsyncGenerator[bytes, None]:
        self.started += 1
        try:
            for index, chunk in enumerate(self.chunks):
                if index == self.fail_after:
                    raise PackFailed("pack-objects exited 128")
                await self.gate.acquire()
                yield chunk
        finally:
            self.closed += 1


async def read_all(pack: Pack) -> bytes:
    data = b""
    async for offset, count in pack.spans():
        pack.file.seek(offset)
        data += pack.file.read(count)
    return data


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(main())


def test_identical_requests_share_one_run_and_each_gets_the_whole_pack(tmp_path: Path) -> None:
    async def main() -> None:
        cache = PackCache(tmp_path, max_bytes=1 << 20, max_age=60)
        script = Run([b"PACK", b"-middle-", b"-end"])

        async def request() -> tuple[Source, bytes]:
            async with cache.open("k", script) as pack:
                return pack.source, await read_all(pack)

        first = asyncio.create_task(request())
        await asyncio.sleep(0)
        script.step()  # the first chunk is written before the others arrive
        await asyncio.sleep(0.01)
        joiners = [asyncio.create_task(request()) for _ in range(3)]
        await asyncio.sleep(0.01)
        script.run_freely()
        results = await asyncio.gather(first, *joiners)
        async with cache.open("k", script) as pack:
            later = pack.source, await read_all(pack)

        assert script.started == 1
        assert [source for source, _ in results] == [Source.MISS] + [Source.JOIN] * 3
        assert {data for _, data in results} == {b"PACK-middle--end"}
        assert later == (Source.HIT, b"PACK-middle--end")
        assert [p.name for p in tmp_path.iterdir()] == ["k.pack"]
        assert cache.stats.requests == {Source.HIT: 1, Source.JOIN: 3, Source.MISS: 1}

    run(main)


def test_a_failed_run_fails_every_reader_and_leaves_nothing(tmp_path: Path) -> None:
    async def main() -> None:
        cache = PackCache(tmp_path, max_bytes=1 << 20, max_age=60)
        failing = Run([b"PACK", b"more", b"never"], fail_after=2)

        async def request() -> bytes:
            async with cache.open("k", failing) as pack:
                return await read_all(pack)

        readers = [asyncio.create_task(request()) for _ in range(3)]
        await asyncio.sleep(0.01)
        failing.run_freely()
        results = await asyncio.gather(*readers, return_exceptions=True)
        assert all(isinstance(r, PackFailed) for r in results), results
        assert list(tmp_path.iterdir()) == []
        assert len(cache) == 0 and cache.bytes == 0
        assert cache.stats.runs_failed == 1

        good = Run([b"PACK", b"whole"])
        good.run_freely()
        async with cache.open("k", good) as pack:
            assert (pack.source, await read_all(pack)) == (Source.MISS, b"PACKwhole")

    run(main)


class GitSaidNo(PackFailed):
    """A run's own kind of failure."""


def test_readers_get_the_runs_own_kind_of_failure_after_all_it_wrote(tmp_path: Path) -> None:
    async def main() -> None:
        cache = PackCache(tmp_path, max_bytes=1 << 20, max_age=60)

        async def refusal() -> AsyncGenerator[bytes, None]:
            yield b"ERR not our ref"
            raise GitSaidNo("git exited 128")

        async with cache.open("k", refusal) as pack:
            data = b""
            try:
                async for offset, count in pack.spans():
                    pack.file.seek(offset)
                    data += pack.file.read(count)
            except GitSaidNo:
                pass
            else:
                raise AssertionError("the failure was not raised")
        assert data == b"ERR not our ref"
        assert len(cache) == 0 and cache.stats.runs_failed == 1

    run(main)


def test_a_run_whose_readers_all_left_is_stopped_and_not_kept(tmp_path: Path) -> None:
    async def main() -> None:
        cache = PackCache(tmp_path, max_bytes=1 << 20, max_age=60)
        script = Run([b"PACK", b"rest"])
        async with cache.open("k", script) as pack:
            script.step()
            await asyncio.sleep(0.01)
            assert pack.source is Source.MISS
        await asyncio.sleep(0.01)
        assert script.closed == 1  # the run's generator was closed: git is killed there
        assert list(tmp_path.iterdir()) == [] and len(cache) == 0

    run(main)


def test_the_least_recently_used_packs_go_first_past_the_size_cap(tmp_path: Path) -> None:
    async def main() -> None:
        cache = PackCache(tmp_path, max_bytes=250, max_age=60)

        async def fetch(key: str, size: int = 100) -> Source:
            script = Run([b"x" * size])
            script.run_freely()
            async with cache.open(key, script) as pack:
                await read_all(pack)
                return pack.source

        assert await fetch("a") is Source.MISS
        assert await fetch("b") is Source.MISS
        assert await fetch("a") is Source.HIT  # a is now the most recently used
        assert await fetch("c") is Source.MISS  # 300 bytes > 250: b goes
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pack", "c.pack"]
        assert await fetch("b") is Source.MISS
        assert cache.bytes <= 250 and cache.stats.evictions >= 2
        # Larger than the whole cache: streamed whole, never kept.
        assert await fetch("huge", 400) is Source.MISS
        assert await fetch("huge", 400) is Source.MISS
        assert "huge.pack" not in {p.name for p in tmp_path.iterdir()}

    run(main)


def test_caches_sharing_a_budget_keep_at_most_its_bytes_together(tmp_path: Path) -> None:
    """The pack and response caches share `pack_cache_max_bytes`: filling one evicts the
    least recently used entry of either, and nothing larger than the budget is kept."""

    async def main() -> None:
        now = [0.0]
        budget = Budget(250)
        packs, responses = (
            PackCache(tmp_path / name, max_age=60, budget=budget, clock=lambda: now[0])
            for name in ("packs", "responses")
        )
        for cache in (packs, responses):
            cache.root.mkdir()

        async def fetch(cache: PackCache, key: str, size: int = 100) -> Source:
            now[0] += 1
            script = Run([b"x" * size])
            script.run_freely()
            async with cache.open(key, script) as pack:
                await read_all(pack)
                return pack.source

        def kept() -> list[str]:
            return sorted(f"{p.parent.name}/{p.name}" for p in tmp_path.glob("*/*.pack"))

        assert await fetch(packs, "a") is Source.MISS
        assert await fetch(responses, "b") is Source.MISS
        assert await fetch(packs, "a") is Source.HIT  # b is now the least recently used
        assert await fetch(packs, "c") is Source.MISS  # 300 bytes > 250: b goes
        assert kept() == ["packs/a.pack", "packs/c.pack"]
        assert responses.stats.evictions == 1 and packs.stats.evictions == 0
        assert await fetch(responses, "d") is Source.MISS  # a goes, then c is oldest
        assert kept() == ["packs/c.pack", "responses/d.pack"]
        assert budget.used == packs.bytes + responses.bytes == 200
        # Larger than the budget: streamed, never kept.
        big = PackCache(tmp_path / "big", max_age=60, budget=budget)
        big.root.mkdir()
        assert await fetch(big, "huge", 400) is Source.MISS
        assert "huge.pack" not in {p.name for p in tmp_path.glob("*/*")}
        assert budget.used <= 250

    run(main)


def test_packs_expire_after_max_age(tmp_path: Path) -> None:
    async def main() -> None:
        now = [1000.0]
        cache = PackCache(tmp_path, max_bytes=1 << 20, max_age=60, clock=lambda: now[0])

        async def fetch() -> Source:
            script = Run([b"PACK"])
            script.run_freely()
            async with cache.open("k", script) as pack:
                await read_all(pack)
                return pack.source

        assert await fetch() is Source.MISS
        now[0] += 59
        assert await fetch() is Source.HIT
        now[0] += 2
        cache.sweep()  # what the server's periodic sweep does while nobody fetches
        assert list(tmp_path.iterdir()) == []
        assert await fetch() is Source.MISS

    run(main)


def test_an_evicted_pack_still_reaches_its_reader(tmp_path: Path) -> None:
    async def main() -> None:
        cache = PackCache(tmp_path, max_bytes=150, max_age=60)
        first = Run([b"a" * 100])
        first.run_freely()
        async with cache.open("a", first) as pack:
            await read_all(pack)
        async with cache.open("a", first) as reading:
            other = Run([b"b" * 100])
            other.run_freely()
            async with cache.open("b", other) as pack:
                await read_all(pack)  # a is evicted (unlinked) while `reading` has it open
            assert not (tmp_path / "a.pack").exists()
            assert await read_all(reading) == b"a" * 100

    run(main)


def test_reset_empties_the_directory_and_dead_servers_caches(tmp_path: Path) -> None:
    own, dead = tmp_path / "4000001", tmp_path / "4000002"
    for directory in (own, dead):
        directory.mkdir()
        (directory / "k.pack").write_bytes(b"old")
    PackCache(own, max_bytes=1, max_age=1).reset()
    assert list(own.iterdir()) == []
    assert not dead.exists()  # no process 4000002 (beyond any pid_max)


def test_metrics_text_names_every_counter(tmp_path: Path) -> None:
    text = metrics_text(PackCache(tmp_path, max_bytes=1, max_age=1))
    for name in (
        'gitserver_pack_cache_requests_total{result="miss"} 0',
        "gitserver_pack_cache_failed_runs_total 0",
        "gitserver_pack_cache_evictions_total 0",
        "gitserver_pack_cache_bytes 0",
    ):
        assert name in text
