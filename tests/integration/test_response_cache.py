"""The upload-pack response cache (HTTP clone storms), with the real git, server and HTTP.

The server of this module finds `git` through a wrapper that logs every upload-pack
run that answers a POST (not the ref advertisements): the ground truth for "one run".
In `slow` mode each run is held back, so that concurrent clones arrive while it runs;
in `linger` mode git writes its whole answer and then outlives the server's timeout.
"""

from __future__ import annotations

import base64
import concurrent.futures
import gzip
import http.client
import os
import shutil
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.clone_support import assert_whole, clone_ok, clones, delta, seed
from tests.support import Git, Server, http_request

GIT_TIMEOUT = 15.0  # the lingering server's git_timeout

WRAPPER = """#!/bin/sh
case " $* " in
*" --advertise-refs "*) ;;
*" upload-pack "*)
    echo run >> '{control}/runs'
    case "$(cat '{control}/mode' 2>/dev/null)" in
    slow) sleep 2 ;;  # identical requests arrive while the run is held
    linger) '{real}' "$@"; sleep 30; exit 0 ;;  # the whole answer, then past the timeout
    esac ;;
esac
exec '{real}' "$@"
"""
UPLOAD_TYPE = "application/x-git-upload-pack-request"


@dataclass
class Responses:
    server: Server
    control: Path

    def mode(self, mode: str) -> None:
        (self.control / "mode").write_text(mode)

    def runs(self) -> int:
        runs = self.control / "runs"
        return len(runs.read_text().splitlines()) if runs.exists() else 0

    def metrics(self, cache: str = "response") -> dict[str, float]:
        """A cache's counters (the response cache's, or the refs cache's): miss, join,
        hit, failed_runs_total, ..."""
        with urllib.request.urlopen(f"{self.server.base_url}/metrics", timeout=30) as answer:
            text = answer.read().decode()
        prefix = f"gitserver_{cache}_cache_"
        pairs = (line.rsplit(" ", 1) for line in text.splitlines() if line.startswith(prefix))
        return {
            name[len(prefix) :].replace('requests_total{result="', "").rstrip('"}'): float(v)
            for name, v in pairs
        }

    def repo(self) -> str:
        name = f"responses-{uuid.uuid4().hex[:8]}"
        self.server.cli("repo", "create", name)
        return name


def start_server(root: Path, database_factory: Callable[[Path], str], *extra: str) -> Responses:
    control, bindir, data = root / "control", root / "bin", root / "data"
    for directory in (control, bindir, data):
        directory.mkdir(parents=True)
    real = shutil.which("git")
    assert real is not None
    wrapper = bindir / "git"
    wrapper.write_text(WRAPPER.format(control=control, real=real))
    wrapper.chmod(0o755)
    server = Server(
        data=data,
        database_url=database_factory(data),
        extra_args=["--no-maintenance", "--no-ssh", *extra],
        env={"PATH": f"{bindir}:{os.environ['PATH']}"},
    )
    server.start()
    return Responses(server, control)


@pytest.fixture(scope="module")
def responses(
    tmp_path_factory: pytest.TempPathFactory, database_factory: Callable[[Path], str]
) -> Iterator[Responses]:
    started = start_server(tmp_path_factory.mktemp("responses"), database_factory)
    yield started
    started.server.stop()


@pytest.fixture(autouse=True)
def normal_runs(responses: Responses) -> None:
    responses.mode("")


