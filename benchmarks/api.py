"""CodeCommit API throughput: signed requests against the same server's trivial endpoint.

Measures, on one `gitserver serve` (SQLite, no SSH):
- requests/s of `GET /healthz` (the anchor: aiohttp plus one trivial SQL query),
  of `GetRepository` and of `GetFile` (SigV4 verified, authorized, audited), with the
  same client doing the same signing work for all three, and their ratios to the anchor;
- `PutFile` latency (p50, p99) with 4 concurrent writers, each to its own branch.

With `--against TREE` (another source tree, e.g. `git worktree add /tmp/base BASE`), a
before/after on the same machine: a server from that tree and one from this, their rates
taken in turn (the order swapped each round) for `--rounds` rounds, medians printed;
other work on the machine then weighs on both alike.

    scripts/bench  (BENCH=api)      or      .venv/bin/python benchmarks/api.py [--seconds S]
    .venv/bin/python benchmarks/api.py --against /tmp/base --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from servers import GitServer

CONCURRENCY = 8
WRITERS = 4
WRITES_PER_WRITER = 25


class Client:
    def __init__(self, base: str, key: dict[str, Any]) -> None:
        self.base = base
        self.signer = SigV4Auth(
            Credentials(key["AccessKeyId"], key["SecretAccessKey"]), "codecommit", "us-east-1"
        )

    def signed(self, operation: str, params: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(params).encode()
        request = AWSRequest(
            method="POST",
            url=self.base + "/",
            data=body,
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": f"CodeCommit_20150413.{operation}",
            },
        )
        self.signer.add_auth(request)
        return body, dict(request.headers)

    async def call(
        self, http: aiohttp.ClientSession, operation: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        body, headers = self.signed(operation, params)
        async with http.post(self.base + "/", data=body, headers=headers) as response:
            payload = await response.json(content_type=None)
            if response.status != 200:
                raise RuntimeError(f"{operation}: {payload}")
            return dict(payload)

    async def health(self, http: aiohttp.ClientSession) -> None:
        self.signed("GetRepository", {"repositoryName": "x"})  # the same client-side work
        async with http.get(self.base + "/healthz") as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError("healthz failed")


def server_cpu_ms(pid: int) -> float:
    """CPU time (user + system, every thread) the server process has used, in ms."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        fields = Path(f"/proc/{pid}/task/{task}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total * 1000 / os.sysconf("SC_CLK_TCK")


async def rate(
    seconds: float, one: Any, pid: int = 0, cpu: dict[str, float] | None = None
) -> float:
    """Requests/s of `one` at CONCURRENCY; with `pid`, the server's CPU ms per request
    goes in `cpu["last"]` (load on the machine changes rates, much less this)."""
    before = server_cpu_ms(pid) if pid else 0.0
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await one()
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    if pid and cpu is not None:
        cpu["last"] = (server_cpu_ms(pid) - before) / max(done, 1)
    return done / (time.perf_counter() - start)


async def put_latencies(client: Client, http: aiohttp.ClientSession, repo: str) -> list[float]:
    base = await client.call(http, "GetBranch", {"repositoryName": repo, "branchName": "main"})
    tip = base["branch"]["commitId"]
    for n in range(WRITERS):
        await client.call(
            http, "CreateBranch", {"repositoryName": repo, "branchName": f"w{n}", "commitId": tip}
        )
    latencies: list[float] = []

    async def writer(n: int) -> None:
        parent = tip
        for i in range(WRITES_PER_WRITER):
            content = base64.b64encode(f"writer {n} write {i}\n".encode()).decode()
            started = time.perf_counter()
            result = await client.call(
                http,
                "PutFile",
                {
                    "repositoryName": repo,
                    "branchName": f"w{n}",
                    "fileContent": content,
                    "filePath": f"w{n}.txt",
                    "parentCommitId": parent,
                    "commitMessage": f"write {i}",
                },
            )
            latencies.append(time.perf_counter() - started)
            parent = result["commitId"]

    await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    return latencies


def seed(server: GitServer, scratch: Path) -> str:
    repo = "bench-api"
    server.create(repo)
    work = scratch / "work"
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    (work / "README.md").write_text("benchmark file\n" * 500)
    subprocess.run(["git", "-C", str(work), "add", "README.md"], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(work),
            "-c",
            "user.name=b",
            "-c",
            "user.email=b@x",
            "commit",
            "-qm",
            "seed",
        ],
        check=True,
    )
    subprocess.run(["git", "-C", str(work), "push", "-q", server.url(repo), "main"], check=True)
    return repo


