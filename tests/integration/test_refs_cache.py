"""The refs cache (advertisements and `ls-refs` from the response cache) never serves a
stale listing, and finished answers sent by sendfile arrive whole; real git and server.

The truth for every listing is git itself reading the repository on disk (`file://`),
in the same protocol version: what our HTTP answer must equal after every change.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from botocore.client import BaseClient

from tests.api_support import client_for
from tests.clone_support import assert_whole, clone_ok, delta
from tests.integration.test_clients import _self_signed
from tests.integration.test_response_cache import UPLOAD_TYPE, Responses, start_server
from tests.support import Git, http_request

PROTOCOLS = ("2", "0")


@pytest.fixture(scope="module")
def responses(
    tmp_path_factory: pytest.TempPathFactory, database_factory: Callable[[Path], str]
) -> Iterator[Responses]:
    started = start_server(tmp_path_factory.mktemp("refs"), database_factory)
    yield started
    started.server.stop()


@pytest.fixture(scope="module")
def cc(responses: Responses) -> BaseClient:
    return client_for(responses.server, "refs-cache-admin", admin=True)


def create(responses: Responses, name: str) -> Path:
    return Path(responses.server.cli("repo", "create", name)["path"])


def ls_remote(git: Git, url: str, protocol: str, cwd: Path) -> str:
    argv = ("-c", f"protocol.version={protocol}", "ls-remote", "--symref", url)
    return git(*argv, cwd=cwd).stdout


def assert_listings_true(responses: Responses, git: Git, name: str, path: Path) -> str:
    """Each protocol's listing over HTTP, asked twice (the second from the cache), is
    git's own listing of the repository on disk. Returns the v2 listing."""
    url = responses.server.url(name)
    listings = {}
    for protocol in PROTOCOLS:
        truth = ls_remote(git, f"file://{path}", protocol, path.parent)
        for _ in range(2):
            assert ls_remote(git, url, protocol, path.parent) == truth, protocol
        listings[protocol] = truth
    return listings["2"]


def push(git: Git, work: Path, url: str, *refspecs: str) -> None:
    git("push", "-q", url, *refspecs, cwd=work)


def test_listings_follow_pushes_default_branch_changes_and_recreation(
    responses: Responses, git: Git, cc: BaseClient, tmp_path: Path
) -> None:
    name = f"refs-{uuid.uuid4().hex[:8]}"
    url = responses.server.url(name)
    path = create(responses, name)
    before = responses.metrics("refs")
    assert_listings_true(responses, git, name, path)  # empty, HEAD unborn

    work = git.init(tmp_path / "work")
    first = git.commit(work, "a.txt")
    push(git, work, url, "main")
    assert first in assert_listings_true(responses, git, name, path)

    git("checkout", "-q", "-b", "dev", cwd=work)
    dev = git.commit(work, "b.txt")
    push(git, work, url, "dev")
    assert f"{dev}\trefs/heads/dev" in assert_listings_true(responses, git, name, path)

    # HEAD moves without a ref moving; then back, which must not revive the old answer.
    for branch in ("dev", "main"):
        cc.update_default_branch(repositoryName=name, defaultBranchName=branch)
        listing = assert_listings_true(responses, git, name, path)
        assert f"ref: refs/heads/{branch}\tHEAD" in listing

    git("checkout", "-q", "main", cwd=work)
    newer = git.commit(work, "c.txt")
    push(git, work, url, "main")
    assert f"{newer}\trefs/heads/main" in assert_listings_true(responses, git, name, path)
    git("tag", "v1", cwd=work)
    push(git, work, url, "v1")
    assert "refs/tags/v1" in assert_listings_true(responses, git, name, path)

    # The same name again: another repository, whose listing shares nothing with the old.
    responses.server.cli("repo", "delete", name)
    path = create(responses, name)
    other = git.init(tmp_path / "other", branch="trunk")
    recreated = git.commit(other, "x.txt")
    push(git, other, url, "trunk")
    listing = assert_listings_true(responses, git, name, path)
    assert recreated in listing and newer not in listing and "refs/heads/trunk" in listing

    after = responses.metrics("refs")
    # 8 states: each made its own v0 advertisement and v2 ls-refs (misses), and asked
    # each again (hits: the v0 advertisement, the v2 advertisement and ls-refs); the v2
    # advertisement was made once per repository and then survived 6 changes (hits).
    states = 8
    assert delta(before, after, "miss") == states * 2 + 2
    assert delta(before, after, "hit") == states * 3 + 6


