"""The pack-objects cache (uploadpack.packObjectsHook), with the real git and server.

The server of this module finds `git` through a wrapper that logs every pack-objects
run it starts (the ground truth for "one run") and can hold a run back or kill it
half-way, as `Cached.mode` says.
"""

from __future__ import annotations

import os
import shutil
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.clone_support import assert_whole, clones, delta, seed
from tests.support import Git, Server, SshIdentity

CAP = 1_000_000  # the cache's byte cap on this server

WRAPPER = """#!/bin/sh
case " $* " in
*" pack-objects "*)
    echo run >> '{control}/runs'
    case "$(cat '{control}/mode' 2>/dev/null)" in
    slow) sleep 2 ;;  # identical requests arrive while the run is held
    die) sleep 2; '{real}' "$@" | head -c 3000; kill -KILL $$ ;;  # killed half-way
    esac ;;
esac
exec '{real}' "$@"
"""


@dataclass
class Cached:
    server: Server
    control: Path

    def mode(self, mode: str) -> None:
        (self.control / "mode").write_text(mode)

    def runs(self) -> int:
        runs = self.control / "runs"
        return len(runs.read_text().splitlines()) if runs.exists() else 0

    def metrics(self) -> dict[str, float]:
        with urllib.request.urlopen(f"{self.server.base_url}/metrics", timeout=30) as answer:
            text = answer.read().decode()
        pairs = (
            line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("gitserver_pack")
        )
        return {
            name.replace('requests_total{result="', "").rstrip('"}'): float(v) for name, v in pairs
        }

    def repo(self) -> str:
        name = f"packs-{uuid.uuid4().hex[:8]}"
        self.server.cli("repo", "create", name)
        return name


@pytest.fixture(scope="module")
def cached(
    tmp_path_factory: pytest.TempPathFactory, database_factory: Callable[[Path], str]
) -> Iterator[Cached]:
    root = tmp_path_factory.mktemp("packcache")
    control, bindir, data = root / "control", root / "bin", root / "data"
    for directory in (control, bindir, data):
        directory.mkdir()
    real = shutil.which("git")
    assert real is not None
    wrapper = bindir / "git"
    wrapper.write_text(WRAPPER.format(control=control, real=real))
    wrapper.chmod(0o755)
    server = Server(
        data=data,
        database_url=database_factory(data),
        # No maintenance: its repacks would start pack-objects runs of their own. No
        # response cache: it would answer repeated clones before upload-pack (and so
        # the pack cache) sees them (test_response_cache.py has its tests).
        extra_args=[
            "--no-maintenance",
            "--no-response-cache",
            "--pack-cache-max-bytes",
            str(CAP),
        ],
        env={"PATH": f"{bindir}:{os.environ['PATH']}"},
    )
    server.start()
    yield Cached(server, control)
    server.stop()


@pytest.fixture(autouse=True)
def normal_runs(cached: Cached) -> None:
    cached.mode("")


def test_identical_concurrent_clones_share_one_pack_objects_run(
    cached: Cached, git: Git, tmp_path: Path
) -> None:
    url = cached.server.url(cached.repo())
    head = seed(git, tmp_path / "work", url)
    cached.mode("slow")
    runs, before = cached.runs(), cached.metrics()

    dests = [tmp_path / f"clone{k}.git" for k in range(4)]
    for done in clones(git, url, dests):
        assert done.returncode == 0, done.stderr
    for dest in dests:
        assert_whole(git, dest, head)
    after = cached.metrics()
    assert cached.runs() - runs == 1
    assert delta(before, after, "gitserver_pack_cache_miss") == 1
    # They arrived while the one run was held: they read the file it was writing.
    joined = delta(before, after, "gitserver_pack_cache_join")
    assert joined >= 1
    assert joined + delta(before, after, "gitserver_pack_cache_hit") == len(dests) - 1

    cached.mode("")
    clones(git, url, [tmp_path / "later.git"])
    assert_whole(git, tmp_path / "later.git", head)
    assert cached.runs() - runs == 1
    assert delta(after, cached.metrics(), "gitserver_pack_cache_hit") == 1