def test_concurrent_clones_of_a_new_commit_share_one_upload_pack_run(
    responses: Responses, git: Git, tmp_path: Path
) -> None:
    url = responses.server.url(responses.repo())
    head = seed(git, tmp_path / "work", url)
    responses.mode("slow")
    before = responses.metrics()

    # Protocol v0: each clone is one advertisement and one cacheable POST.
    dests = [tmp_path / f"clone{k}.git" for k in range(5)]
    runs = responses.runs()
    for done in clones(git, url, dests, protocol="0"):
        assert done.returncode == 0, done.stderr
    for dest in dests:
        assert_whole(git, dest, head)
    after = responses.metrics()
    assert responses.runs() - runs == 1
    assert delta(before, after, "miss") == 1
    joined = delta(before, after, "join")
    assert joined >= 1  # they arrived while the one run was held
    assert joined + delta(before, after, "hit") == len(dests) - 1

    responses.mode("")
    clone_ok(git, url, tmp_path / "later.git", protocol="0")
    assert_whole(git, tmp_path / "later.git", head)
    assert responses.runs() - runs == 1
    assert delta(after, responses.metrics(), "hit") == 1


def test_protocol_v2_caches_the_fetch_ls_refs_and_advertisement(
    responses: Responses, git: Git, tmp_path: Path
) -> None:
    url = responses.server.url(responses.repo())
    head = seed(git, tmp_path / "work", url)
    runs, before = responses.runs(), responses.metrics()
    refs_before = responses.metrics("refs")
    for k in range(3):
        clone_ok(git, url, tmp_path / f"v2-{k}.git", protocol="2")
        assert_whole(git, tmp_path / f"v2-{k}.git", head)
    # One ls-refs run and one fetch run for the three clones.
    assert responses.runs() - runs == 1 + 1
    after = responses.metrics()
    assert (delta(before, after, "miss"), delta(before, after, "hit")) == (1, 2)
    refs = responses.metrics("refs")
    # Each clone: the advertisement and ls-refs; the first of each kind a miss.
    assert (delta(refs_before, refs, "miss"), delta(refs_before, refs, "hit")) == (2, 4)

    # The same clone in protocol v0 is other requests: their own runs, then cached.
    clone_ok(git, url, tmp_path / "v0-a.git", protocol="0")
    clone_ok(git, url, tmp_path / "v0-b.git", protocol="0")
    assert_whole(git, tmp_path / "v0-b.git", head)
    assert responses.runs() - runs == 2 + 1
    v0 = responses.metrics("refs")
    assert (delta(refs, v0, "miss"), delta(refs, v0, "hit")) == (1, 1)