def test_the_v2_advertisement_outlives_a_push_but_ls_refs_does_not(
    responses: Responses, git: Git, tmp_path: Path
) -> None:
    name = f"refs-{uuid.uuid4().hex[:8]}"
    url = responses.server.url(name)
    path = create(responses, name)
    work = git.init(tmp_path / "work")
    git.commit(work)
    push(git, work, url, "main")
    assert_listings_true(responses, git, name, path)
    newer = git.commit(work)
    push(git, work, url, "main")
    runs, before = responses.runs(), responses.metrics("refs")
    assert newer in ls_remote(git, url, "2", tmp_path)
    after = responses.metrics("refs")
    # The advertisement from the cache, the ls-refs a new run.
    assert (delta(before, after, "hit"), delta(before, after, "miss")) == (1, 1)
    assert responses.runs() - runs == 1


def push_large(git: Git, work: Path, url: str, env: dict[str, str] | None = None) -> str:
    """A commit with 3 MiB of random bytes: its pack, and so every answer that carries
    it, is well past the sendfile threshold."""
    git.init(work)
    (work / "blob.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    git("add", "blob.bin", cwd=work)
    git("commit", "-q", "-m", "blob", cwd=work)
    git("push", "-q", url, "main", cwd=work, env=env)
    return git.rev_parse(work, "HEAD")


def test_a_large_finished_answer_is_sent_whole_with_its_length(
    responses: Responses, git: Git, tmp_path: Path
) -> None:
    name = f"refs-{uuid.uuid4().hex[:8]}"
    url = responses.server.url(name)
    create(responses, name)
    head = push_large(git, tmp_path / "work", url)

    request = f"0032want {head}\n".encode() + b"0000" + b"0009done\n"
    answers = [
        http_request(
            responses.server,
            "POST",
            f"/v1/repos/{name}/git-upload-pack",
            request,
            {"Content-Type": UPLOAD_TYPE},
        )
        for _ in range(2)
    ]
    (first_status, first_headers, first), (status, headers, second) = answers
    assert (first_status, status) == (200, 200)
    assert first == second and len(second) > 3 * 1024 * 1024
    assert second.startswith(b"0008NAK\nPACK")
    # The miss streams as git writes (chunked); the hit knows its length.
    assert "Content-Length" not in first_headers
    assert headers["Content-Length"] == str(len(second))
    assert headers["Content-Type"] == "application/x-git-upload-pack-result"

    # Real clones: each protocol's first makes the answer, the second gets it by sendfile.
    for k, protocol in enumerate(("2", "2", "0", "0")):
        dest = tmp_path / f"clone{k}.git"
        clone_ok(git, url, dest, protocol=protocol)
        assert_whole(git, dest, head)


def test_over_tls_a_finished_answer_arrives_whole(
    git: Git, tmp_path: Path, database_factory: Callable[[Path], str]
) -> None:
    # TLS has no sendfile: the loop reads the file and writes it through the transport.
    cert, key = _self_signed(tmp_path)
    tls = start_server(
        tmp_path / "server", database_factory, "--tls-cert", str(cert), "--tls-key", str(key)
    )
    try:
        name = tls.repo()
        url = tls.server.url(name)
        env = {"GIT_SSL_CAINFO": str(cert)}
        head = push_large(git, tmp_path / "work", url, env)
        for k, protocol in enumerate(("2", "2", "0", "0")):
            dest = tmp_path / f"clone{k}.git"
            argv = ("-c", f"protocol.version={protocol}", "clone", "--bare", "-q", url)
            git(*argv, str(dest), env=env)
            assert_whole(git, dest, head)
        assert tls.runs() == 2 + 1  # v2: one ls-refs, one fetch; v0: one fetch; then hits
    finally:
        tls.server.stop()
