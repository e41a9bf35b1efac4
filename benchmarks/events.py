"""Event delivery: push -> first delivery latency, and dispatcher throughput.

1. Latency: one `gitserver serve` (SQLite, in-process dispatcher), a webhook to a local
   receiver that answers 200 at once, 200 pushes one after another; latency is the
   receiver's clock minus the event's time (stored when the server settles the push).
   Targets: p50 < 50 ms, p99 < 250 ms.
2. Throughput: deliveries queued with the dispatcher off (`--no-workers`), then K
   `gitserver worker` processes started and timed until the receiver has them all;
   SQLite with 1 worker, PostgreSQL with 1 and 2. Target: >= 1,000/s with 2 workers on
   PostgreSQL. Printed beside it: when the first delivery arrived (the workers'
   start-up) and the rate from the first delivery to the last.
3. With `--sustained N`, also 2 workers on PostgreSQL on a queue of about N deliveries
   (8 repositories x N/8 events): the workers' start-up weighs less in its rate.

    scripts/bench (BENCH=events)    or    .venv/bin/python benchmarks/events.py [--quick]
    [--throughput-only | --latency-only [--pushes N]] [--sustained 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiohttp import web
from servers import GITSERVER, free_port, stop_group

PG_ADMIN = os.environ.get(
    "GITSERVER_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


class Receiver:
    """Answers 200 at once and notes when each body arrived."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, bytes]] = []
        self.port = free_port()
        self._lock = threading.Lock()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self._lock:
            self.arrivals.append((time.time(), body))
        return web.Response(text="ok")

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            app = web.Application()
            app.router.add_post("/{tail:.*}", self._handle)
            runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
            ready.set()
            loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)

    def count(self) -> int:
        with self._lock:
            return len(self.arrivals)