def calls(client: Client, http: aiohttp.ClientSession, repo: str) -> dict[str, Any]:
    """The measured requests, by name: the anchor first."""
    get_repo = {"repositoryName": repo}
    get_file = {"repositoryName": repo, "filePath": "README.md"}
    return {
        "healthz": lambda: client.health(http),
        "GetRepository": lambda: client.call(http, "GetRepository", get_repo),
        "GetFile": lambda: client.call(http, "GetFile", get_file),
    }


async def compare(
    servers: dict[str, tuple[GitServer, str]], seconds: float, rounds: int
) -> dict[str, dict[str, list[float]]]:
    """Each server's rates and CPU per request, the servers taken in turn for each request."""
    found: dict[str, dict[str, list[float]]] = {label: {} for label in servers}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY * len(servers))
    async with aiohttp.ClientSession(connector=connector) as http:
        ones = {}
        for label, (server, repo) in servers.items():
            client = Client(
                f"http://127.0.0.1:{server.port}", server.cli("access-key", "create", "admin")
            )
            ones[label] = calls(client, http, repo)
            await ones[label]["GetFile"]()  # warm caches and connections
        for round_ in range(rounds):
            for name in ("healthz", "GetRepository", "GetFile"):
                order = list(servers) if round_ % 2 == 0 else list(servers)[::-1]
                for label in order:
                    cpu: dict[str, float] = {}
                    rate_ = await rate(seconds, ones[label][name], servers[label][0].pid, cpu)
                    found[label].setdefault(name, []).append(rate_)
                    found[label].setdefault(f"{name} cpu ms", []).append(cpu["last"])
    return found


async def measure(server: GitServer, repo: str, seconds: float) -> dict[str, float]:
    client = Client(f"http://127.0.0.1:{server.port}", server.cli("access-key", "create", "admin"))
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as http:
        ones = calls(client, http, repo)
        await ones["GetRepository"]()  # warm caches and connections
        pid = server.process.pid if server.process else 0
        cpu: dict[str, float] = {}
        results: dict[str, float] = {}
        for name, one in ones.items():
            results[name] = await rate(seconds, one, pid, cpu)
            results[f"{name} cpu ms"] = cpu.get("last", 0.0)
        latencies = sorted(await put_latencies(client, http, repo))
    results["PutFile p50 ms"] = statistics.median(latencies) * 1000
    results["PutFile p99 ms"] = latencies[int(len(latencies) * 0.99) - 1] * 1000
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="1 second per rate")
    parser.add_argument("--against", type=Path, help="a source tree to compare with")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --against")
    args, _ = parser.parse_known_args(argv)
    seconds = 1.0 if args.quick else args.seconds
    if args.against:
        return before_after(args.against.resolve(), seconds, args.rounds)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        scratch = Path(tmp)
        server = GitServer(scratch)
        server.start()
        try:
            repo = seed(server, scratch)
            results = asyncio.run(measure(server, repo, seconds))
        finally:
            server.stop()
    anchor = results["healthz"]
    print(f"\nCodeCommit API, {CONCURRENCY} concurrent signed clients, {seconds:.0f} s each")
    cpu = results["healthz cpu ms"]
    print(f"  {'GET /healthz (anchor)':<28} {anchor:8.0f} req/s   server CPU {cpu:5.2f} ms/request")
    for name in ("GetRepository", "GetFile"):
        own = results[f"{name} cpu ms"]
        print(
            f"  {name:<28} {results[name]:8.0f} req/s   {results[name] / anchor:5.2f}x anchor"
            f"   server CPU {own:5.2f} ms/request ({own / cpu if cpu else 0:4.1f}x anchor's)"
        )
    print(
        f"  PutFile, {WRITERS} writers x {WRITES_PER_WRITER}: "
        f"p50 {results['PutFile p50 ms']:.1f} ms, p99 {results['PutFile p99 ms']:.1f} ms"
    )
    return 0


def before_after(tree: Path, seconds: float, rounds: int) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        servers: dict[str, tuple[GitServer, str]] = {}
        try:
            for label, source in (("before", tree), ("after", None)):
                scratch = Path(tmp) / label
                scratch.mkdir()
                server = GitServer(scratch, source)
                server.start()
                servers[label] = (server, seed(server, scratch))
            found = asyncio.run(compare(servers, seconds, rounds))
        finally:
            for server, _ in servers.values():
                server.stop()
    print(f"\nCodeCommit API, {CONCURRENCY} concurrent signed clients, {seconds:.0f} s each,")
    print(f"  before: {tree}, after: this tree; medians of {rounds} alternating rounds")
    for label in ("before", "after"):
        median = {name: statistics.median(values) for name, values in found[label].items()}
        anchor = median["healthz"]
        for name in ("healthz", "GetRepository", "GetFile"):
            print(
                f"  {label:<7} {name:<14} {median[name]:6.0f} req/s  {median[name] / anchor:5.2f}x"
                f" anchor   server CPU {median[f'{name} cpu ms']:5.2f} ms/request"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
