"""Pipelines: push -> build start, runner overhead per job, and queued builds on two
runner processes (issue 13 section 11). Builds run in bubblewrap (the default executor).

1. Push -> build start: one `gitserver serve` (SQLite, its embedded runners), a pipeline
   (Source -> Build, PARALLEL) whose buildspec's first command prints the time; N pushes
   one after another, each waited for. Latency: that printed time minus the moment
   `git push` returned (the push acknowledged); also from the moment it was started.
   Target: p50 < 250 ms (p99 reported).
2. Runner overhead: a buildspec running `true`; the Build action's time (queued by the
   engine -> settled) minus what plain `bash -c true` takes in the same run (median).
   Target: < 300 ms per job.
3. Queued builds: a server with no runners (`--pipeline-runners 0`), 20 executions
   queued, then 2 `gitserver worker --runner` processes started; timed until all 20 end,
   and checked: every job ran once (each build log holds its marker once, one job row
   per action, both runners took jobs).

    scripts/bench (BENCH=pipelines)    or    .venv/bin/python benchmarks/pipelines.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from servers import GITSERVER, stop_group

STAMP = """version: 0.2
phases:
  build:
    commands:
      - echo "START=$(date +%s.%N)"
"""
TRUE = "version: 0.2\nphases:\n  build:\n    commands:\n      - true\n"
MARK = """version: 0.2
phases:
  build:
    commands:
      - echo "RAN-$CODEBUILD_BUILD_ID"
      - sleep 0.2
