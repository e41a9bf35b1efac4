"""Webhooks end to end: real pushes, a real receiver, signatures, filters, retries, order."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.octokit import validate
from tests.receivers import Received, Receiver
from tests.support import Git, Server, run_sql, wait_until

# Delivery, locking, ordering or crash recovery: SQL semantics decide the outcome.
# Only the tests whose outcome depends on the queue's SQL (claims, leases, fan-out,
# order across workers and restarts) run on PostgreSQL too; formats, filters, the SSRF
# guard and the dispatcher's own task structure do not.
PG_TOO = pytest.mark.database

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


@PG_TOO
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


@PG_TOO
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


@PG_TOO
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


@PG_TOO
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


def test_github_payloads_match_octokit_schemas(
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
    receiver: Receiver,
) -> None:
    name = repo("schema")
    _hook(server, name, receiver.url, "--format", "github", "--secret", SECRET)
    ping = receiver.wait_for(1)[0]
    validate("ping$event", ping.json)
    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "one\n", "first")
    _push(git, server, name, work)  # main: the default branch stays
    git("checkout", "-q", "-b", "topic", cwd=work)
    git.commit(work, "b.txt", "two\n", "second")
    _push(git, server, name, work, "topic")
    git("reset", "-q", "--hard", "HEAD~1", cwd=work)
    git.commit(work, "c.txt", "three\n", "rewritten")
    _push(git, server, name, work, "+topic")
    _push(git, server, name, work, ":topic")
    everything = [r.json for r in receiver.wait_for(5)[1:]]
    pushes = [p for p in everything if p["ref"] == "refs/heads/topic"]
    assert [(p["created"], p["forced"], p["deleted"]) for p in pushes] == [
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ]
    for payload in everything:
        validate("push$event", payload)
    assert [c["message"] for c in pushes[0]["commits"]] == ["second"]  # not main's commit
    assert [c["message"] for c in pushes[1]["commits"]] == ["rewritten"]
    assert pushes[2]["head_commit"] is None and pushes[2]["commits"] == []


def test_ssrf_guard_refuses_local_targets(
    make_server: Callable[..., Server], git: Git, tmp_path: Path, receiver: Receiver
) -> None:
    """Without webhook_allowed_hosts, loopback is refused however it is spelled."""
    private = make_server("--no-ssh", "--webhook-retry-schedule", "0.2")
    name = f"ssrf-{int(time.time() * 1000)}"
    private.cli("repo", "create", name)
    urls = [
        receiver.url,
        f"http://localhost:{receiver.port}/hook",
        f"http://[::ffff:127.0.0.1]:{receiver.port}/hook",
        f"http://[::1]:{receiver.port}/hook",
        "http://169.254.169.254/latest/meta-data",
    ]
    hooks = [_hook(private, name, url, "--events", "push") for url in urls]
    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "one\n")
    _push(git, private, name, work)
    for hook in hooks:
        # The push's delivery is fanned out after the push returns: wait for it too.
        log = _wait_state(
            private, hook, lambda d: len(d) == 2 and all(x["state"] == "failed" for x in d)
        )
        assert [d["state"] for d in log] == ["failed", "failed"], log  # the push, the ping
        assert all(len(d["attempts"]) == 1 for d in log), "a refusal is not retried"
        error = log[0]["attempts"][0]["error"]
        assert ("private or local address" in error and "webhook_allowed_hosts" in error) or (
            "private or local" in error
        ), error
    assert receiver.requests == []


@PG_TOO
def test_nothing_lost_while_the_receiver_is_down_across_a_restart(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    late = Receiver()  # not listening yet: its port is reserved below
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        late.port = probe.getsockname()[1]
    private = make_server(
        "--no-ssh", "--webhook-allowed-hosts", "127.0.0.1", "--webhook-retry-schedule", "0.5,1"
    )
    name = f"down-{int(time.time() * 1000)}"
    private.cli("repo", "create", name)
    hook = _hook(private, name, late.url, "--events", "push")
    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "one\n")
    _push(git, private, name, work)
    log = _wait_state(
        private, hook, lambda d: any(len(x["attempts"]) >= 1 for x in d if x["event"] != "ping")
    )
    push_delivery = next(d for d in log if d["event"] != "ping")
    # Not final: waiting for its next retry, or in it (the schedule is half a second).
    assert push_delivery["state"] in ("pending", "in_flight")
    assert push_delivery["attempts"][0]["responseStatus"] is None
    private.stop()
    late.start()
    try:
        private.start()
        got = late.wait_for(2)
        ids = {r.headers["X-GitServer-Delivery"] for r in got}
        assert push_delivery["deliveryId"] in ids
        final = _wait_state(private, hook, lambda d: all(x["state"] == "succeeded" for x in d))
        assert all(x["state"] == "succeeded" for x in final)
    finally:
        late.stop()


@PG_TOO
def test_a_delivery_in_flight_at_a_stop_is_sent_at_once_after_the_restart(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    """A graceful stop gives back the claims it will not settle (a send still hanging at
    the shutdown deadline is cut): after the restart they go out at once, not when their
    lease (two minutes) runs out."""
    import socket
    import threading

    # A receiver that answers the ping, then takes connections and never answers: the
    # push's attempt stays in flight. (A hanging ping would hold the dispatcher's round,
    # and so the push, for the whole 30-second timeout.)
    hanging = socket.socket()
    hanging.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(16)
    port = hanging.getsockname()[1]
    held: list[socket.socket] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            first, _ = hanging.accept()
            first.recv(65536)
            first.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            first.close()
            while True:
                held.append(hanging.accept()[0])

    threading.Thread(target=serve, daemon=True).start()
    private = make_server(
        "--no-ssh", "--webhook-allowed-hosts", "127.0.0.1", "--shutdown-timeout", "2"
    )
    name = f"stop-{int(time.time() * 1000)}"
    private.cli("repo", "create", name)
    url = f"http://127.0.0.1:{port}/hook"
    hook = _hook(private, name, url, "--events", "push", "--timeout", "30")
    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "one\n")
    _push(git, private, name, work)
    log = _wait_state(
        private, hook, lambda d: any(x["state"] == "in_flight" for x in d if x["event"] != "ping")
    )
    push_delivery = next(d for d in log if d["event"] != "ping")
    assert push_delivery["state"] == "in_flight", log
    private.stop()
    with contextlib.suppress(OSError):
        hanging.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the thread
    hanging.close()
    for connection in held:
        connection.close()
    late = Receiver(port=port).start()
    try:
        private.start()
        pushes = wait_until(
            lambda: [r for r in list(late.requests) if r.headers["X-GitServer-Event"] != "ping"],
            timeout=40,
        )
        assert pushes, late.requests
        assert pushes[0].headers["X-GitServer-Delivery"] == push_delivery["deliveryId"]
    finally:
        late.stop()


def test_metrics_count_deliveries(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, receiver: Receiver
) -> None:
    import urllib.request

    name = repo("metrics")
    _hook(server, name, receiver.url, "--events", "push", "--format", "eventbridge")
    receiver.wait_for(1)
    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "one\n")
    _push(git, server, name, work)
    event = receiver.wait_for(2)[1].json
    assert event["source"] == "aws.codecommit"
    assert event["detail-type"] == "CodeCommit Repository State Change"
    assert (
        event["detail"]["event"] == "referenceCreated" and event["detail"]["repositoryName"] == name
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = urllib.request.urlopen(f"{server.base_url}/metrics", timeout=10).read().decode()
        if 'gitserver_deliveries_total{format="eventbridge",outcome="succeeded"}' in text:
            break
        time.sleep(0.2)
    assert 'gitserver_deliveries_total{format="eventbridge",outcome="succeeded"}' in text
    for metric in (
        "gitserver_delivery_attempts_total",
        "gitserver_delivery_queue_depth",
        "gitserver_delivery_oldest_due_age_seconds",
        "gitserver_delivery_latency_seconds_bucket",
    ):
        assert metric in text


@PG_TOO
def test_two_workers_send_each_delivery_once(
    make_server: Callable[..., Server], git: Git, tmp_path: Path, receiver: Receiver
) -> None:
    """1,000 events, two `gitserver worker` processes on one database: every delivery
    arrives exactly once and in order (PostgreSQL: SKIP LOCKED claims and fan-out under
    the cursor row lock; SQLite: claims inside its one write transaction)."""
    private = make_server("--no-ssh", "--no-workers")
    name = "fanout"
    private.cli("repo", "create", name)
    _hook(private, name, receiver.url, "--events", "push")
    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "one\n")
    for n in range(999):
        git("tag", f"t{n:03d}", cwd=work)
    _push(git, private, name, work, "main", "--tags")
    events = private.cli("event", "list", "--repo", name, "--limit", "5000")["events"]
    assert len(events) == 1001  # repositoryCreated + 1,000 references
    with _workers(private, 2):
        received = receiver.wait_for(1001, timeout=120)
        time.sleep(1.0)  # a duplicate would have arrived by now
    ids = [r.headers["X-GitServer-Delivery"] for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 1001
    refs = {r.json["detail"]["referenceFullName"] for r in received if r.json.get("detail")}
    assert len(refs) == 1000
    # One hook, one repository: one ordering key, whichever worker took each run.
    order = [
        e["id"] for e in sorted(events, key=lambda e: e["seq"]) if e["type"] != "repositoryCreated"
    ]
    assert [r.json["id"] for r in received if r.json.get("detail")] == order


@contextlib.contextmanager
def _workers(server: Server, count: int) -> Iterator[None]:
    """`count` `gitserver worker` processes on the server's database."""
    import subprocess

    argv = [
        str(Path(sys.executable).parent / "gitserver"),
        "worker",
        "--data",
        str(server.data),
        "--database-url",
        server.database_url,
        "--webhook-allowed-hosts",
        "127.0.0.1",
        "--webhook-retry-schedule",
        "0.2,0.4",
    ]
    workers = [
        subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]
    try:
        yield
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(20)