class Instance:
    """A data directory and database, driven through the CLI."""

    def __init__(self, scratch: Path, database_url: str) -> None:
        self.data = scratch / f"data-{uuid.uuid4().hex[:6]}"
        self.url = database_url or f"sqlite+aiosqlite:///{self.data / 'gitserver.db'}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.port = 0
        self.password = ""

    def cli(self, *args: str) -> dict[str, object]:
        out = subprocess.run(
            [GITSERVER, *args, "--data", str(self.data), "--database-url", self.url, "--json"],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
        return dict(json.loads(out.stdout or "{}"))

    def serve(self, *extra: str) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        log = (self.data.parent / f"{self.data.name}.log").open("wb")
        process = subprocess.Popen(
            [
                GITSERVER,
                "serve",
                "--data",
                str(self.data),
                "--database-url",
                self.url,
                "--http",
                "127.0.0.1:0",
                "--no-ssh",
                "--webhook-allowed-hosts",
                "127.0.0.1",
                "--maintenance-delay",
                "60",
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
        self.processes.append(process)
        assert process.stdout is not None
        while not self.port:
            line = process.stdout.readline().decode()
            if not line:
                raise RuntimeError("gitserver did not start")
            if line.startswith("Created user admin with password: "):
                self.password = line.split(": ", 1)[1].strip()
            if "HTTP listening on" in line:
                self.port = int(line.rsplit(":", 1)[1])
        threading.Thread(target=process.stdout.read, daemon=True).start()

    def workers(self, count: int) -> None:
        for _ in range(count):
            self.processes.append(
                subprocess.Popen(
                    [
                        GITSERVER,
                        "worker",
                        "--data",
                        str(self.data),
                        "--database-url",
                        self.url,
                        "--webhook-allowed-hosts",
                        "127.0.0.1",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )

    def repo_url(self, name: str) -> str:
        from urllib.parse import quote

        return f"http://admin:{quote(self.password, safe='')}@127.0.0.1:{self.port}/v1/repos/{name}"

    def stop(self) -> None:
        for process in self.processes:
            stop_group(process)


def git(*args: str, cwd: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def latency(scratch: Path, pushes: int) -> dict[str, float]:
    receiver = Receiver()
    receiver.start()
    instance = Instance(scratch, "")
    instance.serve()
    try:
        instance.cli("repo", "create", "lat")
        instance.cli(
            "webhook",
            "create",
            "--repo",
            "lat",
            "--events",
            "push",
            "--url",
            f"http://127.0.0.1:{receiver.port}/hook",
        )
        work = scratch / "lat-work"
        git("init", "-q", "-b", "main", str(work), cwd=scratch)
        (work / "f").write_text("0")
        git("add", "f", cwd=work)
        for n in range(pushes):
            (work / "f").write_text(str(n))
            git("commit", "-qam", f"c{n}", cwd=work)
            git("push", "-q", instance.repo_url("lat"), "main", cwd=work)
        deadline = time.monotonic() + 60
        while receiver.count() < pushes + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        instance.stop()
    values = []
    for arrived, body in receiver.arrivals:
        payload = json.loads(body)
        if "time" in payload:
            sent = datetime.fromisoformat(payload["time"].replace("Z", "+00:00")).timestamp()
            values.append((arrived - sent) * 1000)
    values.sort()
    return {
        "pushes": len(values),
        "p50_ms": statistics.median(values),
        "p99_ms": values[max(0, int(len(values) * 0.99) - 1)],
    }


@dataclass(frozen=True)
class Throughput:
    rate: float  # deliveries / (worker start -> last delivery): the figure with its target
    first: float  # seconds from starting the workers to the first delivery (start-up)
    steady: float  # deliveries / (first -> last delivery)


def throughput(scratch: Path, database_url: str, workers: int, repos: int, tags: int) -> Throughput:
    receiver = Receiver()
    receiver.start()
    instance = Instance(scratch, database_url)
    instance.serve("--no-workers")
    try:
        instance.cli(
            "webhook",
            "create",
            "--events",
            "push",
            "--url",
            f"http://127.0.0.1:{receiver.port}/hook",
        )
        work = scratch / f"tp-{uuid.uuid4().hex[:6]}"
        git("init", "-q", "-b", "main", str(work), cwd=scratch)
        (work / "f").write_text("x")
        git("add", "f", cwd=work)
        git("commit", "-qm", "x", cwd=work)
        for n in range(tags):
            git("tag", f"t{n}", cwd=work)
        for r in range(repos):
            instance.cli("repo", "create", f"tp{r}")
            git("push", "-q", instance.repo_url(f"tp{r}"), "main", "--tags", cwd=work)
        expected = repos * (tags + 1) + 1  # + the ping
        started = time.time()
        instance.workers(workers)
        deadline = started + 600
        while receiver.count() < expected and time.time() < deadline:
            time.sleep(0.02)
        elapsed = time.time() - started
        times = sorted(t for t, _ in receiver.arrivals)
        return Throughput(
            receiver.count() / elapsed,
            times[0] - started,
            (len(times) - 1) / max(times[-1] - times[0], 1e-9),
        )
    finally:
        instance.stop()


def _detail(result: Throughput) -> str:
    """Start-up apart from sending: the rate counts from starting the worker processes."""
    return f" (first after {result.first:.1f} s, then {result.steady:.0f}/s)"


def pg_database() -> tuple[str, str] | None:
    import asyncpg

    name = f"gitserver_bench_{uuid.uuid4().hex[:8]}"
    dsn = PG_ADMIN.replace("+asyncpg", "")

    async def create() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    try:
        asyncio.run(create())
    except OSError:
        return None
    return PG_ADMIN.rpartition("/")[0] + f"/{name}", name


def drop_database(name: str) -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN.replace("+asyncpg", ""))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--throughput-only", action="store_true", help="skip the latency run and SQLite"
    )
    parser.add_argument(
        "--sustained",
        type=int,
        default=0,
        metavar="N",
        help="also 2 PostgreSQL workers on a queue of about N deliveries",
    )
    parser.add_argument(
        "--latency-only", action="store_true", help="only the push -> first delivery run"
    )
    parser.add_argument("--pushes", type=int, default=0, help="pushes in the latency run")
    args, _ = parser.parse_known_args(argv)
    pushes, repos, tags = (40, 4, 250) if args.quick else (200, 8, 500)
    pushes = args.pushes or pushes
    with tempfile.TemporaryDirectory(prefix="bench-events-") as tmp:
        scratch = Path(tmp)
        if not args.throughput_only:
            lat = latency(scratch, pushes)
            print(
                f"\nPush -> first delivery, {lat['pushes']:.0f} pushes"
                " (SQLite, in-process dispatcher)"
            )
            print(
                f"  p50 {lat['p50_ms']:.1f} ms (target < 50)"
                f"   p99 {lat['p99_ms']:.1f} ms (target < 250)"
            )
        if args.latency_only:
            return 0
        print(
            f"\nDispatcher throughput, {repos} repositories x {tags + 1} events,"
            " receiver answers at once"
        )
        if not args.throughput_only:
            result = throughput(scratch, "", 1, repos, tags)
            print(f"  SQLite, 1 worker:       {result.rate:7.0f} deliveries/s{_detail(result)}")
        for count in (1, 2):
            pg = _postgres(scratch, count, repos, tags)
            if pg is None:
                print("  PostgreSQL: not reachable, skipped")
                break
            print(
                f"  PostgreSQL, {count} worker{'s' if count > 1 else ' '}:"
                f"  {pg.rate:7.0f} deliveries/s{_detail(pg)}"
                + ("   (target >= 1000)" if count == 2 else "")
            )
        if args.sustained:
            big = max(1, args.sustained // 8 - 1)
            sustained = _postgres(scratch, 2, 8, big)
            if sustained is not None:
                print(
                    f"\nSustained: 8 repositories x {big + 1} events, PostgreSQL, 2 workers:"
                    f"  {sustained.rate:7.0f} deliveries/s{_detail(sustained)}"
                )
    return 0


def _postgres(scratch: Path, workers: int, repos: int, tags: int) -> Throughput | None:
    """A throughput run on a new PostgreSQL database; None when there is no PostgreSQL."""
    created = pg_database()
    if created is None:
        return None
    url, name = created
    try:
        return throughput(scratch, url, workers, repos, tags)
    finally:
        drop_database(name)


if __name__ == "__main__":
    raise SystemExit(main())