def test_a_push_then_a_clone_gets_the_new_commit(
    responses: Responses, git: Git, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    url = responses.server.url(responses.repo())
    head = seed(git, work, url)

    def fetch_main(dest: Path) -> None:
        git.init(dest)
        git("remote", "add", "origin", url, cwd=dest)
        # One want (main) and include-tag: the pack brings tags that point into it.
        git("fetch", "-q", "origin", "main:refs/remotes/origin/main", cwd=dest)
        assert git.rev_parse(dest, "refs/remotes/origin/main") == head

    fetch_main(tmp_path / "before")
    fetch_main(tmp_path / "before-again")
    misses = responses.metrics()["miss"]
    # A tag pushed on main's commit: the fetch sends the very same bytes, and only the
    # new ref_version keeps the old answer (without the tag object) from being served.
    git("tag", "-a", "-m", "annotated", "v1", cwd=work)
    git("push", "-q", url, "v1", cwd=work)
    tag = git.rev_parse(work, "v1")
    after_tag = tmp_path / "after-tag"
    fetch_main(after_tag)
    assert git("cat-file", "-e", tag, cwd=after_tag).returncode == 0
    assert responses.metrics()["miss"] == misses + 1

    newer = git.commit(work, "later.txt")
    git("push", "-q", url, "main", cwd=work)
    for k in range(2):
        clone_ok(git, url, tmp_path / f"after{k}.git")
        assert_whole(git, tmp_path / f"after{k}.git", newer)


def test_shallow_clones_are_cached_apart_from_full_ones(
    responses: Responses, git: Git, tmp_path: Path
) -> None:
    url = responses.server.url(responses.repo())
    head = seed(git, tmp_path / "work", url)
    before = responses.metrics()
    for k in range(2):
        clone_ok(git, url, tmp_path / f"shallow{k}.git", "--depth", "1")
        assert_whole(git, tmp_path / f"shallow{k}.git", head)
        count = git("rev-list", "--count", "--all", cwd=tmp_path / f"shallow{k}.git").stdout
        assert count.strip() == "1"
    clone_ok(git, url, tmp_path / "full.git")
    assert git("rev-list", "--count", "--all", cwd=tmp_path / "full.git").stdout.strip() == "3"
    after = responses.metrics()
    assert (delta(before, after, "miss"), delta(before, after, "hit")) == (2, 1)


def test_a_fetch_with_haves_is_never_served_from_the_cache(
    responses: Responses, git: Git, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    url = responses.server.url(responses.repo())
    seed(git, work, url)
    behind = [tmp_path / "a.git", tmp_path / "b.git"]
    for dest in behind:
        clone_ok(git, url, dest)
    newer = git.commit(work, "later.txt")
    git("push", "-q", url, "main", cwd=work)
    runs, before = responses.runs(), responses.metrics()
    for dest in behind:  # the very same request twice: the same haves
        git("fetch", "-q", "origin", "+refs/heads/*:refs/heads/*", cwd=dest)
        assert_whole(git, dest, newer)
    after = responses.metrics()
    for source in ("miss", "join", "hit"):
        assert delta(before, after, source) == 0
    assert responses.runs() - runs == 1 + 2  # ls-refs once (then cached), each fetch


def test_a_request_git_fails_is_answered_by_git_and_never_cached(
    responses: Responses, git: Git, tmp_path: Path
) -> None:
    name = responses.repo()
    seed(git, tmp_path / "work", responses.server.url(name))
    unknown = "1" * 40
    body = b"0032want " + unknown.encode() + b"\n" + b"0000" + b"0009done\n"
    runs, before = responses.runs(), responses.metrics()
    answers = [
        http_request(
            responses.server,
            "POST",
            f"/v1/repos/{name}/git-upload-pack",
            body,
            {"Content-Type": UPLOAD_TYPE},
        )
        for _ in range(2)
    ]
    for status, _, answer in answers:
        # git's own refusal, whole, as without the cache (or a 400 if it said nothing).
        assert status == 400 or b"not our ref" in answer, (status, answer)
    assert responses.runs() - runs == 2
    after = responses.metrics()
    assert delta(before, after, "miss") == 2
    assert delta(before, after, "failed_runs_total") == 2
    assert after["entries"] == before["entries"]


def test_a_gzipped_request_is_cached_like_any_other(
    responses: Responses, git: Git, tmp_path: Path
) -> None:
    name = responses.repo()
    head = seed(git, tmp_path / "work", responses.server.url(name))
    request = f"0032want {head}\n".encode() + b"0000" + b"0009done\n"
    before = responses.metrics()
    answers = [
        http_request(
            responses.server,
            "POST",
            f"/v1/repos/{name}/git-upload-pack",
            gzip.compress(request),
            {"Content-Type": UPLOAD_TYPE, "Content-Encoding": "gzip"},
        )
        for _ in range(2)
    ]
    assert [status for status, _, _ in answers] == [200, 200]
    assert answers[0][2] == answers[1][2]
    assert answers[0][2].startswith(b"0008NAK\nPACK")
    assert answers[0][1]["Content-Type"] == "application/x-git-upload-pack-result"
    assert answers[0][1]["Cache-Control"].startswith("no-cache")
    after = responses.metrics()
    assert (delta(before, after, "miss"), delta(before, after, "hit")) == (1, 1)


def test_an_unauthorized_request_never_reaches_the_cache(
    responses: Responses, git: Git, tmp_path: Path
) -> None:
    server = responses.server
    name = responses.repo()
    head = seed(git, tmp_path / "work", server.url(name))
    outsider = f"outsider-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", outsider)
    cred = server.cli("credential", "create", outsider)
    clone_ok(git, server.url(name), tmp_path / "admin.git", protocol="0")
    request = f"0032want {head}\n".encode() + b"0000" + b"0009done\n"
    path = f"/v1/repos/{name}/git-upload-pack"
    status, _, answer = http_request(server, "POST", path, request, {"Content-Type": UPLOAD_TYPE})
    assert status == 200 and b"PACK" in answer  # the admin's request is cached...
    runs, before = responses.runs(), responses.metrics()
    hits = before["hit"]

    for protocol in ("0", "2"):
        denied = clones(
            git,
            server.url(name, cred["username"], cred["password"]),
            [tmp_path / f"no{protocol}.git"],
            protocol=protocol,
        )[0]
        assert denied.returncode != 0
        assert "403" in denied.stderr
    for password in ("wrong", None):
        if password is None:
            # ...but the outsider's identical request is refused first.
            token = base64.b64encode(f"{cred['username']}:{cred['password']}".encode()).decode()
            headers = {"Content-Type": UPLOAD_TYPE, "Authorization": f"Basic {token}"}
            status, _, answer = http_request(server, "POST", path, request, headers)
            assert status == 403, answer
        else:
            status, _, answer = http_request(
                server, "POST", path, request, {"Content-Type": UPLOAD_TYPE}, password=password
            )
            assert status == 401, answer
        assert b"PACK" not in answer
    after = responses.metrics()
    assert after["hit"] == hits
    assert delta(before, after, "miss") + delta(before, after, "join") == 0
    assert responses.runs() == runs


def test_the_pack_and_response_caches_keep_at_most_the_cap_together(
    tmp_path: Path, database_factory: Callable[[Path], str], git: Git
) -> None:
    """A clone's pack and its response do not both fit under `pack_cache_max_bytes`:
    the pack goes, and the response serves the next clone without running git."""
    cap = 4 * 1024 * 1024
    small = start_server(tmp_path / "server", database_factory, "--pack-cache-max-bytes", str(cap))
    try:
        url = small.server.url(small.repo())
        head = seed(git, tmp_path / "work", url, commits=1, size=cap * 6 // 10)
        first, second = tmp_path / "first.git", tmp_path / "second.git"
        clones(git, url, [first])
        runs = small.runs()
        clones(git, url, [second])
        for dest in (first, second):
            assert_whole(git, dest, head)
        assert small.runs() == runs, "the second clone is answered from the response cache"
        kept = sum(small.metrics(cache)["bytes"] for cache in ("pack", "response", "refs"))
        assert cap * 6 // 10 < kept <= cap
        assert small.metrics("pack")["evictions_total"] == 1
    finally:
        small.server.stop()


def test_a_run_cut_by_the_timeout_is_never_passed_off_as_whole(
    tmp_path: Path, database_factory: Callable[[Path], str], git: Git
) -> None:
    lingering = start_server(
        tmp_path / "server", database_factory, "--git-timeout", str(GIT_TIMEOUT)
    )
    try:
        name = lingering.repo()
        head = seed(git, tmp_path / "work", lingering.server.url(name))
        lingering.mode("linger")
        request = f"0032want {head}\n".encode() + b"0000" + b"0009done\n"

        def fetch() -> None:
            http_request(
                lingering.server,
                "POST",
                f"/v1/repos/{name}/git-upload-pack",
                request,
                {"Content-Type": UPLOAD_TYPE},
            )

        # Every byte git wrote arrives, but not the end of the chunked body: the first
        # request's own timeout ends it; the second, which joined later, is cut when
        # the run is (its own timeout is further off). Neither may look whole.
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            first = pool.submit(fetch)
            time.sleep(GIT_TIMEOUT / 3)
            second = pool.submit(fetch)
            for future in (first, second):
                with pytest.raises(http.client.IncompleteRead):
                    future.result(timeout=120)
        assert lingering.runs() == 1
        after = lingering.metrics()
        assert after["failed_runs_total"] == 1
        assert after["entries"] == 0
    finally:
        lingering.server.stop()
