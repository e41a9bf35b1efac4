"""Load and scale-out: concurrent clients against one `gitserver serve`, then two sharing
one PostgreSQL and one data directory, and pushes racing to one branch through both.

1. One server on PostgreSQL: `--clients` (50) clients for `--duration` (120 s) seconds,
   each a loop of bare clones, fetches, pushes to its own branch, API reads (GetBranch,
   GetRepository, ListPullRequests), API writes (PutFile on its own branch), comments on
   a pull request and web pages (signed in). Every answer is checked; p50/p99 per
   operation, errors and the server's peak RssAnon are printed.
2. The same with two servers (the clients alternate between them).
3. Races through both servers: two clients push different commits to ONE branch with the
   same old value at once, one through each server, `--races` times; then two PutFile
   calls with the same parent. Exactly one of each pair must win and the loser be told,
   and the ledger must have exactly one event per applied change.

    scripts/bench (BENCH=load) [--quick] [--clients N] [--duration S] [--races N]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from events import drop_database, pg_database
from servers import GITSERVER, RssSampler, stop_group

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "Load",
    "GIT_AUTHOR_EMAIL": "load@example.com",
    "GIT_COMMITTER_NAME": "Load",
    "GIT_COMMITTER_EMAIL": "load@example.com",
    "LC_ALL": "C",
}
WEIGHTS = {
    "clone": 1,
    "fetch": 3,
    "push": 3,
    "api_read": 4,
    "api_write": 2,
    "pr_comment": 2,
    "web": 3,
}
REPOS = 5


def run_git(*args: str, cwd: Path | None = None, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**GIT_ENV, "HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin"}
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


class Serve:
    """One `gitserver serve` on a shared data directory and database."""

    def __init__(self, data: Path, url: str, log: Path) -> None:
        self.data, self.url, self.log = data, url, log
        self.port = 0
        self.password = ""
        out = log.open("wb")
        # Every client is on 127.0.0.1: the per-address caps (64 connections, 32 git
        # processes per user) are for clients on many addresses, and would refuse these.
        args = [
            "--http", "127.0.0.1:0", "--no-ssh",
            "--http-max-git-processes-per-user", "256",
            "--http-max-connections-per-ip", "1024",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            [GITSERVER, "serve", "--data", str(data), "--database-url", url, *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while not self.port:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gitserver did not start; see {log}")
            text = log.read_text(errors="replace")
            if found := re.search(r"HTTP listening on http://127\.0\.0\.1:(\d+)", text):
                self.port = int(found.group(1))
                if password := re.search(r"Created user admin with password: (\S+)", text):
                    self.password = password.group(1)
            time.sleep(0.05)

    def cli(self, *args: str) -> Any:
        out = subprocess.run(
            [str(GITSERVER), *args, "--data", str(self.data), "--database-url", self.url,
             "--base-url", f"http://127.0.0.1:{self.port}", "--json"],
            check=True, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        return json.loads(out.stdout) if out.stdout.strip() else None

    def stop(self) -> None:
        stop_group(self.process, grace=30)


@dataclass
class Stats:
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, op: str, seconds: float, error: str | None) -> None:
        with self.lock:
            if error is None:
                self.times[op].append(seconds)
            else:
                self.errors.append(f"{op}: {error[:300]}")


@dataclass
class Setup:
    """What the clients share: servers, credentials, repositories, pull requests."""

    servers: list[Serve]
    password: str
    key: dict[str, str]
    repos: list[str]
    pulls: dict[str, dict[str, str]]  # repo -> pullRequestId, beforeCommitId, afterCommitId


class Client:
    def __init__(self, index: int, setup: Setup, scratch: Path, stats: Stats, seed: int) -> None:
        self.index, self.setup, self.stats = index, setup, stats
        self.server = setup.servers[index % len(setup.servers)]
        self.repo = setup.repos[index % len(setup.repos)]
        self.rng = random.Random(seed + index)
        self.home = scratch / f"home{index}"
        self.home.mkdir(parents=True)
        self.work = scratch / f"work{index}"
        self.branch = f"load-{index}"
        self.api = api_client(self.server.port, setup.key)
        self.cookie = ""
        self.file_parent = ""

    def url(self) -> str:
        return repo_url(self.server.port, self.setup.password, self.repo)

    def prepare(self) -> None:
        done = run_git("clone", "-q", self.url(), str(self.work), home=self.home)
        assert done.returncode == 0, done.stderr
        run_git(
            "push", "-q", "origin", f"HEAD:refs/heads/{self.branch}", cwd=self.work, home=self.home
        )
        head = run_git("rev-parse", "HEAD", cwd=self.work, home=self.home).stdout.strip()
        self.api.create_branch(
            repositoryName=self.repo, branchName=f"api-{self.index}", commitId=head
        )
        self.file_parent = head
        self.cookie = sign_in(self.server.port, self.setup.password)

    def loop(self, until: float) -> None:
        ops = [op for op, weight in WEIGHTS.items() for _ in range(weight)]
        while time.monotonic() < until:
            op = self.rng.choice(ops)
            started = time.perf_counter()
            try:
                error = getattr(self, op)()
            except Exception as exc:  # every failure is counted, none stops the client
                error = f"{type(exc).__name__}: {exc}"
            self.stats.record(op, time.perf_counter() - started, error)

    def clone(self) -> str | None:
        target = self.home / "clone.git"
        done = run_git("clone", "-q", "--bare", self.url(), str(target), home=self.home)
        shutil.rmtree(target, ignore_errors=True)
        return None if done.returncode == 0 else done.stderr

    def fetch(self) -> str | None:
        done = run_git("fetch", "-q", "origin", cwd=self.work, home=self.home)
        return None if done.returncode == 0 else done.stderr

    def push(self) -> str | None:
        (self.work / f"c{self.index}.txt").write_text(f"{self.rng.random()}\n")
        run_git("add", "-A", cwd=self.work, home=self.home)
        run_git("commit", "-q", "-m", "load", cwd=self.work, home=self.home)
        done = run_git(
            "push", "-q", "origin", f"HEAD:refs/heads/{self.branch}", cwd=self.work, home=self.home
        )
        return None if done.returncode == 0 else done.stderr

    def api_read(self) -> str | None:
        call = self.rng.choice(("branch", "repo", "pulls"))
        if call == "branch":
            self.api.get_branch(repositoryName=self.repo, branchName="main")
        elif call == "repo":
            self.api.get_repository(repositoryName=self.repo)
        else:
            self.api.list_pull_requests(repositoryName=self.repo)
        return None

    def api_write(self) -> str | None:
        answer = self.api.put_file(
            repositoryName=self.repo,
            branchName=f"api-{self.index}",
            fileContent=f"{self.rng.random()}\n".encode(),
            filePath=f"api/{self.index}.txt",
            parentCommitId=self.file_parent,
        )
        self.file_parent = answer["commitId"]
        return None

    def pr_comment(self) -> str | None:
        pull = self.setup.pulls[self.repo]
        self.api.post_comment_for_pull_request(
            pullRequestId=pull["id"],
            repositoryName=self.repo,
            beforeCommitId=pull["before"],
            afterCommitId=pull["after"],
            content=f"load comment {self.rng.random()}",
        )
        return None

    def web(self) -> str | None:
        pull = self.setup.pulls[self.repo]["id"]
        path = self.rng.choice(
            (f"/repositories/{self.repo}", f"/repositories/{self.repo}/log/main",
             f"/repositories/{self.repo}/pull-requests/{pull}")
        )  # fmt: skip
        status, body = http_get(self.server.port, path, self.cookie)
        return None if status == 200 else f"{path}: {status} {body[:200]!r}"


def repo_url(port: int, password: str, name: str) -> str:
    return f"http://admin:{urllib.parse.quote(password, safe='')}@127.0.0.1:{port}/v1/repos/{name}"


def api_client(port: int, key: dict[str, str]) -> Any:
    return boto3.client(
        "codecommit",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        config=Config(retries={"max_attempts": 1}, read_timeout=120),
    )


def http_get(port: int, path: str, cookie: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def sign_in(port: int, password: str) -> str:
    """A signed-in session cookie, through the sign-in form (CSRF included)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", "/sign-in")
        response = conn.getresponse()
        page = response.read().decode()
        cookies = [
            h.split(";", 1)[0] for k, h in response.getheaders() if k.lower() == "set-cookie"
        ]
        csrf = re.search(r'name="csrf" value="([^"]*)"', page)
        assert csrf, page[:300]
        form = urllib.parse.urlencode(
            {"csrf": csrf.group(1), "username": "admin", "password": password, "next": "/"}
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(cookies),
        }
        conn.request("POST", "/sign-in", body=form, headers=headers)
        response = conn.getresponse()
        response.read()
        got = [h.split(";", 1)[0] for k, h in response.getheaders() if k.lower() == "set-cookie"]
        assert response.status in (302, 303) and got, response.status
        return "; ".join(got)
    finally:
        conn.close()


