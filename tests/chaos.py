"""A crash loop: real clients change repositories while `gitserver serve` is SIGKILLed at
seeded random moments, and the checks that nothing acknowledged, and no event, was lost.

Used by `tests/integration/test_crash_loop.py` (a few kills) and `benchmarks/crash.py`
(`BENCH=crash`, 50 pushes). Each round starts one operation per repository at once (git
pushes over HTTP and SSH, single and multi-ref, forced, deletions; `PutFile`, one with a
stale parent that must fail; a pull request merged through the API), kills the server
(alone, leaving its git orphaned, or with every process it started, as an OOM or cgroup
kill does) after a random delay, waits for every client and orphan to finish, compares
each ref with what its client was told, and starts the server again on the same data.
`verify()` then checks the whole history: fsck, quarantines, ledger, events, webhooks.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from tests.api_support import codecommit
from tests.receivers import Receiver
from tests.support import Git, Server, SshIdentity, cli_env_call, run_sql, wait_until

PUSHES = ("http-push", "http-multi", "http-force", "ssh-push", "ssh-multi", "ssh-force")
API = ("put-file", "put-file-stale", "pr-merge")
OPS = (*PUSHES, *API)
ZERO_OID = "0" * 40
CHILD = "child-of-before"  # PutFile's commit: unknown until the answer, a child of main
# What the server is started with: deliveries retried within seconds, to a receiver on
# loopback; start-up leaves prepared rows younger than 2 s to their (dead) push and
# settles them when that grace ends.
SERVER_ARGS = (
    "--maintenance-delay",
    "0.2",
    "--webhook-allowed-hosts",
    "127.0.0.1",
    "--webhook-retry-schedule",
    "0.3,0.6,1,2,4",
    # A delivery in flight when the server died is sent again once its claim lapses.
    "--webhook-lease",
    "3",
)
SERVER_ENV = {"GITSERVER_PREPARED_GRACE": "2"}


@dataclass
class Attempt:
    """One client operation: what it should do to the refs, and what it was told."""

    op: str
    repo: str
    before: dict[str, str]
    # ref -> value if the operation applies (ZERO_OID: deleted; CHILD: PutFile's commit)
    expect: dict[str, str]
    run: Callable[[], None] = lambda: None
    # ref -> "acked" | "failed" | "unknown", filled by `run`
    told: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)
    said: str = ""

    def tell(self, outcome: str, refs: list[str] | None = None, said: str = "") -> None:
        for ref in refs if refs is not None else self.expect:
            self.told.setdefault(ref, outcome)
        self.said = said[-400:]

    @property
    def outcome(self) -> str:
        values = set(self.told.values()) or {"unknown"}
        return values.pop() if len(values) == 1 else "mixed"


@dataclass
class Tally:
    kills: int = 0
    # "push acked", "push failed", "push unknown", "api acked", ...
    outcomes: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    lost_events: int = 0
    extra_events: int = 0
    duplicate_deliveries: int = 0
    undelivered: int = 0
    quarantines_left: int = 0
    ops: Counter[str] = field(default_factory=Counter)


def _porcelain(stdout: str) -> dict[str, str]:
    """`git push --porcelain` lines -> {ref: "acked" | "failed"} for the refs it reported."""
    told = {}
    for line in stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and ":" in parts[1]:
            ref = parts[1].rsplit(":", 1)[1]
            told[ref] = "failed" if parts[0] == "!" else "acked"
    return told


class CrashLoop:
    def __init__(self, server: Server, git: Git, scratch: Path, seed: int, repos: int = 2) -> None:
        self.server, self.git, self.scratch = server, git, scratch
        scratch.mkdir(parents=True, exist_ok=True)
        self.seed = seed
        self.rng = random.Random(seed)
        self.tally = Tally()
        self.attempts: list[Attempt] = []
        self.acked_commits: set[tuple[str, str]] = set()
        self.receiver = Receiver().start()
        server.cli("webhook", "create", "--url", self.receiver.url, "--events", "push")
        identity = SshIdentity.generate(scratch / "ssh", server.known_hosts(scratch / "kh"))
        identity.register(server)
        git.env.update(identity.git_env())
        self.api: BaseClient = codecommit(
            server, server.cli("access-key", "create", "admin"), read_timeout=120
        )
        self.repos = [f"crash{i}" for i in range(repos)]
        self.bare: dict[str, Path] = {}
        for name in self.repos:
            self.bare[name] = Path(server.cli("repo", "create", name)["path"])
            work = git.init(scratch / name)
            git.commit(work, "README.md", "base\n")
            git.commit(work, "README.md", "second\n")
            git("push", "-q", server.url(name), "main", cwd=work)
        self.max_delay = 1.0
        self._deck: list[str] = []

    def close(self) -> None:
        self.receiver.stop()

    # --- one round ------------------------------------------------------------------

    def round(self) -> list[Attempt]:
        attempts = [self._prepare(self._next_op(), name) for name in self.repos]
        threads = [threading.Thread(target=a.run, daemon=True) for a in attempts]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(self.rng.uniform(0, self.max_delay))
        orphans = self._kill(whole_tree=self.rng.random() < 0.5)
        for thread in threads:
            thread.join(180)
            assert not thread.is_alive(), "a client did not finish after the kill"
        psutil.wait_procs(orphans, timeout=120)
        # Let later rounds aim at the clients' busy time: half a round's length or so.
        self.max_delay = max(
            0.3, min(3.0, 0.5 * self.max_delay + 0.6 * (time.monotonic() - started))
        )
        for attempt in attempts:
            attempt.after = self.refs(attempt.repo)
            self._judge(attempt)
        self.server.start()
        return attempts

    def _next_op(self) -> str:
        """From a shuffled deck of every kind once, then pushes again: the first nine
        operations cover every kind, pushes stay two in three overall."""
        if not self._deck:
            kinds = list(OPS)
            self._deck = self.rng.sample(kinds, len(kinds)) + self.rng.sample(PUSHES, len(PUSHES))
        return self._deck.pop(0)

    def _kill(self, whole_tree: bool) -> list[psutil.Process]:
        """SIGKILL the server (and, if `whole_tree`, every process it started): returns
        the processes left running, to wait for."""
        assert self.server.process is not None
        root = psutil.Process(self.server.pid())
        children = root.children(recursive=True)
        for process in [root, *children] if whole_tree else [root]:
            try:
                process.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                continue
        self.server.process.wait()
        self.tally.kills += 1
        return [] if whole_tree else children

    def _judge(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)
        self.tally.ops[attempt.op] += 1
        outcome = attempt.outcome if attempt.outcome in ("acked", "failed") else "unknown"
        kind = "push" if attempt.op in PUSHES else "api"
        self.tally.outcomes[f"{kind} {outcome}"] += 1
        if attempt.op == "put-file-stale" and outcome == "acked":
            self.tally.violations.append(
                f"PutFile on a stale parent was accepted on {attempt.repo}"
            )
        for ref, want in attempt.expect.items():
            old = attempt.before.get(ref, ZERO_OID)
            now = attempt.after.get(ref, ZERO_OID)
            told = attempt.told.get(ref, "unknown")
            applied = self._is_applied(attempt, ref, want, old, now)
            problem = ""
            if told == "acked" and not applied:
                problem = f"acknowledged but {ref} is {now[:10]}"
            elif told == "failed" and now != old:
                problem = f"refused but {ref} moved {old[:10]} -> {now[:10]}"
            elif told == "unknown" and now != old and not applied:
                problem = f"{ref} is {now[:10]}: neither before nor after"
            if problem:
                self.tally.violations.append(
                    f"{attempt.op} on {attempt.repo}: {problem} ({attempt.said!r})"
                )
            if told == "acked" and want != ZERO_OID:
                self.acked_commits.add((attempt.repo, now))

    def _is_applied(self, attempt: Attempt, ref: str, want: str, old: str, now: str) -> bool:
        if want != CHILD:
            return now == want
        if now in (old, ZERO_OID):
            return False
        parent = self._bare(attempt.repo, "rev-parse", "-q", "--verify", f"{now}^1")
        return parent == old

    # --- operations -----------------------------------------------------------------

    def refs(self, name: str) -> dict[str, str]:
        out = self._bare(name, "for-each-ref", "--format=%(refname) %(objectname)")
        return dict(tuple(line.split(" ", 1)) for line in out.splitlines())  # type: ignore[misc]

    def _bare(self, name: str, *args: str) -> str:
        return self.git("--git-dir", str(self.bare[name]), *args, check=False).stdout.strip()

    def _work(self, name: str, before: dict[str, str]) -> Path:
        """The repository's work tree, on what the server's main holds now."""
        work = self.scratch / name
        self.git(
            "fetch",
            "-q",
            f"file://{self.bare[name]}",
            "+refs/heads/*:refs/remotes/bare/*",
            cwd=work,
        )
        self.git("checkout", "-q", "-B", "main", before["refs/heads/main"], cwd=work)
        return work

    def _url(self, op: str, name: str) -> str:
        return self.server.ssh_url(name) if op.startswith("ssh") else self.server.url(name)

    def _prepare(self, op: str, name: str) -> Attempt:
        before = self.refs(name)
        work = self._work(name, before)
        if op in PUSHES:
            return self._push(op, name, work, before)
        if op == "pr-merge":
            return self._merge(name, work, before)
        return self._put_file(op, name, before)

    def _push(self, op: str, name: str, work: Path, before: dict[str, str]) -> Attempt:
        git, main = self.git, "refs/heads/main"
        if op.endswith("force"):
            git("reset", "-q", "--hard", "HEAD~1", cwd=work)
        new = git.commit(work, f"f{self.rng.randrange(1000)}.txt")
        refspecs, expect = ["+main" if op.endswith("force") else "main"], {main: new}
        if op.endswith("multi"):
            topics = sorted(r for r in before if r.startswith("refs/heads/topic-"))
            if topics and self.rng.random() < 0.5:
                gone = topics[0]
                refspecs.append(":" + gone)
                expect[gone] = ZERO_OID
            topic = f"refs/heads/topic-{self.rng.randrange(10_000):04d}"
            refspecs.append(f"main:{topic}")
            expect[topic] = new
        attempt = Attempt(op, name, before, expect)
        url = self._url(op, name)

        def run() -> None:
            done = git("push", "--porcelain", url, *refspecs, cwd=work, check=False, timeout=180)
            for ref, told in _porcelain(done.stdout).items():
                if ref in expect:
                    attempt.told[ref] = told
            attempt.tell("acked" if done.returncode == 0 else "unknown", said=done.stderr)

        attempt.run = run
        return attempt

    def _put_file(self, op: str, name: str, before: dict[str, str]) -> Attempt:
        main = before["refs/heads/main"]
        parent = self._bare(name, "rev-parse", f"{main}~1") if op.endswith("stale") else main
        attempt = Attempt(op, name, before, {"refs/heads/main": CHILD})
        content = f"{self.rng.random()}\n".encode()
        path = f"api/{self.rng.randrange(10_000)}.txt"

        def run() -> None:
            self._api_call(
                attempt,
                lambda: self.api.put_file(
                    repositoryName=name,
                    branchName="main",
                    fileContent=content,
                    filePath=path,
                    parentCommitId=parent,
                ),
            )

        attempt.run = run
        return attempt

    def _merge(self, name: str, work: Path, before: dict[str, str]) -> Attempt:
        """A pull request from a branch one commit ahead of main, merged by fast-forward."""
        branch = f"pr-{self.rng.randrange(100_000):05d}"
        source = self.git.commit(work, f"pr/{branch}.txt")
        self.git("push", "-q", self.server.url(name), f"main:refs/heads/{branch}", cwd=work)
        pull = self.api.create_pull_request(
            title=branch,
            targets=[
                {"repositoryName": name, "sourceReference": branch, "destinationReference": "main"}
            ],
        )["pullRequest"]["pullRequestId"]
        before = self.refs(name)
        attempt = Attempt("pr-merge", name, before, {"refs/heads/main": source})

        def run() -> None:
            self._api_call(
                attempt,
                lambda: self.api.merge_pull_request_by_fast_forward(
                    pullRequestId=pull, repositoryName=name, sourceCommitId=source
                ),
            )

        attempt.run = run
        return attempt

    def _api_call(self, attempt: Attempt, call: Callable[[], Any]) -> None:
        try:
            call()
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            attempt.tell("failed" if 400 <= status < 500 else "unknown", said=str(exc))
        except BotoCoreError as exc:  # connection reset or refused: the answer never came
            attempt.tell("unknown", said=repr(exc))
        else:
            attempt.tell("acked")

    # --- the whole history ----------------------------------------------------------

    def verify(self, timeout: float = 120) -> Tally:
        """After the last restart: every repository whole, every ref change exactly one
        event, every event delivered (duplicates only under the same delivery id)."""
        tally, server = self.tally, self.server
        report = cli_env_call(server, {"GITSERVER_PREPARED_GRACE": "0"}, "repo", "reconcile")
        assert report["errors"] == [], report
        events: list[dict[str, Any]] = []
        # One CLI call for every repository: a process start takes seconds under load.
        everything = list(server.cli("event", "list", "--limit", "1000000")["events"])
        for name in self.repos:
            bare = self.bare[name]
            fsck = self.git("--git-dir", str(bare), "fsck", "--strict", check=False)
            if fsck.returncode != 0:
                tally.violations.append(f"{name}: git fsck --strict: {fsck.stdout}{fsck.stderr}")
            left = [
                p.name
                for p in (bare / "objects").iterdir()
                if p.name.startswith(("tmp_objdir", "incoming-"))
            ]
            tally.quarantines_left += len(left)
            # On PostgreSQL another server may own a fresh quarantine: the start-up sweep
            # there removes only those older than `git_timeout` (docs/reliability.md).
            if left and server.database_url.startswith("sqlite"):
                tally.violations.append(f"{name}: quarantines left: {left}")
            for repo, commit in sorted(self.acked_commits):
                if repo == name and self._bare(name, "cat-file", "-t", commit) != "commit":
                    tally.violations.append(f"{name}: acknowledged commit {commit[:10]} is gone")
            events += self._check_ledger(name, everything)
        self._check_deliveries(events, timeout)
        return tally

    def _check_ledger(self, name: str, everything: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Ledger, refs and events agree; returns the repository's reference events."""
        tally, server = self.tally, self.server
        rid = run_sql(server, "SELECT id FROM repositories WHERE name = :n", params={"n": name})[0][
            0
        ]
        refs = self.refs(name)
        known = dict(
            run_sql(
                server, "SELECT name, target FROM refs WHERE repository_id = :r", params={"r": rid}
            )
        )  # type: ignore[arg-type]
        if known != refs:
            tally.violations.append(f"{name}: the refs table {known} is not git's {refs}")
        rows = run_sql(
            server,
            "SELECT push_id, ref, old, new, state FROM ref_updates WHERE repository_id = :r",
            params={"r": rid},
        )
        if any(r[4] == "prepared" for r in rows):
            tally.violations.append(f"{name}: prepared rows left after reconcile")
        committed = Counter((r[0], r[1], r[3]) for r in rows if r[4] == "committed")
        events = [
            e for e in everything if e["repository"] == name and e["type"].startswith("reference")
        ]
        seen = Counter(
            (
                e["detail"]["pushId"],
                e["detail"]["referenceFullName"],
                e["detail"].get("commitId") or ZERO_OID,
            )
            for e in events
        )
        tally.lost_events += sum((committed - seen).values())
        tally.extra_events += sum((seen - committed).values())
        for key, count in (seen - committed).items():
            tally.violations.append(f"{name}: event without its committed change: {key} x{count}")
        for key, count in (committed - seen).items():
            tally.violations.append(f"{name}: committed change without its event: {key} x{count}")
        # Each ref's events chain from nothing to what git holds: none missing, none twice.
        chains: dict[str, str] = defaultdict(lambda: ZERO_OID)
        for event in sorted(events, key=lambda e: e["seq"]):
            detail = event["detail"]
            ref = detail["referenceFullName"]
            old = detail.get("oldCommitId") or ZERO_OID
            if chains[ref] != old:
                was = chains[ref][:10]
                tally.violations.append(
                    f"{name}: {event['type']} of {ref} from {old[:10]} at {was}"
                )
            chains[ref] = detail.get("commitId") or ZERO_OID
        held = {ref: sha for ref, sha in chains.items() if sha != ZERO_OID}
        if held != refs:
            tally.violations.append(f"{name}: events end at {held}, git holds {refs}")
        return events

    def _check_deliveries(self, events: list[dict[str, Any]], timeout: float) -> None:
        wanted = {e["id"] for e in events}

        def delivered() -> dict[str, set[str]]:
            found: dict[str, set[str]] = defaultdict(set)
            for request in list(self.receiver.requests):
                event = request.json.get("id")  # a webhook's ping has none
                if event:
                    found[event].add(request.headers.get("X-GitServer-Delivery", ""))
            return found

        wait_until(lambda: wanted <= set(delivered()), timeout=timeout, interval=0.5)
        found = delivered()
        self.tally.undelivered = len(wanted - set(found))
        if self.tally.undelivered:
            self.tally.violations.append(f"{self.tally.undelivered} events never delivered")
        twice = {event: ids for event, ids in found.items() if len(ids) > 1}
        arrived = Counter(r.json.get("id") for r in self.receiver.requests)
        self.tally.duplicate_deliveries = sum(arrived[e] - 1 for e in found)
        for event, ids in twice.items():
            self.tally.violations.append(f"event {event} delivered under {len(ids)} delivery ids")