@PG_TOO
def test_two_workers_keep_each_keys_order_and_log_every_attempt(
    make_server: Callable[..., Server], git: Git, tmp_path: Path
) -> None:
    """Two hooks on two repositories (four ordering keys), 101 events each, two workers,
    one receiver failing its first answers: every key's events arrive in their order (a
    failed one again before the next), and every request made is an attempt row."""
    private = make_server("--no-ssh", "--no-workers")
    receivers = [Receiver().start(), Receiver().start()]
    try:
        receivers[0].answer(500, 503, 500)
        for r in receivers:
            private.cli("webhook", "create", "--url", r.url, "--events", "push")
        names = ["keys-a", "keys-b"]
        work = git.init(tmp_path / "work")
        git.commit(work, "a.txt", "one\n")
        for n in range(100):
            git("tag", f"t{n:03d}", cwd=work)
        order = {}
        for name in names:
            private.cli("repo", "create", name)
            _push(git, private, name, work, "main", "--tags")
            listed = private.cli("event", "list", "--repo", name, "--limit", "500")["events"]
            refs = sorted(
                (e for e in listed if e["type"] != "repositoryCreated"), key=lambda e: e["seq"]
            )
            order[name] = [e["id"] for e in refs]
        with _workers(private, 2):
            receivers[0].wait_for(1 + 202 + 3, timeout=120)
            receivers[1].wait_for(1 + 202, timeout=120)
            requests = sum(len(r.requests) for r in receivers)
            wait_until(lambda: _attempt_rows(private) == requests, timeout=30)
        for r in receivers:
            for name in names:
                arrived = [q.json["id"] for q in r.requests if q.json.get("repository") == name]
                once = [i for n, i in enumerate(arrived) if n == 0 or arrived[n - 1] != i]
                assert once == order[name]
        sent = Counter(q.headers["X-GitServer-Delivery"] for r in receivers for q in r.requests)
        logged = dict(
            run_sql(private, "SELECT delivery_id, count(*) FROM delivery_attempts GROUP BY 1")
        )
        assert logged == dict(sent)
        assert sum(sent.values()) == len(sent) + 3  # each failure once more, then success
    finally:
        for r in receivers:
            r.stop()


def _attempt_rows(server: Server) -> int:
    return int(run_sql(server, "SELECT count(*) FROM delivery_attempts")[0][0])


def test_a_slow_hook_holds_back_only_its_own_deliveries(
    server: Server, repo: Callable[..., str], git: Git, tmp_path: Path, receiver: Receiver
) -> None:
    """Two hooks on one repository are two ordering keys: while one receiver takes seconds
    to answer, the other gets each push at once. (Runs are sent side by side and each is
    settled when it ends, not when the slowest run claimed with it does.)"""
    slow = Receiver().start()
    slow.delay = 8.0
    name = repo("slow")
    hooks = [
        _hook(server, name, slow.url, "--events", "push"),
        _hook(server, name, receiver.url, "--events", "push"),
    ]
    try:
        receiver.wait_for(1)
        work = git.init(tmp_path / "work")
        for n in range(3):
            git.commit(work, "n.txt", f"{n}\n", f"commit {n}")
            _push(git, server, name, work)
            receiver.wait_for(2 + n, timeout=6)  # sooner than one slow answer
        assert len(slow.requests) < 4  # its ping and 3 pushes take 32 s
    finally:
        for hook in hooks:
            server.cli("webhook", "delete", hook)
        slow.stop()