"""
ENDED = ("Succeeded", "Failed", "Stopped", "Superseded", "Cancelled")


class Instance:
    """A data directory with a SQLite database, a server and runner workers."""

    def __init__(self, scratch: Path) -> None:
        self.data = scratch / f"data-{uuid.uuid4().hex[:6]}"
        self.url = f"sqlite+aiosqlite:///{self.data / 'gitserver.db'}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.port = 0
        self.password = ""

    def cli(self, *args: str) -> dict[str, Any]:
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
                "--maintenance-delay",
                "600",
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

    def runners(self, count: int, jobs: int) -> None:
        for i in range(count):
            log = (self.data.parent / f"{self.data.name}-runner{i}.log").open("wb")
            self.processes.append(
                subprocess.Popen(
                    [
                        GITSERVER,
                        "worker",
                        "--runner",
                        "--jobs",
                        str(jobs),
                        "--data",
                        str(self.data),
                        "--database-url",
                        self.url,
                        "--pipeline-interval",
                        "0.2",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def repo_url(self, name: str) -> str:
        from urllib.parse import quote

        return f"http://admin:{quote(self.password, safe='')}@127.0.0.1:{self.port}/v1/repos/{name}"

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.data / "gitserver.db", timeout=30) as db:
            return list(db.execute(query, params))

    def pipeline(self, repo: str, buildspec: str, mode: str = "PARALLEL") -> str:
        name = f"p-{uuid.uuid4().hex[:6]}"
        definition = {
            "name": name,
            "executionMode": mode,
            "pipelineType": "V2",
            "stages": [
                {
                    "name": "Source",
                    "actions": [
                        {
                            "name": "Source",
                            "actionTypeId": {
                                "category": "Source",
                                "owner": "AWS",
                                "provider": "CodeCommit",
                                "version": "1",
                            },
                            "configuration": {"RepositoryName": repo, "BranchName": "main"},
                            "outputArtifacts": [{"name": "Src"}],
                        }
                    ],
                },
                {
                    "name": "Build",
                    "actions": [
                        {
                            "name": "Build",
                            "actionTypeId": {
                                "category": "Build",
                                "owner": "AWS",
                                "provider": "CodeBuild",
                                "version": "1",
                            },
                            "inputArtifacts": [{"name": "Src"}],
                            "configuration": {"BuildSpec": buildspec},
                        }
                    ],
                },
            ],
        }
        path = self.data.parent / f"{name}.json"
        path.write_text(json.dumps(definition))
        self.cli("pipeline", "create", "--file", str(path))
        return name

    def statuses(self, pipeline: str) -> list[str]:
        rows = self.sql(
            "SELECT status FROM pipeline_executions WHERE pipeline = ? ORDER BY seq", pipeline
        )
        return [str(r[0]) for r in rows]

    def wait_ended(self, pipeline: str, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.statuses(pipeline)
            if len(found) >= count and all(s in ENDED for s in found):
                return
            time.sleep(0.02)
        raise TimeoutError(f"{pipeline}: {self.statuses(pipeline)}")

    def build_logs(self, pipeline: str) -> list[str]:
        rows = self.sql(
            "SELECT log_path FROM pipeline_action_executions "
            "WHERE pipeline = ? AND action = 'Build' ORDER BY started_at",
            pipeline,
        )
        root = self.data.resolve() / "pipelines"
        return [(root / str(r[0])).read_text(errors="replace") for r in rows]

    def stop(self) -> None:
        for process in reversed(self.processes):
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


def _work(instance: Instance, scratch: Path, buildspec: str) -> tuple[str, Path]:
    repo = f"bench-{uuid.uuid4().hex[:6]}"
    instance.cli("repo", "create", repo)
    work = scratch / repo
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    (work / "buildspec.yml").write_text(buildspec)
    (work / "README").write_text("bench\n")
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "first", cwd=work)
    git("push", "-q", instance.repo_url(repo), "main", cwd=work)
    return repo, work


def _push(instance: Instance, repo: str, work: Path, i: int) -> tuple[float, float]:
    (work / "n").write_text(f"{i}\n")
    git("add", "n", cwd=work)
    git("commit", "-q", "-m", f"change {i}", cwd=work)
    started = time.time()
    git("push", "-q", instance.repo_url(repo), "main", cwd=work)
    return started, time.time()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def push_to_build(scratch: Path, pushes: int) -> dict[str, float]:
    instance = Instance(scratch)
    instance.serve("--pipeline-runners", "2", "--pipeline-interval", "0.3")
    try:
        repo, work = _work(instance, scratch, STAMP)
        name = instance.pipeline(repo, STAMP)
        pushed: list[tuple[float, float]] = []
        for i in range(pushes + 2):  # two warm-ups
            pushed.append(_push(instance, repo, work, i))
            instance.wait_ended(name, i + 1)
        starts = []
        for text in instance.build_logs(name):
            found = re.search(r"^START=(\d+\.\d+)$", text, re.MULTILINE)
            assert found, text
            starts.append(float(found.group(1)))
        assert len(starts) == len(pushed), (len(starts), len(pushed))
        stages = _breakdown(instance, name, [p[1] for p in pushed], starts)
        acked = [(s - p[1]) * 1000 for s, p in zip(starts, pushed, strict=True)][2:]
        begun = [(s - p[0]) * 1000 for s, p in zip(starts, pushed, strict=True)][2:]
        return {
            "pushes": pushes,
            "p50_ms": statistics.median(acked),
            "p99_ms": _percentile(acked, 0.99),
            "p50_from_push_start_ms": statistics.median(begun),
            "push_p50_ms": statistics.median([(b - a) * 1000 for a, b in pushed[2:]]),
            "breakdown_p50_ms": stages,
        }
    finally:
        instance.stop()


def _epoch(value: Any) -> float:
    from datetime import UTC, datetime

    moment = datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _breakdown(
    instance: Instance, name: str, acked: list[float], starts: list[float]
) -> dict[str, float]:
    """Where push -> build start goes (p50 of each step, ms), from the rows' times."""
    rows = instance.sql(
        "SELECT e.started_at, s.started_at, s.finished_at, b.created_at, b.started_at "
        "FROM pipeline_executions e "
        "JOIN pipeline_action_executions sa ON sa.execution_id = e.id AND sa.stage = 'Source' "
        "JOIN pipeline_jobs s ON s.action_execution_id = sa.id "
        "JOIN pipeline_action_executions ba ON ba.execution_id = e.id AND ba.stage = 'Build' "
        "JOIN pipeline_jobs b ON b.action_execution_id = ba.id "
        "WHERE e.pipeline = ? ORDER BY e.seq",
        name,
    )
    steps: dict[str, list[float]] = {}
    for row, pushed, started in zip(rows, acked, starts, strict=True):
        e, s0, s1, b0, b1 = (_epoch(v) for v in row)
        for key, value in (
            ("push acked -> execution", e - pushed),
            ("execution -> source job claimed", s0 - e),
            ("source job (export)", s1 - s0),
            ("source done -> build job queued", b0 - s1),
            ("build job queued -> claimed", b1 - b0),
            ("build claimed -> first command", started - b1),
        ):
            steps.setdefault(key, []).append(value * 1000)
    return {k: statistics.median(v[2:]) for k, v in steps.items()}


