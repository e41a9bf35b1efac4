"""Benchmark gitserver against C git's `git http-backend` (behind lighttpd) and `file://`.

One run measures, median of --runs: a full bare clone, a mirror push of the whole history
into an empty repository, 15 one-commit pushes one after another (their median: the fixed
cost of a push), 8 concurrent full clones, and a small fetch (50 commits behind);
and samples the gitserver process's anonymous RSS. Every result is checked against the
original's refs and commit count before its time counts.

    scripts/bench [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from types import FrameType

import gitops
from make_repo import FULL, QUICK, RepoInfo, describe, ensure_repo
from servers import GitServer, HttpBackend, RssSampler

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
BEHIND = 50
CONCURRENCY = 8
ONE_COMMIT_PUSHES = 15
TARGETS = {"clone": 1.05, "push": 1.10, "push1": 1.5}
LABELS = {
    "clone": "full clone (bare)",
    "push": "push --mirror, empty",
    "push1": "one-commit push (p50)",
    "concurrent": f"{CONCURRENCY} concurrent clones",
    "fetch": f"fetch, {BEHIND} behind",
}
CONTENDERS = ("http-backend", "file", "ours")


class Bench:
    def __init__(self, repo: RepoInfo, scratch: Path, runs: int) -> None:
        self.original = repo.path
        self.scratch = scratch
        self.runs = runs
        self.hb = HttpBackend(scratch)
        self.ours = GitServer(scratch)
        self.rss: RssSampler | None = None
        self.times: dict[str, dict[str, list[float]]] = {name: {} for name in LABELS}
        self.maintenance: list[dict[str, float | bool | str]] = []
        self.expected = gitops.Expected.of(self.original)
        self.pushes = 0

    # --- setup ---------------------------------------------------------------------------

    def start(self) -> None:
        self.hb.start()
        (self.hb.root / "original.git").symlink_to(self.original)
        self.ours.start()
        self.rss = RssSampler(self.ours.pid)
        self.rss.start()
        print(f"http-backend on :{self.hb.port}, gitserver on :{self.ours.port}", flush=True)

    def stop(self) -> None:
        if self.rss is not None:
            self.rss.stop()
        self.ours.stop()
        self.hb.stop()

    def fill_ours(self) -> None:
        """Fill our server the way users do: push everything, let maintenance settle."""
        path = self.ours.create("original")
        with self._phase("first-auth"):  # argon2 runs once; later requests hit its cache
            gitops.git("ls-remote", self.ours.url("original"))
        with self._phase("push"):
            seconds = gitops.push_mirror(self.original, self.ours.url("original"))
        pushed = time.time()
        self.expected.check(path, "initial push to gitserver")
        print(f"filled gitserver by push in {seconds:.2f} s; waiting for maintenance", flush=True)
        self._wait_maintained("original", path, pushed)
        gitops.warm(path)
        packs = sorted(p.name for p in (path / "objects" / "pack").iterdir())
        print(f"  gitserver's repository after maintenance: {', '.join(packs)}", flush=True)

    def _wait_maintained(self, name: str, path: Path, pushed: float) -> None:
        seconds, fallback = self.ours.wait_maintained(name, path, after=pushed)
        self.maintenance.append({"repo": name, "seconds": round(seconds, 2), "fallback": fallback})
        print(f"  maintenance of {name} done {seconds:.1f} s after the push", flush=True)

    def _phase(self, name: str) -> AbstractContextManager[None]:
        assert self.rss is not None
        return self.rss.phase(name)

    # --- measurements --------------------------------------------------------------------

    def url(self, contender: str, name: str = "original") -> str:
        if contender == "http-backend":
            return self.hb.url(f"{name}.git")
        if contender == "file":
            return f"file://{self.original}"
        return self.ours.url(name)

    def record(self, kind: str, contender: str, seconds: float, run: int) -> None:
        self.times[kind].setdefault(contender, []).append(seconds)
        print(f"  run {run + 1}: {LABELS[kind]:<22} {contender:<13} {seconds:8.2f} s", flush=True)

    def each(
        self, run: int, contenders: tuple[str, ...], kind: str, measure: Callable[[str], float]
    ) -> None:
        """Measure every contender, starting with a different one each run."""
        shift = run % len(contenders)
        for contender in contenders[shift:] + contenders[:shift]:
            if contender == "ours":
                with self._phase(kind):
                    seconds = measure(contender)
            else:
                seconds = measure(contender)
            self.record(kind, contender, seconds, run)

    def clone(self, contender: str) -> float:
        dest = self.scratch / "clone.git"
        try:
            seconds = gitops.clone(self.url(contender), dest)
            self.expected.check(dest, f"clone from {contender}")
        finally:
            gitops.remove(dest)
        return seconds

    def concurrent(self, contender: str) -> float:
        dests = [self.scratch / f"concurrent-{k}.git" for k in range(CONCURRENCY)]
        try:
            seconds = gitops.concurrent_clones(self.url(contender), dests)
            for dest in dests:
                self.expected.check(dest, f"concurrent clone from {contender}")
        finally:
            gitops.remove(*dests)
        return seconds

    def fetch(self, contender: str) -> float:
        dest = self.scratch / "fetch.git"
        try:
            gitops.local_copy(self.scratch / "behind.git", dest)
            seconds = gitops.fetch_all(dest, self.url(contender))
            self.expected.check(dest, f"fetch from {contender}")
        finally:
            gitops.remove(dest)
        return seconds

    def push(self, contender: str) -> float:
        self.pushes += 1
        name = f"push-{self.pushes}"
        if contender == "ours":
            path = self.ours.create(name)
            url = self.ours.url(name)
        else:
            root = self.hb.root if contender == "http-backend" else self.scratch
            path = root / f"{name}.git"
            gitops.init_bare(path, ("http.receivepack", "true"))
            url = self.hb.url(f"{name}.git") if contender == "http-backend" else f"file://{path}"
        try:
            seconds = gitops.push_mirror(self.original, url)
            pushed = time.time()
            self.expected.check(path, f"push to {contender}")
            if contender == "ours":  # no background repack may overlap the next timing
                self._wait_maintained(name, path, pushed)
        finally:
            if contender == "ours":
                self.ours.cli("repo", "delete", name)
            gitops.remove(path)
        return seconds

    def push1(self, contender: str) -> float:
        """The median of ONE_COMMIT_PUSHES one-commit pushes into a fresh repository."""
        self.pushes += 1
        name = f"push1-{self.pushes}"
        if contender == "ours":
            self.ours.create(name)
            url = self.ours.url(name)
            path = None
        else:
            root = self.hb.root if contender == "http-backend" else self.scratch
            path = root / f"{name}.git"
            gitops.init_bare(path, ("http.receivepack", "true"))
            url = self.hb.url(f"{name}.git") if contender == "http-backend" else f"file://{path}"
        work = self.scratch / f"{name}-work"
        try:
            return statistics.median(gitops.one_commit_pushes(url, work, ONE_COMMIT_PUSHES))
        finally:
            if contender == "ours":
                self.ours.cli("repo", "delete", name)
            gitops.remove(work, *([path] if path else []))

    def run(self) -> None:
        self.fill_ours()
        refs = gitops.make_behind(self.original, self.scratch / "behind.git", BEHIND)
        print(f"made a repository {BEHIND} commits behind ({refs} refs to update)", flush=True)
        gitops.warm(self.original)
        for run in range(self.runs):
            print(f"run {run + 1} of {self.runs}", flush=True)
            self.each(run, CONTENDERS, "clone", self.clone)
            self.each(run, ("http-backend", "ours"), "concurrent", self.concurrent)
            self.each(run, ("http-backend", "ours"), "fetch", self.fetch)
            self.each(run, CONTENDERS, "push", self.push)
            self.each(run, CONTENDERS, "push1", self.push1)


# --- report ------------------------------------------------------------------------------


def summarize(bench: Bench) -> dict[str, object]:
    rows: dict[str, dict[str, object]] = {}
    for kind, by in bench.times.items():
        medians = {c: statistics.median(ts) for c, ts in by.items()}
        base = medians.get("http-backend")
        row: dict[str, object] = {"label": LABELS[kind], "times": by, "median": medians}
        if base:
            for contender in ("ours", "file"):
                if contender in medians:
                    row[f"{contender}/http-backend"] = medians[contender] / base
        if kind in TARGETS:
            row["target"] = TARGETS[kind]
            ratio = row.get("ours/http-backend")
            row["meets_target"] = isinstance(ratio, float) and ratio <= TARGETS[kind]
        rows[kind] = row
    rss = dict(bench.rss.peaks) if bench.rss else {}
    return {"measurements": rows, "rss_anon_peak_kb": rss, "maintenance": bench.maintenance}


def table(summary: dict[str, object]) -> str:
    rows: dict[str, dict[str, object]] = summary["measurements"]  # type: ignore[assignment]
    head = f"{'measurement':<24}{'http-backend':>13}{'file://':>10}{'ours':>10}"
    head += f"{'ours/hb':>9}{'file/hb':>9}  target"
    lines = [head, "-" * len(head)]
    for row in rows.values():
        med: dict[str, float] = row["median"]  # type: ignore[assignment]

        def cell(c: str, m: dict[str, float] = med) -> str:
            return f"{m[c]:8.3f} s" if c in m else "-"

        def ratio(key: str, r: dict[str, object] = row) -> str:
            return f"{r[key]:.2f}x" if key in r else "-"

        target = "-"
        if "target" in row:
            target = f"<= {row['target']:.2f}x " + ("ok" if row["meets_target"] else "MISSED")
        lines.append(
            f"{row['label']:<24}{cell('http-backend'):>13}{cell('file'):>10}{cell('ours'):>10}"
            f"{ratio('ours/http-backend'):>9}{ratio('file/http-backend'):>9}  {target}"
        )
    rss: dict[str, int] = summary["rss_anon_peak_kb"]  # type: ignore[assignment]
    peaks = ", ".join(f"{phase} {kb / 1024:.1f} MiB" for phase, kb in sorted(rss.items()))
    lines.append(f"gitserver peak RssAnon (sampled every 20 ms): {peaks or 'n/a'}")
    maint: list[dict[str, object]] = summary["maintenance"]  # type: ignore[assignment]
    if maint:
        waits = ", ".join(
            f"{m['seconds']}s" + (" (CLI fallback)" if m["fallback"] else "") for m in maint
        )
        lines.append(f"gitserver background maintenance finished after the push: {waits}")
    return "\n".join(lines)


def versions() -> dict[str, str]:
    def first_line(*cmd: str) -> str:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        return (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else ""

    return {
        "git": first_line("git", "--version"),
        "lighttpd": first_line("lighttpd", "-v"),
        "python": platform.python_version(),
        "cpus": str(os.cpu_count()),
    }


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small repository: a smoke run")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # even when started with SIGINT ignored

    params = QUICK if args.quick else FULL
    repo = ensure_repo(params)
    print(describe(repo), flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="gitbench-"))
    bench = Bench(repo, scratch, args.runs)
    load_before = os.getloadavg()
    started = time.monotonic()
    try:
        bench.start()
        bench.run()
    except gitops.Mismatch as exc:
        print(f"FAILED: {exc}\n(gitserver log: {bench.ours.log})", file=sys.stderr)
        args.keep = True
        return 1
    except KeyboardInterrupt:
        print("interrupted: stopping the servers", file=sys.stderr)
        return 130
    finally:
        bench.stop()
        if args.keep:
            print(f"scratch directory kept: {scratch}")
        else:
            gitops.remove(scratch)

    summary = summarize(bench)
    report = {
        "params": vars(params),
        "repo": repo.stats,
        "runs": args.runs,
        "versions": versions(),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "seconds": round(time.monotonic() - started, 1),
        **summary,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print()
    print(describe(repo))
    print(f"medians of {args.runs} run(s); load average before {load_before[0]:.1f}")
    print(table(summary))
    print(f"results: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
