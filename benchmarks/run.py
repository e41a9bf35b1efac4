"""Benchmark gitserver against C git's `git http-backend` (behind lighttpd) and `file://`.

One run measures, median of --runs: a full bare clone, a mirror push of the whole history
into an empty repository, 15 one-commit pushes one after another (their median: the fixed
cost of a push), 8 concurrent full clones, and a small fetch (50 commits behind);
then the clone storm a CI push causes: a new commit pushed, and 1, 8 and 32 clones of it
started at once (gitserver answers identical requests from one pack-objects run), by
real `git clone`s and by "off-machine" fleet clients (`fleet.py`: git's requests, the pack
drained and checked, no index-pack), on the repository and on a copy without a bitmap;
then the repository state after mirror pushes against `git gc` and one-commit pushes
during background maintenance (`repostate.py`, on a second server without pack cache);
and samples the gitserver process's anonymous RSS. Every result is checked against the
original's refs and commit count (or, for fleet clients, the pack's object count and
trailer) before its time counts.

    scripts/bench [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from types import FrameType

import fleet
import gitops
from make_repo import FULL, QUICK, RepoInfo, describe, ensure_repo
from repostate import RepoState
from servers import GitServer, HttpBackend, RssSampler, cpu_seconds, maintenance_held

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
BEHIND = 50
CONCURRENCY = 8
ONE_COMMIT_PUSHES = 15
# Clone storms after a push: (clones at once, clone options). CI jobs mostly clone one
# branch with --depth 1; that storm is shown beside, without a target of its own.
STORMS = ((1, ()), (8, ()), (32, ()), (32, ("--depth", "1")))
# Storms of fleet clients (fleet.py): (clients, on the copy without a bitmap).
FLEETS = ((8, False), (32, False), (8, True), (32, True))
# A storm's ratio: 8 clones at least 2x faster than http-backend, 32 at least 4x, and a
# single clone of a new commit (a cache miss) no slower than a clone.
TARGETS = {
    "clone": 1.05,
    "push": 1.10,
    "push1": 1.5,
    "storm-1": 1.05,
    "storm-8": 0.5,
    "storm-32": 0.25,
    "fleet-8": 0.5,
    "fleet-32": 0.25,
    "fleet-8-nobitmap": 0.5,
    "fleet-32-nobitmap": 0.25,
    "state-clone": 1.05,
}
STATE_CLONES = 5
# Rows whose anchor is not http-backend: kind -> (anchor, measured), both on gitserver.
ANCHORS = {"state-clone": ("gc", "pushed"), "push1-maint": ("idle", "maintaining")}


def storm_kind(clones: int, options: tuple[str, ...]) -> str:
    return f"storm-{clones}" + ("-shallow" if options else "")


def fleet_kind(clients: int, plain: bool) -> str:
    return f"fleet-{clients}" + ("-nobitmap" if plain else "")


LABELS = {
    "clone": "full clone (bare)",
    "push": "push --mirror, empty",
    "push-noscan": "push --mirror, scanning off",
    "push1": "one-commit push (p50)",
    "push1-noscan": "one-commit push, scanning off",
    "concurrent": f"{CONCURRENCY} concurrent clones",
    "fetch": f"fetch, {BEHIND} behind",
    **{
        storm_kind(n, o): f"new push, {n} {'depth-1 ' if o else ''}clone{'s' * (n > 1)}"
        for n, o in STORMS
    },
    **{
        fleet_kind(n, plain): f"new push, {n} fleet clones" + (", no bitmap" if plain else "")
        for n, plain in FLEETS
    },
    "state-clone": "clone: mirror-pushed vs gc",
    "push1-maint": "push during maintenance",
}
CONTENDERS = ("http-backend", "file", "ours")


class Bench:
    def __init__(
        self,
        repo: RepoInfo,
        scratch: Path,
        runs: int,
        *,
        storms_only: bool = False,
        source: Path | None = None,
    ) -> None:
        self.original = repo.path
        self.scratch = scratch
        self.runs = runs
        self.storms_only = storms_only
        self.hb = HttpBackend(scratch)
        self.ours = GitServer(scratch, source)
        self.rss: RssSampler | None = None
        self.times: dict[str, dict[str, list[float]]] = {name: {} for name in LABELS}
        self.maintenance: list[dict[str, float | bool | str]] = []
        self.expected = gitops.Expected.of(self.original)
        self.pushes = 0
        self.ours_original = Path()
        self.storm_source = scratch / "storm-source.git"
        self.storm_runs: list[str] = []
        # Server CPU seconds (the process and the git it ran) per storm, by contender.
        self.storm_cpu: dict[str, dict[str, list[float]]] = {}
        # Fleet clients' own CPU seconds per storm, and the requests they replay.
        self.fleet_cpu: dict[str, list[float]] = {}
        self.scripts: dict[tuple[str, bool], fleet.Script] = {}
        self.held = ExitStack()  # the maintenance lock of ours' copy without a bitmap
        self.state = RepoState(scratch, self.original, self.expected)
        self.state_packs: list[str] = []

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
        self.held.close()
        self.state.stop()
        self.ours.stop()
        self.hb.stop()

    def fill_ours(self) -> None:
        """Fill our server the way users do: push everything, let maintenance settle."""
        path = self.ours_original = self.ours.create("original")
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
        print(f"  run {run + 1}: {LABELS[kind]:<36} {contender:<13} {seconds:8.2f} s", flush=True)

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

    def push(self, contender: str, scanning: bool = True) -> float:
        self.pushes += 1
        name = f"push-{self.pushes}"
        if contender == "ours":
            path = self.ours.create(name)
            url = self.ours.url(name)
            if not scanning:
                self.ours.cli("repo", "push-rules", name, "--secret-scanning", "off")
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

    def push1(self, contender: str, scanning: bool = True) -> float:
        """The median of ONE_COMMIT_PUSHES one-commit pushes into a fresh repository."""
        self.pushes += 1
        name = f"push1-{self.pushes}"
        if contender == "ours":
            self.ours.create(name)
            url = self.ours.url(name)
            if not scanning:
                self.ours.cli("repo", "push-rules", name, "--secret-scanning", "off")
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

    # --- the clone storm after a push -----------------------------------------------------

    def prepare_storms(self) -> None:
        """http-backend gets a copy of the original to push to; ours pushes to `original`
        (the storms run last, so no other measurement sees the new commits). Both get a
        copy without a bitmap (`plain`); gitserver's is held from maintenance, which
        would write one. The fleet's requests are captured from a real clone of each."""
        gitops.local_copy(self.original, self.storm_source)
        for name in ("storm", "plain"):
            copy = self.hb.root / f"{name}.git"
            gitops.local_copy(self.original, copy)
            gitops.git("config", "http.receivepack", "true", cwd=copy)
        gitops.without_bitmap(self.hb.root / "plain.git")
        plain = self.ours.create("plain")
        gitops.push_mirror(self.original, self.ours.url("plain"))
        self._wait_maintained("plain", plain, time.time())
        self.held.enter_context(maintenance_held(plain))
        gitops.without_bitmap(plain)
        self.expected.check(plain, "gitserver's copy without a bitmap")
        objects = fleet.object_count(self.original)
        for contender in ("http-backend", "ours"):
            for no_bitmap in (False, True):
                name = "plain" if no_bitmap else "storm"
                url = self.storm_url(contender, name)
                dest = self.scratch / "capture.git"
                try:
                    script, received = fleet.capture(url, dest)
                    self.expected.check(dest, f"the fleet's captured clone from {contender}")
                finally:
                    gitops.remove(dest)
                if received != objects:
                    raise gitops.Mismatch(
                        f"a clone from {contender} received {received} objects;"
                        f" rev-list counts {objects}"
                    )
                self.scripts[contender, no_bitmap] = script

    def storm_url(self, contender: str, name: str) -> str:
        """`storm` is gitserver's `original`: filled by a push, maintained."""
        if contender == "http-backend":
            return self.hb.url(f"{name}.git")
        return self.ours.url("original" if name == "storm" else name)

    def push_new_commit(self, label: str, name: str = "storm") -> gitops.Expected:
        """A new commit on main (the tree of the last, as a CI merge commit may be),
        pushed to both servers' `name`; what every clone of the storm must then hold."""
        source = self.storm_source
        tree = gitops.git("rev-parse", "refs/heads/main^{tree}", cwd=source).strip()
        ident = ("-c", "user.name=bench", "-c", "user.email=bench@example.com")
        commit = gitops.git(
            *ident, "commit-tree", tree, "-p", "refs/heads/main", "-m", label, cwd=source
        ).strip()
        gitops.git("update-ref", "refs/heads/main", commit, cwd=source)
        for contender in ("http-backend", "ours"):
            url = self.storm_url(contender, name)
            gitops.git("push", "--quiet", url, "refs/heads/main", cwd=source)
        if name == "storm":  # `plain` is held: its maintenance is skipped
            # Like the push measurement: no background repack may overlap the timing.
            self._wait_maintained("original", self.ours_original, time.time())
        return gitops.Expected.of(source)

    def storm(self, run: int, clones: int, options: tuple[str, ...]) -> None:
        kind = storm_kind(clones, options)
        expected = self.push_new_commit(f"storm {run} {kind}")

        def measure(contender: str) -> float:
            url = self.hb.url("storm.git") if contender == "http-backend" else self.url("ours")
            pid = self.hb.pid if contender == "http-backend" else self.ours.pid
            dests = [self.scratch / f"storm-{k}.git" for k in range(clones)]
            before = self.pack_metrics() if contender == "ours" else {}
            cpu = cpu_seconds(pid)
            try:
                seconds = gitops.concurrent_clones(url, dests, *options)
                time.sleep(0.2)  # lighttpd reaps its CGIs a moment after the last byte
                cpu = cpu_seconds(pid) - cpu
                for dest in dests:
                    if options:
                        expected.check_shallow_main(dest, f"storm clone from {contender}")
                    else:
                        expected.check(dest, f"storm clone from {contender}")
            finally:
                gitops.remove(*dests)
            self.storm_cpu.setdefault(kind, {}).setdefault(contender, []).append(cpu)
            if contender == "ours":
                runs = self.pack_metrics().get("miss", 0) - before.get("miss", 0)
                self.storm_runs.append(f"{LABELS[kind]}: {runs:.0f}")
            return seconds

        self.each(run, ("http-backend", "ours"), kind, measure)

    def fleet_storm(self, run: int, clients: int, plain: bool) -> None:
        kind = fleet_kind(clients, plain)
        expected = self.push_new_commit(f"fleet {run} {kind}", "plain" if plain else "storm")
        objects = fleet.object_count(self.storm_source)
        head = expected.refs["refs/heads/main"]

        def measure(contender: str) -> float:
            pid = self.hb.pid if contender == "http-backend" else self.ours.pid
            before = self.pack_metrics() if contender == "ours" else {}
            cpu = cpu_seconds(pid)
            what = f"{LABELS[kind]} from {contender}"
            result = fleet.storm(self.scripts[contender, plain], clients, objects, head, what)
            time.sleep(0.2)  # lighttpd reaps its CGIs a moment after the last byte
            cpu = cpu_seconds(pid) - cpu
            self.storm_cpu.setdefault(kind, {}).setdefault(contender, []).append(cpu)
            self.fleet_cpu.setdefault(kind, []).append(result.client_cpu)
            if contender == "ours":
                runs = self.pack_metrics().get("miss", 0) - before.get("miss", 0)
                self.storm_runs.append(f"{LABELS[kind]}: {runs:.0f}")
            return result.seconds

        self.each(run, ("http-backend", "ours"), kind, measure)

    # --- repository state after pushes (repostate.py) --------------------------------------

    def repository_state(self) -> None:
        self.state.start()
        try:
            print("repository state: filling a server without pack cache", flush=True)
            self.state_packs = self.state.prepare()
            print("\n".join(self.state_packs), flush=True)
            # At least 5 each: a clone of the quick repository is ~0.4 s, and one slow
            # run on the shared machine would decide a median of 3.
            for run in range(max(self.runs, STATE_CLONES)):
                self.each(
                    run,
                    ("gc", "pushed"),
                    "state-clone",
                    lambda c: self.state.clone("gced" if c == "gc" else "pushed"),
                )
            self.state.push_rounds()
        finally:
            self.state.stop()
        pushes = self.state.pushes
        self.times["push1-maint"] = {"idle": pushes.idle, "maintaining": pushes.busy}
        flags = "".join("M" if held else "." for held in pushes.busy_until_end)
        print(
            f"  {len(pushes.busy)} pushes started during maintenance (M: still running at"
            f" their end) {flags}; {len(pushes.idle)} with it held off",
            flush=True,
        )

    def pack_metrics(self) -> dict[str, float]:
        """gitserver's pack cache requests by result (hit, join, miss)."""
        url = f"http://127.0.0.1:{self.ours.port}/metrics"
        with urllib.request.urlopen(url, timeout=30) as answer:
            text = answer.read().decode()
        prefix = 'gitserver_pack_cache_requests_total{result="'
        return {
            line[len(prefix) :].split('"', 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(prefix)
        }

    def run(self) -> None:
        self.fill_ours()
        refs = gitops.make_behind(self.original, self.scratch / "behind.git", BEHIND)
        print(f"made a repository {BEHIND} commits behind ({refs} refs to update)", flush=True)
        gitops.warm(self.original)
        for run in range(0 if self.storms_only else self.runs):
            print(f"run {run + 1} of {self.runs}", flush=True)
            self.each(run, CONTENDERS, "clone", self.clone)
            self.each(run, ("http-backend", "ours"), "concurrent", self.concurrent)
            self.each(run, ("http-backend", "ours"), "fetch", self.fetch)
            self.each(run, CONTENDERS, "push", self.push)
            self.each(run, CONTENDERS, "push1", self.push1)
            # The same without secret scanning (on by default), which http-backend does
            # not do: the transport's own cost beside the product's.
            both = ("http-backend", "ours")
            self.each(run, both, "push-noscan", functools.partial(self.push, scanning=False))
            self.each(run, both, "push1-noscan", functools.partial(self.push1, scanning=False))
        self.prepare_storms()
        for run in range(self.runs):
            print(f"storm run {run + 1} of {self.runs}", flush=True)
            for clones, options in STORMS:
                self.storm(run, clones, options)
            for clients, plain in FLEETS:
                self.fleet_storm(run, clients, plain)
        if not self.storms_only:
            self.repository_state()


# --- report ------------------------------------------------------------------------------


def summarize(bench: Bench) -> dict[str, object]:
    rows: dict[str, dict[str, object]] = {}
    for kind, by in bench.times.items():
        medians = {c: statistics.median(ts) for c, ts in by.items()}
        base = medians.get("http-backend")
        row: dict[str, object] = {"label": LABELS[kind], "times": by, "median": medians}
        key = "ours/http-backend"
        if kind in ANCHORS:
            anchor, measured = ANCHORS[kind]
            key = f"{measured}/{anchor}"
            row["anchor"] = anchor
            row["max"] = {c: max(ts) for c, ts in by.items() if ts}
            if medians.get(anchor) and measured in medians:
                row[key] = medians[measured] / medians[anchor]
                row[f"{key} (max)"] = row["max"][measured] / row["max"][anchor]  # type: ignore[index]
        elif base:
            for contender in ("ours", "file"):
                if contender in medians:
                    row[f"{contender}/http-backend"] = medians[contender] / base
        if kind in TARGETS:
            row["target"] = TARGETS[kind]
            ratio = row.get(key)
            row["meets_target"] = isinstance(ratio, float) and ratio <= TARGETS[kind]
        rows[kind] = row
    rss = dict(bench.rss.peaks) if bench.rss else {}
    return {
        "measurements": rows,
        "rss_anon_peak_kb": rss,
        "maintenance": bench.maintenance,
        "storm_pack_objects_runs": bench.storm_runs,
        "storm_server_cpu_seconds": {
            kind: {c: statistics.median(ts) for c, ts in by.items()}
            for kind, by in bench.storm_cpu.items()
        },
        "fleet_client_cpu_seconds": {k: statistics.median(ts) for k, ts in bench.fleet_cpu.items()},
        "state_packs": bench.state_packs,
        "state_clone_server_cpu_seconds": {
            name: statistics.median(ts) for name, ts in bench.state.clone_cpu.items()
        },
        "pushes_during_maintenance_still_running_at_end": bench.state.pushes.busy_until_end,
    }


def table(summary: dict[str, object]) -> str:
    rows: dict[str, dict[str, object]] = summary["measurements"]  # type: ignore[assignment]
    head = f"{'measurement':<36}{'http-backend':>13}{'file://':>10}{'ours':>10}"
    head += f"{'ours/hb':>9}{'file/hb':>9}  target"
    lines = [head, "-" * len(head)]
    anchored = []
    for kind, row in rows.items():
        if kind in ANCHORS:
            anchored.append((kind, row))
            continue
        med: dict[str, float] = row["median"]  # type: ignore[assignment]

        def cell(c: str, m: dict[str, float] = med) -> str:
            return f"{m[c]:8.3f} s" if c in m else "-"

        def ratio(key: str, r: dict[str, object] = row) -> str:
            return f"{r[key]:.2f}x" if key in r else "-"

        target = "-"
        if "target" in row:
            target = f"<= {row['target']:.2f}x " + ("ok" if row["meets_target"] else "MISSED")
        lines.append(
            f"{row['label']:<36}{cell('http-backend'):>13}{cell('file'):>10}{cell('ours'):>10}"
            f"{ratio('ours/http-backend'):>9}{ratio('file/http-backend'):>9}  {target}"
        )
    if anchored:
        lines.append("on gitserver, against another anchor (medians; push: p50 and max):")
    for kind, row in anchored:
        anchor, measured = ANCHORS[kind]
        key = f"{measured}/{anchor}"
        med = row["median"]  # type: ignore[assignment]
        if key not in row:
            lines.append(f"  {row['label']}: not measured")
            continue
        text = (
            f"  {row['label']:<28} {anchor} {med[anchor]:.3f} s, {measured} {med[measured]:.3f} s:"
            f" {row[key]:.2f}x"
        )
        if kind == "push1-maint":
            top: dict[str, float] = row["max"]  # type: ignore[assignment]
            text += f"; max {top[anchor]:.3f} s, {top[measured]:.3f} s: {row[key + ' (max)']:.2f}x"
            times: dict[str, list[float]] = row["times"]  # type: ignore[assignment]
            text += f" ({len(times[measured])} and {len(times[anchor])} pushes)"
        if "target" in row:
            text += f"  <= {row['target']:.2f}x " + ("ok" if row["meets_target"] else "MISSED")
        lines.append(text)
    rss: dict[str, int] = summary["rss_anon_peak_kb"]  # type: ignore[assignment]
    peaks = ", ".join(f"{phase} {kb / 1024:.1f} MiB" for phase, kb in sorted(rss.items()))
    lines.append(f"gitserver peak RssAnon (sampled every 20 ms): {peaks or 'n/a'}")
    maint: list[dict[str, object]] = summary["maintenance"]  # type: ignore[assignment]
    if maint:
        waits = ", ".join(
            f"{m['seconds']}s" + (" (CLI fallback)" if m["fallback"] else "") for m in maint
        )
        lines.append(f"gitserver background maintenance finished after the push: {waits}")
    storms: list[str] = summary.get("storm_pack_objects_runs", [])  # type: ignore[assignment]
    if storms:
        lines.append(f"gitserver pack-objects runs per storm: {'; '.join(storms)}")
    cpu: dict[str, dict[str, float]] = summary.get("storm_server_cpu_seconds", {})  # type: ignore[assignment]
    for kind, by in cpu.items():
        if "ours" in by and "http-backend" in by:
            lines.append(
                f"server CPU, {LABELS[kind]}: http-backend {by['http-backend']:.2f} s,"
                f" ours {by['ours']:.2f} s ({by['ours'] / max(by['http-backend'], 1e-9):.2f}x)"
            )
    state: dict[str, float] = summary.get("state_clone_server_cpu_seconds", {})  # type: ignore[assignment]
    if "pushed" in state and "gced" in state:
        lines.append(
            f"server CPU per clone (no pack cache): gc-ed {state['gced']:.3f} s,"
            f" mirror-pushed {state['pushed']:.3f} s"
            f" ({state['pushed'] / max(state['gced'], 1e-9):.2f}x)"
        )
    client: dict[str, float] = summary.get("fleet_client_cpu_seconds", {})  # type: ignore[assignment]
    if client:
        own = ", ".join(f"{kind} {seconds:.2f} s" for kind, seconds in client.items())
        lines.append(f"fleet clients' own CPU per storm (one process, all clients): {own}")
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
    parser.add_argument(
        "--storms-only", action="store_true", help="only the clone storms (before/after runs)"
    )
    parser.add_argument(
        "--ours-source", type=Path, help="another source tree to run as gitserver (a before run)"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # even when started with SIGINT ignored

    params = QUICK if args.quick else FULL
    repo = ensure_repo(params)
    print(describe(repo), flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="gitbench-"))
    bench = Bench(repo, scratch, args.runs, storms_only=args.storms_only, source=args.ours_source)
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