def make_setup(servers: list[Serve], scratch: Path) -> Setup:
    first = servers[0]
    key = first.cli("access-key", "create", "admin")
    repos = [f"load{i}" for i in range(REPOS)]
    home = scratch / "seed-home"
    home.mkdir(parents=True, exist_ok=True)
    api = api_client(first.port, key)
    pulls = {}
    for name in repos:
        first.cli("repo", "create", name)
        work = scratch / f"seed-{name}"
        run_git("init", "-q", "-b", "main", str(work), home=home)
        for i in range(20):
            (work / f"f{i % 5}.txt").write_text(f"{name} {i}\n" * (i + 1))
            run_git("add", "-A", cwd=work, home=home)
            run_git("commit", "-q", "-m", f"seed {i}", cwd=work, home=home)
        run_git("checkout", "-q", "-b", "feature", cwd=work, home=home)
        (work / "feature.txt").write_text("feature\n")
        run_git("add", "-A", cwd=work, home=home)
        run_git("commit", "-q", "-m", "feature", cwd=work, home=home)
        url = repo_url(first.port, first.password, name)
        done = run_git("push", "-q", url, "main", "feature", cwd=work, home=home)
        assert done.returncode == 0, done.stderr
        pull = api.create_pull_request(
            title=f"load {name}",
            targets=[
                {
                    "repositoryName": name,
                    "sourceReference": "feature",
                    "destinationReference": "main",
                }
            ],
        )["pullRequest"]
        target = pull["pullRequestTargets"][0]
        pulls[name] = {
            "id": pull["pullRequestId"],
            "before": target["destinationCommit"],
            "after": target["sourceCommit"],
        }
    return Setup(servers, first.password, key, repos, pulls)


