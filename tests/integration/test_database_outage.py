"""The database goes away under load and comes back: a private PostgreSQL is stopped with
`pg_ctl stop -m fast` for ~10 s while a client loop pushes, fetches, reads the API and
the web UI. While it is down every answer is a clean 503 in its front end's format (never
a 500 or a traceback) and no ref moves; once it is back the same server recovers on its
own, and every acknowledged push has its event and its webhook delivery."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.api_support import codecommit
from tests.pgcluster import PrivatePostgres, postgres_bin
from tests.receivers import Receiver
from tests.support import Git, Server, run_sql, wait_until
from tests.web_support import Browser

OUTAGE = 10.0  # seconds the database is down


@dataclass
class Seen:
    """What the client loop saw, by phase ("up", "down", "back") and operation."""

    results: list[tuple[str, str, str]] = field(default_factory=list)  # phase, op, result
    acked: list[str] = field(default_factory=list)  # commits whose push succeeded
    bad: list[str] = field(default_factory=list)  # answers no client should ever get

    def count(self, phase: str) -> Counter[tuple[str, str]]:
        return Counter((op, result) for p, op, result in self.results if p == phase)


@pytest.fixture
def database() -> Iterator[PrivatePostgres]:
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin")
    cluster = PrivatePostgres(bindir)
    try:
        cluster.start()
        cluster.create_database()
        yield cluster
    finally:
        cluster.destroy()


class Client:
    """One loop of pushes, fetches, API reads and web pages, in a thread of its own."""

    def __init__(self, server: Server, git: Git, work: Path, name: str) -> None:
        self.server, self.git, self.work, self.name = server, git, work, name
        self.api = codecommit(server, server.cli("access-key", "create", "admin"))
        self.browser = Browser(server)
        self.browser.sign_in("admin", server.admin_password)
        self.phase = "up"
        self.seen = Seen()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        for _ in range(2000):  # bounded, whatever happens
            if self.stop.is_set():
                return
            for op in (self.push, self.fetch, self.api_read, self.web_page):
                phase = self.phase
                result = op(phase)
                # An operation that spans a change of phase (a push that began in the
                # last moment of the outage and ended after the database came back) is
                # counted in neither: its outcome belongs to no single phase.
                if self.phase != phase:
                    phase = f"{phase}->{self.phase}"
                self.seen.results.append((phase, op.__name__, result))
            time.sleep(0.1)

    def push(self, phase: str) -> str:
        git, work = self.git, self.work
        git("fetch", "-q", "origin", cwd=work, check=False)
        git("reset", "-q", "--hard", "origin/main", cwd=work, check=False)
        new = git.commit(work)
        done = git("push", "-q", "origin", "main", cwd=work, check=False)
        if done.returncode == 0:
            self.seen.acked.append(new)
            return "ok"
        if (
            "The requested URL returned error: 503" in done.stderr
            and "remote: gitserver:" in done.stderr
        ):
            return "503"
        if "returned error: 500" in done.stderr or "Traceback" in done.stderr:
            self.seen.bad.append(f"push: {done.stderr}")
        return "error: " + done.stderr.strip().splitlines()[-1][:100]

    def fetch(self, phase: str) -> str:
        done = self.git("fetch", "-q", "origin", cwd=self.work, check=False)
        if done.returncode == 0:
            return "ok"
        if "error: 503" in done.stderr:
            return "503"
        if "returned error: 500" in done.stderr or "Traceback" in done.stderr:
            self.seen.bad.append(f"fetch: {done.stderr}")
        return "error"

    def api_read(self, phase: str) -> str:
        try:
            self.api.get_branch(repositoryName=self.name, branchName="main")
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 503 and error.get("Code") and error.get("Message"):
                return "503"
            self.seen.bad.append(f"api: {status} {error}")
            return f"{status}"
        return "ok"

    def web_page(self, phase: str) -> str:
        page = self.browser.get(f"/repositories/{self.name}")
        if page.status == 200:
            return "ok"
        if page.status == 503 and "<html" in page.body.lower() and "Traceback" not in page.body:
            return "503"
        self.seen.bad.append(f"web: {page.status} {page.body[:200]}")
        return str(page.status)


def test_requests_fail_cleanly_while_the_database_is_down_and_recover_after(
    database: PrivatePostgres, git: Git, tmp_path: Path
) -> None:
    receiver = Receiver().start()
    server = Server(
        data=tmp_path / "data",
        database_url=database.url,
        extra_args=[
            "--webhook-allowed-hosts",
            "127.0.0.1",
            "--webhook-retry-schedule",
            "0.3,0.6,1,2,4,8",
            # A claim whose commit the outage cut is the server's no more: due again
            # when its lease runs out (docs/reliability.md).
            "--webhook-lease",
            "5",
        ],
    )
    server.start()
    try:
        name = "outage"
        server.cli("repo", "create", name)
        server.cli("webhook", "create", "--repo", name, "--url", receiver.url, "--events", "push")
        work = git.init(tmp_path / "work")
        git.commit(work)
        git("remote", "add", "origin", server.url(name), cwd=work)
        git("push", "-q", "origin", "main", cwd=work)
        client = Client(server, git, work, name)
        client.thread.start()

        assert wait_until(lambda: client.seen.count("up")[("push", "ok")] >= 2, timeout=60)
        database.stop()
        client.phase = "down"
        time.sleep(OUTAGE)
        client.phase = "back"
        database.start()
        recovered = wait_until(
            lambda: all(client.seen.count("back")[(op, "ok")] >= 2
                        for op in ("push", "fetch", "api_read", "web_page")),
            timeout=90,
        )  # fmt: skip
        client.stop.set()
        client.thread.join(120)
        seen = client.seen
        assert recovered, seen.count("back")
        assert seen.bad == []
        down = seen.count("down")
        # Every kind of request was tried during the outage and refused with a 503.
        for op in ("push", "fetch", "api_read", "web_page"):
            assert down[(op, "503")] >= 1, down
        assert down[("push", "ok")] == 0, down

        # Every acknowledged push has exactly one event, and the events chain to main.
        events = [e for e in server.events(name) if e["type"].startswith("reference")]
        pushed = Counter(e["detail"]["commitId"] for e in events)
        assert all(pushed[commit] == 1 for commit in seen.acked), (seen.acked, pushed)
        assert all(e["actor"] == "admin" for e in events), "a ref moved without its ledger row"
        head = git("ls-remote", server.url(name), "refs/heads/main").stdout.split()[0]
        assert events[-1]["detail"]["commitId"] == head
        # ... and reaches the webhook receiver.
        ids = {e["id"] for e in events}
        arrived = wait_until(
            lambda: ids <= {r.json.get("id") for r in receiver.requests}, timeout=60
        )
        assert arrived, (
            ids - {r.json.get("id") for r in receiver.requests},
            run_sql(server, "SELECT state, attempts, lease_until, last_error FROM deliveries"),
        )
        assert "Traceback" not in (server.log_path.read_text() if server.log_path else "")
    finally:
        server.stop()
        receiver.stop()