def test_shallow_partial_and_incremental_fetches_each_get_their_own_pack(
    cached: Cached, git: Git, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    url = cached.server.url(cached.repo())
    head = seed(git, work, url)
    full, shallow, partial = (tmp_path / n for n in ("full.git", "shallow.git", "partial.git"))
    runs = cached.runs()

    clones(git, url, [full])
    clones(git, url, [shallow], "--depth", "1")
    clones(git, url, [partial], "--filter=blob:none")
    for clone in (full, shallow, partial):
        assert_whole(git, clone, head)
    assert git("rev-list", "--count", "--all", cwd=full).stdout.strip() == "3"
    assert git("rev-list", "--count", "--all", cwd=shallow).stdout.strip() == "1"
    missing = git("rev-list", "--objects", "--all", "--missing=print", cwd=partial).stdout
    assert sum(line.startswith("?") for line in missing.splitlines()) == 3  # no blob came
    assert cached.runs() - runs == 3

    again = tmp_path / "shallow-again.git"
    clones(git, url, [again], "--depth", "1")
    assert_whole(git, again, head)
    assert cached.runs() - runs == 3  # the same shallow request: the same pack

    newer = git.commit(work, "later.txt")
    git("push", "-q", url, "main", cwd=work)
    git("fetch", "-q", "origin", "+refs/heads/*:refs/heads/*", cwd=full)
    assert_whole(git, full, newer)
    assert cached.runs() - runs == 4  # the fetch's haves made it a request of its own


def test_a_recreated_repository_never_gets_the_old_repositorys_pack(
    cached: Cached, git: Git, tmp_path: Path
) -> None:
    name = cached.repo()
    url = cached.server.url(name)
    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt")
    # On an older commit: a fetch of main does not want it, --include-tag brings it.
    git("tag", "-a", "-m", "only in the first repository", "v1", cwd=work)
    tag = git.rev_parse(work, "v1")
    head = git.commit(work, "b.txt")
    git("push", "-q", url, "main", "v1", cwd=work)

    def fetch_main(dest: Path) -> None:
        git.init(dest)
        git("remote", "add", "origin", url, cwd=dest)
        # One want (main) and --include-tag: the pack brings tags that point into it.
        git("fetch", "-q", "origin", "main:refs/remotes/origin/main", cwd=dest)

    fetch_main(tmp_path / "first")
    assert git("cat-file", "-e", tag, cwd=tmp_path / "first", check=False).returncode == 0

    cached.server.cli("repo", "delete", name)
    cached.server.cli("repo", "create", name)
    git("push", "-q", url, "main", cwd=work)  # the same commit, without the tag
    runs = cached.runs()
    second = tmp_path / "second"
    fetch_main(second)
    assert git.rev_parse(second, "refs/remotes/origin/main") == head
    # The same request as before, but another repository: the old pack (with its tag
    # object) is not served.
    assert git("cat-file", "-e", tag, cwd=second, check=False).returncode != 0
    assert cached.runs() - runs == 1
    git("fsck", "--no-progress", cwd=second)


def test_a_killed_pack_objects_run_fails_its_fetches_and_is_never_served(
    cached: Cached, git: Git, tmp_path: Path
) -> None:
    url = cached.server.url(cached.repo())
    head = seed(git, tmp_path / "work", url, size=200_000)
    cached.mode("die")
    failed = cached.metrics().get("gitserver_pack_cache_failed_runs_total", 0)

    dests = [tmp_path / f"doomed{k}.git" for k in range(3)]
    for done in clones(git, url, dests):
        assert done.returncode != 0  # every clone attached to the dying run fails
    assert not any(dest.exists() for dest in dests)  # git removed each half-made clone
    assert cached.metrics()["gitserver_pack_cache_failed_runs_total"] > failed
    assert not any(cached.server.data.glob("pack-cache/*/*.tmp"))  # no partial file left

    cached.mode("")
    runs = cached.runs()
    clones(git, url, [tmp_path / "after.git"])
    assert_whole(git, tmp_path / "after.git", head)
    assert cached.runs() - runs == 1  # made again, not read from what the killed run wrote


def test_least_recently_used_packs_are_evicted_past_the_byte_cap(
    cached: Cached, git: Git, tmp_path: Path
) -> None:
    repos = {}
    for name in ("a", "b", "c"):
        url = cached.server.url(cached.repo())
        # Two such packs fit under the cap, three do not.
        repos[name] = (
            url,
            seed(git, tmp_path / f"work-{name}", url, commits=1, size=CAP * 4 // 10),
        )
    evictions = cached.metrics().get("gitserver_pack_cache_evictions_total", 0)

    def clone(name: str) -> int:
        """Clone it; how many pack-objects runs that took."""
        url, head = repos[name]
        dest = tmp_path / f"{name}-{uuid.uuid4().hex[:6]}.git"
        runs = cached.runs()
        clones(git, url, [dest])
        assert_whole(git, dest, head)
        return cached.runs() - runs

    assert [clone("a"), clone("b"), clone("a")] == [1, 1, 0]
    assert clone("c") == 1  # over the cap: b, the least recently used, goes
    assert clone("b") == 1
    after = cached.metrics()
    assert after["gitserver_pack_cache_evictions_total"] > evictions
    assert after["gitserver_pack_cache_bytes"] <= CAP


def test_ssh_fetches_share_the_cache_too(
    server: Server, ssh_identity: SshIdentity, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    # The shared server: the cache is on by default.
    name = repo()
    head = seed(git, tmp_path / "work", server.url(name))
    git.env.update(ssh_identity.git_env())
    before = Cached(server, tmp_path).metrics()
    for dest in (tmp_path / "one.git", tmp_path / "two.git"):
        clones(git, server.ssh_url(name), [dest])
        assert_whole(git, dest, head)
    after = Cached(server, tmp_path).metrics()
    assert delta(before, after, "gitserver_pack_cache_miss") == 1
    assert delta(before, after, "gitserver_pack_cache_hit") == 1