def _plain_bash(runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(["bash", "-c", "true"], check=True)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def overhead(scratch: Path, jobs: int) -> dict[str, float]:
    instance = Instance(scratch)
    instance.serve("--pipeline-runners", "2", "--pipeline-interval", "0.3")
    try:
        repo, work = _work(instance, scratch, TRUE)
        name = instance.pipeline(repo, TRUE)
        for i in range(jobs + 2):
            _push(instance, repo, work, i)
            instance.wait_ended(name, i + 1)
        assert set(instance.statuses(name)) == {"Succeeded"}, instance.statuses(name)
        rows = instance.sql(
            "SELECT a.stage, a.started_at, a.ended_at, j.started_at, j.finished_at "
            "FROM pipeline_action_executions a JOIN pipeline_jobs j "
            "ON j.action_execution_id = a.id WHERE a.pipeline = ? ORDER BY a.started_at",
            name,
        )
        from datetime import datetime

        def ms(a: Any, b: Any) -> float:
            return (
                datetime.fromisoformat(str(b)) - datetime.fromisoformat(str(a))
            ).total_seconds() * 1000

        build = [ms(r[1], r[2]) for r in rows if r[0] == "Build"][2:]
        build_job = [ms(r[3], r[4]) for r in rows if r[0] == "Build"][2:]
        source = [ms(r[1], r[2]) for r in rows if r[0] == "Source"][2:]
        bash = _plain_bash(30)
        return {
            "jobs": jobs,
            "bash_ms": bash,
            "build_action_ms": statistics.median(build),
            "build_job_ms": statistics.median(build_job),
            "source_action_ms": statistics.median(source),
            "overhead_ms": statistics.median(build) - bash,
        }
    finally:
        instance.stop()


def queued(scratch: Path, builds: int, runners: int) -> dict[str, Any]:
    instance = Instance(scratch)
    instance.serve("--pipeline-runners", "0", "--pipeline-interval", "0.3")
    try:
        repo, work = _work(instance, scratch, MARK)
        name = instance.pipeline(repo, MARK)
        for i in range(builds):
            _push(instance, repo, work, i)
        deadline = time.monotonic() + 60
        while len(instance.statuses(name)) < builds and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(instance.statuses(name)) == builds, instance.statuses(name)
        started = time.monotonic()
        instance.runners(runners, 1)
        instance.wait_ended(name, builds, timeout=300)
        seconds = time.monotonic() - started
        statuses = instance.statuses(name)
        logs = instance.build_logs(name)
        marks = [len(re.findall(r"^RAN-", text, re.MULTILINE)) for text in logs]
        jobs = instance.sql(
            "SELECT action_execution_id, count(*) FROM pipeline_jobs WHERE pipeline = ? "
            "GROUP BY action_execution_id",
            name,
        )
        by_runner = instance.sql(
            "SELECT runner_id, count(*) FROM pipeline_jobs WHERE pipeline = ? GROUP BY runner_id",
            name,
        )
        return {
            "builds": builds,
            "seconds": seconds,
            "succeeded": statuses.count("Succeeded"),
            "ran_once": len(marks) == builds and all(m == 1 for m in marks),
            "one_job_per_action": all(int(r[1]) == 1 for r in jobs),
            "jobs_by_runner": sorted(int(r[1]) for r in by_runner),
        }
    finally:
        instance.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args, _ = parser.parse_known_args(argv)
    pushes, jobs = (10, 10) if args.quick else (50, 20)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-pipelines-") as tmp:
        scratch = Path(tmp)
        lat = results["push_to_build"] = push_to_build(scratch, pushes)
        print(f"\nPush -> build start, {pushes} pushes (SQLite, embedded runners, bwrap)")
        print(
            f"  p50 {lat['p50_ms']:.0f} ms (target < 250: {lat['p50_ms'] / 250:.2f}x)"
            f"   p99 {lat['p99_ms']:.0f} ms"
            f"   [from push start: p50 {lat['p50_from_push_start_ms']:.0f} ms;"
            f" the push itself p50 {lat['push_p50_ms']:.0f} ms]",
            flush=True,
        )
        for step, ms in lat["breakdown_p50_ms"].items():
            print(f"    {step:34} p50 {ms:6.0f} ms")
        over = results["overhead"] = overhead(scratch, jobs)
        print(f"\nRunner overhead per job, {jobs} builds of `true` (bwrap)")
        print(
            f"  Build action {over['build_action_ms']:.0f} ms"
            f" (its job {over['build_job_ms']:.0f} ms)"
            f" - plain `bash -c true` {over['bash_ms']:.1f} ms"
            f" = {over['overhead_ms']:.0f} ms (target < 300: {over['overhead_ms'] / 300:.2f}x)"
            f"   [Source action {over['source_action_ms']:.0f} ms]",
            flush=True,
        )
        q = results["queued"] = queued(scratch, 20, 2)
        print("\n20 queued builds on 2 `gitserver worker --runner` processes (SQLite)")
        print(
            f"  {q['seconds']:.1f} s, {q['succeeded']}/{q['builds']} succeeded,"
            f" each ran once: {q['ran_once']}, one job per action: {q['one_job_per_action']},"
            f" jobs per runner {q['jobs_by_runner']}"
        )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "pipelines.json").write_text(json.dumps(results, indent=2))
    ok = q["ran_once"] and q["one_job_per_action"] and q["succeeded"] == q["builds"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
