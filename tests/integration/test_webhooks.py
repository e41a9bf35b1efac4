"""Webhooks end to end: real pushes, a real receiver, signatures, filters, retries, order."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.receivers import Received, Receiver
from tests.support import Git, Server

SECRET = "s3cret-for-hmac"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver().start()
    yield instance
    instance.stop()


def _hook(server: Server, repo: str, url: str, *extra: str) -> str:
    created = server.cli("webhook", "create", "--repo", repo, "--url", url, *extra)
    return str(created["webhookId"])


def _push(git: Git, server: Server, repo: str, work: Path, *refspecs: str) -> None:
    git("push", "-q", server.url(repo), *(refspecs or ("main",)), cwd=work)


def _deliveries(server: Server, hook: str) -> list[dict[str, Any]]:
    return list(server.cli("webhook", "deliveries", hook)["deliveries"])


def _wait_state(
    server: Server, hook: str, check: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while True:
        found = _deliveries(server, hook)
        if check(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _verify(received: Received) -> None:
    """What a receiver does: recompute every signature over the raw body."""
    expected = "sha256=" + hmac.new(SECRET.encode(), received.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(received.headers["X-GitServer-Signature-256"], expected)
    msg_id, stamp = received.headers["webhook-id"], received.headers["webhook-timestamp"]
    signed = f"{msg_id}.{stamp}.".encode() + received.body
    standard = base64.b64encode(hmac.new(SECRET.encode(), signed, hashlib.sha256).digest())
    assert received.headers["webhook-signature"] == "v1," + standard.decode()
    assert abs(int(stamp) - time.time()) < 300
    assert msg_id == received.headers["X-GitServer-Delivery"]


def test_push_reaches_native_and_github_hooks_signed(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, receiver: Receiver
) -> None:
    name = repo("hooks")
    native = _hook(server, name, receiver.url, "--secret", SECRET)
    github = _hook(server, name, receiver.url + "/gh", "--secret", SECRET, "--format", "github")
    pings = receiver.wait_for(2)
    assert {r.headers["X-GitServer-Event"] for r in pings} == {"ping"}
    gh_ping = next(r for r in pings if r.path == "/hook/gh")
    assert gh_ping.headers["X-GitHub-Event"] == "ping" and gh_ping.json["hook"]["config"]["url"]

    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "one\n", "first commit")
    git.commit(work, "b.txt", "two\n", "second commit")
    _push(git, server, name, work)
    received = receiver.wait_for(4)[2:]
    plain = next(r for r in received if r.path == "/hook")
    gh = next(r for r in received if r.path == "/hook/gh")
    for request in (plain, gh):
        _verify(request)
        assert request.headers["X-GitServer-Event"] == "referenceCreated"

    envelope = plain.json
    assert set(envelope) == {"id", "time", "type", "repository", "actor", "detail"}
    assert envelope["repository"] == name and envelope["actor"] == "admin"
    assert envelope["detail"]["commitId"] == git.rev_parse(work, "HEAD")

    assert gh.headers["X-GitHub-Event"] == "push"
    assert gh.headers["X-GitHub-Delivery"] == gh.headers["X-GitServer-Delivery"]
    assert gh.headers["X-Hub-Signature-256"] == gh.headers["X-GitServer-Signature-256"]
    push = gh.json
    assert push["ref"] == "refs/heads/main" and push["created"] and not push["forced"]
    assert push["before"] == "0" * 40 and push["after"] == git.rev_parse(work, "HEAD")
    assert [c["message"] for c in push["commits"]] == ["first commit", "second commit"]
    assert push["commits"][1]["added"] == ["b.txt"]
    assert push["head_commit"]["id"] == push["after"]
    assert push["repository"]["name"] == name and push["pusher"]["name"] == "admin"

    log = _deliveries(server, native)
    assert [d["state"] for d in log] == ["succeeded", "succeeded"]  # the push, the ping
    attempt = log[0]["attempts"][0]
    assert attempt["responseStatus"] == 200
    assert attempt["requestHeaders"]["X-GitServer-Signature-256"] == "***"
    assert SECRET not in str(log)
    assert _deliveries(server, github)[0]["event"] == "referenceCreated"


def test_filters_by_event_type_and_branch(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, receiver: Receiver
) -> None:
    name = repo("filters")
    _hook(server, name, receiver.url, "--branches", "release/*", "--events", "push")
    _hook(server, name, receiver.url + "/deletes", "--events", "referenceDeleted")
    receiver.wait_for(2)
    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "one\n")
    git("branch", "release/1.0", cwd=work)
    git("branch", "feature", cwd=work)
    _push(git, server, name, work, "main", "release/1.0", "feature")
    _push(git, server, name, work, ":feature")
    received = receiver.wait_for(4)[2:]
    time.sleep(1.0)  # anything else would have arrived by now
    assert len(receiver.requests) == 4
    release = next(r for r in received if r.path == "/hook")
    assert release.json["detail"]["referenceFullName"] == "refs/heads/release/1.0"
    deleted = next(r for r in received if r.path == "/hook/deletes")
    assert deleted.json["type"] == "referenceDeleted"
    assert deleted.json["detail"]["referenceName"] == "feature"


def test_a_receiver_that_fails_twice_gets_it_the_third_time(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, receiver: Receiver
) -> None:
    name = repo("retry")
    hook = _hook(server, name, receiver.url, "--events", "push")
    receiver.wait_for(1)
    receiver.answer(500, 503)
    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "one\n")
    _push(git, server, name, work)
    tries = receiver.wait_for(4)[1:]
    ids = {r.headers["X-GitServer-Delivery"] for r in tries}
    assert len(ids) == 1, "a retry keeps the delivery id"
    log = _wait_state(server, hook, lambda d: d[0]["state"] == "succeeded")
    assert [a["responseStatus"] for a in log[0]["attempts"]] == [500, 503, 200]


def test_no_retry_on_a_client_error_then_redeliver(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, receiver: Receiver
) -> None:
    name = repo("gone")
    hook = _hook(server, name, receiver.url, "--events", "push")
    receiver.wait_for(1)
    receiver.answer(404)
    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "one\n")
    _push(git, server, name, work)
    log = _wait_state(server, hook, lambda d: d[0]["state"] == "failed")
    assert log[0]["state"] == "failed" and len(log[0]["attempts"]) == 1
    first = receiver.requests[1].headers["X-GitServer-Delivery"]
    server.cli("webhook", "redeliver", log[0]["deliveryId"])
    again = receiver.wait_for(3)[2]
    assert again.headers["X-GitServer-Delivery"] == first
    assert _wait_state(server, hook, lambda d: d[0]["state"] == "succeeded")[0]["state"] == (
        "succeeded"
    )
    test = server.cli("webhook", "test", hook)
    assert receiver.wait_for(4)[3].headers["X-GitServer-Delivery"] == test["deliveryId"]


def test_pushes_to_a_branch_arrive_in_order(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, receiver: Receiver
) -> None:
    name = repo("order")
    _hook(server, name, receiver.url, "--events", "push")
    receiver.wait_for(1)
    receiver.answer(500)  # the first push's delivery must be retried before the rest go
    work = git.init(tmp_path / "work")
    tips = []
    for n in range(5):
        git.commit(work, "n.txt", f"{n}\n", f"commit {n}")
        _push(git, server, name, work)
        tips.append(git.rev_parse(work, "HEAD"))
    received = receiver.wait_for(7)[1:]
    delivered = [r.json["detail"]["commitId"] for r in received]
    assert delivered[0] == delivered[1] == tips[0]  # the failure, then its retry
    assert delivered[1:] == tips


def test_a_push_of_50_refs_reaches_the_hook_whole(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, receiver: Receiver
) -> None:
    name = repo("many")
    _hook(server, name, receiver.url, "--events", "push", "--format", "github")
    receiver.wait_for(1)
    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "one\n")
    for n in range(49):
        git("branch", f"b{n:02d}", cwd=work)
    _push(git, server, name, work, "--all")
    refs = {r.json["ref"] for r in receiver.wait_for(51)[1:]}
    assert refs == {"refs/heads/main", *(f"refs/heads/b{n:02d}" for n in range(49))}