def run_load(setup: Setup, scratch: Path, clients: int, duration: float, seed: int) -> Stats:
    stats = Stats()
    team = [Client(i, setup, scratch, stats, seed) for i in range(clients)]
    # Clones and sign-ins, a few at a time: sequential, 50 of them take minutes.
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(Client.prepare, team))
    samplers = [RssSampler(s.process.pid, interval=0.1) for s in setup.servers]
    for sampler in samplers:
        sampler.start()
    until = time.monotonic() + duration
    threads = [threading.Thread(target=c.loop, args=(until,), daemon=True) for c in team]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + 600)
    for sampler, server in zip(samplers, setup.servers, strict=True):
        sampler.stop()
        server.peak_kb = sampler.peaks.get("all", 0)  # type: ignore[attr-defined]
    return stats


def print_stats(title: str, stats: Stats, servers: list[Serve], duration: float) -> None:
    total = sum(len(t) for t in stats.times.values())
    print(f"\n{title}: {total} operations in {duration:.0f} s ({total / duration:.1f}/s),"
          f" {len(stats.errors)} errors")  # fmt: skip
    print(f"  {'operation':<12} {'count':>6} {'p50 ms':>8} {'p99 ms':>8}")
    for op in WEIGHTS:
        values = sorted(stats.times.get(op, []))
        if not values:
            print(f"  {op:<12} {0:>6} {'-':>8} {'-':>8}")
            continue
        p50 = statistics.median(values) * 1000
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))] * 1000
        print(f"  {op:<12} {len(values):>6} {p50:>8.0f} {p99:>8.0f}")
    for i, server in enumerate(servers):
        print(f"  server {i + 1} peak RssAnon {getattr(server, 'peak_kb', 0) / 1024:.1f} MiB")
    for error in stats.errors[:10]:
        print(f"  !! {error}")


