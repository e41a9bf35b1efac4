"""CodeCommit API throughput: signed requests against the same server's trivial endpoint.

Measures, on one `gitserver serve` (SQLite, no SSH):
- requests/s of `GET /healthz` (the anchor: aiohttp plus one trivial SQL query),
  of `GetRepository` and of `GetFile` (SigV4 verified, authorized, audited), with the
  same client doing the same signing work for all three, and their ratios to the anchor;
- `PutFile` latency (p50, p99) with 4 concurrent writers, each to its own branch.

    scripts/bench  (BENCH=api)      or      .venv/bin/python benchmarks/api.py [--seconds S]
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


async def measure(server: GitServer, repo: str, seconds: float) -> dict[str, float]:
    client = Client(f"http://127.0.0.1:{server.port}", server.cli("access-key", "create", "admin"))
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as http:
        get_repo = {"repositoryName": repo}
        get_file = {"repositoryName": repo, "filePath": "README.md"}
        await client.call(http, "GetRepository", get_repo)  # warm caches and connections
        pid = server.process.pid if server.process else 0
        cpu: dict[str, float] = {}
        results: dict[str, float] = {}
        for name, one in (
            ("healthz", lambda: client.health(http)),
            ("GetRepository", lambda: client.call(http, "GetRepository", get_repo)),
            ("GetFile", lambda: client.call(http, "GetFile", get_file)),
        ):
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
    args, _ = parser.parse_known_args(argv)
    seconds = 1.0 if args.quick else args.seconds
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


if __name__ == "__main__":
    raise SystemExit(main())