@dataclass
class RaceResult:
    pushes: int = 0
    push_wins: int = 0
    puts: int = 0
    put_wins: int = 0
    problems: list[str] = field(default_factory=list)


def _at_once(*calls: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # the loser's answer
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return results


def receive_pack_body(work: Path, home: Path, old: str) -> bytes:
    """A receive-pack request: `old HEAD refs/heads/main` and the pack of HEAD ^old."""
    new = run_git("rev-parse", "HEAD", cwd=work, home=home).stdout.strip()
    pack = subprocess.run(
        ["git", "pack-objects", "--revs", "--stdout", "-q"],
        cwd=work,
        input=f"{new}\n^{old}\n".encode(),
        capture_output=True,
        check=True,
    ).stdout
    line = f"{old} {new} refs/heads/main\0report-status agent=load\n".encode()
    return f"{len(line) + 4:04x}".encode() + line + b"0000" + pack


def post_receive_pack(port: int, password: str, name: str, body: bytes) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        token = base64.b64encode(f"admin:{password}".encode()).decode()
        conn.request(
            "POST",
            f"/v1/repos/{name}/git-receive-pack",
            body=body,
            headers={
                "Authorization": f"Basic {token}",
                "Content-Type": "application/x-git-receive-pack-request",
            },
        )
        response = conn.getresponse()
        return f"{response.status} ".encode() + response.read()
    finally:
        conn.close()


def race(setup: Setup, scratch: Path, rounds: int) -> RaceResult:
    """Pairs of pushes (and PutFiles) with the same old value, one through each server."""
    a, b = setup.servers[:2]
    name = "race"
    a.cli("repo", "create", name)
    home = scratch / "race-home"
    home.mkdir()
    works = []
    for i, server in enumerate((a, b)):
        url = repo_url(server.port, setup.password, name)
        work = scratch / f"race{i}"
        run_git("init", "-q", "-b", "main", str(work), home=home)
        run_git("remote", "add", "origin", url, cwd=work, home=home)
        works.append(work)
    (works[0] / "a.txt").write_text("base\n")
    run_git("add", "-A", cwd=works[0], home=home)
    run_git("commit", "-q", "-m", "base", cwd=works[0], home=home)
    assert run_git("push", "-q", "origin", "main", cwd=works[0], home=home).returncode == 0
    result = RaceResult()
    for round_ in range(rounds):
        base = run_git("ls-remote", "origin", "refs/heads/main", cwd=works[0], home=home)
        old = base.stdout.split()[0]
        bodies = []
        for i, work in enumerate(works):
            run_git("fetch", "-q", "origin", cwd=work, home=home)
            run_git("reset", "-q", "--hard", old, cwd=work, home=home)
            (work / f"side{i}.txt").write_text(f"{round_}\n")
            run_git("add", "-A", cwd=work, home=home)
            run_git("commit", "-q", "-m", f"side {i} round {round_}", cwd=work, home=home)
            bodies.append(receive_pack_body(work, home, old))
        # Both carry the same old value, whatever either client saw: git's compare-and-swap
        # on the ref, not the client's fast-forward check, has to pick the winner.
        done = _at_once(
            *[
                lambda s=s, body=body: post_receive_pack(s.port, setup.password, name, body)
                for s, body in zip((a, b), bodies, strict=True)
            ]
        )
        wins = [b"ok refs/heads/main" in d for d in done]
        told = [b"ng refs/heads/main" in d for d in done]
        result.pushes += 1
        result.push_wins += sum(wins)
        if sum(wins) != 1 or sum(told) != 1:
            result.problems.append(f"push round {round_}: {sum(wins)} winners: {done}")
    clients = [api_client(s.port, setup.key) for s in (a, b)]
    for round_ in range(rounds):
        parent = clients[0].get_branch(repositoryName=name, branchName="main")["branch"]["commitId"]

        def put(client: Any, i: int, parent: str = parent, round_: int = round_) -> Any:
            return client.put_file(
                repositoryName=name,
                branchName="main",
                fileContent=f"{round_} {i}\n".encode(),
                filePath=f"put{i}.txt",
                parentCommitId=parent,
            )

        done = _at_once(*[lambda c=c, i=i: put(c, i) for i, c in enumerate(clients)])
        wins = [not isinstance(d, Exception) for d in done]
        result.puts += 1
        result.put_wins += sum(wins)
        if sum(wins) != 1:
            result.problems.append(f"PutFile round {round_}: {sum(wins)} winners: {done}")
        for d in done:
            if isinstance(d, Exception) and not (
                isinstance(d, ClientError)
                and d.response["Error"]["Code"] == "ParentCommitIdOutdatedException"
            ):
                result.problems.append(f"PutFile round {round_}: the loser got {d!r}")
    # The ledger: exactly one event per applied change, chained, ending where git is.
    events = [
        e
        for e in a.cli("event", "list", "--repo", name)["events"]
        if e["type"].startswith("reference")
    ]
    applied = 1 + result.push_wins + result.put_wins
    if len(events) != applied:
        result.problems.append(f"{len(events)} reference events for {applied} applied changes")
    chain = "0" * 40
    for event in sorted(events, key=lambda e: e["seq"]):
        old = event["detail"].get("oldCommitId") or "0" * 40
        if old != chain:
            result.problems.append(
                f"event {event['seq']} starts at {old[:10]}, the ref was {chain[:10]}"
            )
        chain = event["detail"]["commitId"]
    head = run_git(
        "ls-remote", "origin", "refs/heads/main", cwd=works[0], home=home
    ).stdout.split()[0]
    if chain != head:
        result.problems.append(f"events end at {chain[:10]}, main is {head[:10]}")
    return result


def print_race(result: RaceResult) -> None:
    print(
        f"\nRaces through both servers: {result.pushes} push pairs, {result.push_wins} wins;"
        f" {result.puts} PutFile pairs, {result.put_wins} wins; {len(result.problems)} problems"
    )
    for problem in result.problems[:10]:
        print(f"  !! {problem}")


def tracebacks(servers: list[Serve]) -> bool:
    found = False
    for i, server in enumerate(servers):
        text = server.log.read_text(errors="replace")
        if "Traceback" in text:
            found = True
            print(f"  !! server {i + 1} logged a traceback (see {server.log}):")
            print("     " + text[text.index("Traceback") :][:1500].replace("\n", "\n     "))
    return found


def phase(count: int, args: argparse.Namespace) -> bool:
    """One server (count 1) or two on one data directory; True when something failed."""
    created = pg_database()
    if created is None:
        print("  PostgreSQL not reachable at 127.0.0.1:5432: skipped")
        return True
    url, db_name = created
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        scratch = Path(tmp)
        servers: list[Serve] = []
        try:
            for i in range(count):
                servers.append(Serve(scratch / "data", url, scratch / f"serve{i + 1}.log"))
            setup = make_setup(servers, scratch)
            stats = run_load(setup, scratch, args.clients, args.duration, args.seed)
            title = f"{count} server{'s' if count > 1 else ''} on PostgreSQL"
            print_stats(title, stats, servers, args.duration)
            failed |= bool(stats.errors)
            if count == 2:
                result = race(setup, scratch, args.races)
                print_race(result)
                failed |= bool(result.problems)
            failed |= tracebacks(servers)
        finally:
            for server in servers:
                server.stop()
            drop_database(db_name)
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--clients", type=int)
    parser.add_argument("--duration", type=float)
    parser.add_argument("--races", type=int)
    parser.add_argument("--servers", default="1,2", help="phases to run: 1, 2 or 1,2")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    args, _ = parser.parse_known_args(argv)
    args.clients = args.clients or (10 if args.quick else 50)
    args.duration = args.duration or (20.0 if args.quick else 120.0)
    args.races = args.races or (5 if args.quick else 20)
    print(f"\nLoad: {args.clients} clients, {args.duration:.0f} s per phase, seed {args.seed}")
    failed = False
    for count in (int(c) for c in args.servers.split(",")):
        failed |= phase(count, args)
    print(f"\nLoad: {'FAILED' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
