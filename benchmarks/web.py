"""The web UI against cgit and gitweb: the same pages of the benchmark repository.

On the benchmark repository (make_repo.py; --quick for the small one), one run serves
it with cgit and gitweb as CGI under lighttpd (webpeers.py) and with `gitserver serve`
(filled by a push, signed in once through the form, session cookie kept), and times
each page server-side: a keep-alive HTTP request on loopback, request to last byte,
--requests times after a warm-up, the contenders alternating. Pages: repository home,
the tree of the deepest folder, the largest Python file highlighted (cgit through its
Pygments filter), the log of main, main's last non-merge commit with its diff; and,
gitserver only, pull-request pages: a real pull request on the benchmark repository (its
main as the source, main~20 as the destination) and a 1,000-file pull request's page and
one of its file diffs, each opened through boto3 as a CodeCommit client would.

Every response is checked (status 200, the page's marker, highlighting where asked) before
its time counts; a page gitserver answers 404 is "missing", any other failure "broken".
Neither is timed. Writes results/web.json.

    BENCH=web scripts/bench [--quick] [--requests N]    or    .venv/bin/python benchmarks/web.py
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import boto3
import gitops
from make_repo import FULL, QUICK, describe, ensure_repo
from servers import GitServer
from webpeers import Browser, Fetched, Peers

RESULTS = Path(__file__).resolve().parent / "results" / "web.json"
NAME = "bench"
PR_REPO = "bench-pr"
PR_FOLDERS, PR_FILES_PER_FOLDER, PR_LINES = 20, 50, 40
# The benchmark repository's own pull request: main into main as it was this many
# first-parent commits ago (a branch pushed for it), a review of a few weeks' work.
BENCH_PR_BASE, BENCH_PR_BEHIND = "pr-base", 20
BENCH_PR_TITLE = f"Review the last {BENCH_PR_BEHIND} commits"
WARMUP = 3
CONTENDERS = ("gitserver", "cgit", "gitweb")
# The targets: every page faster than gitweb; p50 <= 3x cgit and <= 50 ms; the
# highlighted file faster than cgit's filter; the 1,000-file PR page <= 300 ms.
CGIT_RATIO, PAGE_MS, PR_PAGE_MS = 3.0, 50.0, 300.0
# One file of a pull request's diff: what "Show this file's diff" of a collapsed file
# loads (`?path=`, pulls.py), the request a reviewer's click on a 1,000-file PR makes.
PR_FILE_PATH = "/repositories/{repo}/pull-requests/{id}?path={path}"


@dataclass(frozen=True)
class Page:
    """One page of one contender: where it is and what proves it is the right page."""

    path: str
    marker: str
    highlighted: bool = False  # the body must carry Pygments' token markup


@dataclass(frozen=True)
class Subject:
    """What the pages show, read from the repository with git."""

    folder: str
    folder_entry: str
    source: str
    source_token: str
    head_subject: str
    commit: str
    commit_path: str


def _git(repo: Path, *args: str) -> str:
    return gitops.git("-C", str(repo), *args).strip()


def subject_of(repo: Path) -> Subject:
    folders = _git(repo, "ls-tree", "-r", "-d", "--name-only", "main").splitlines()
    # The deepest folder, then the fullest: the most work for a tree page.
    counts = {
        f: len(_git(repo, "ls-tree", "--name-only", f"main:{f}").splitlines()) for f in folders
    }
    folder = max(folders, key=lambda f: (f.count("/"), counts[f], f))
    sizes = [line.split() for line in _git(repo, "ls-tree", "-r", "-l", "main").splitlines()]
    source = max((row for row in sizes if row[4].endswith(".py")), key=lambda r: int(r[3]))[4]
    text = _git(repo, "show", f"main:{source}")
    # An identifier Pygments keeps as one token, so it survives highlighting intact.
    token = re.search(r"^\s*([a-z]+_[a-z]+) = ", text, re.M)
    commit = _git(repo, "rev-list", "--no-merges", "-1", "main")
    return Subject(
        folder=folder,
        folder_entry=_git(repo, "ls-tree", "--name-only", f"main:{folder}").splitlines()[0],
        source=source,
        source_token=token.group(1) if token else source.rsplit("/", 1)[1],
        head_subject=_git(repo, "log", "-1", "--format=%s", "main"),
        commit=commit,
        commit_path=_git(
            repo, "diff-tree", "--no-commit-id", "--name-only", "-r", commit
        ).splitlines()[0],
    )


def pages_of(s: Subject, prs: dict[str, str], wide: str) -> dict[str, dict[str, Page]]:
    """Each page's URL and marker per contender; cgit-plain is cgit's blob without filter."""
    ours, gw = f"/repositories/{NAME}", f"/gitweb?p={NAME}.git"
    q = quote
    pages = {
        "home": {
            "gitserver": Page(ours, f"/v1/repos/{NAME}"),
            "cgit": Page(f"/cgit/{NAME}/", s.head_subject),
            "gitweb": Page(f"{gw};a=summary", s.head_subject[:30]),
        },
        "tree": {
            "gitserver": Page(f"{ours}/tree/main/{q(s.folder)}", s.folder_entry),
            "cgit": Page(f"/cgit/{NAME}/tree/{q(s.folder)}", s.folder_entry),
            "gitweb": Page(f"{gw};a=tree;f={q(s.folder)};hb=main", s.folder_entry),
        },
        "blob": {
            "gitserver": Page(f"{ours}/blob/main/{q(s.source)}", s.source_token, True),
            "cgit": Page(f"/cgit-hl/{NAME}/tree/{q(s.source)}", s.source_token, True),
            "gitweb": Page(f"{gw};a=blob;f={q(s.source)};hb=main", s.source_token),
            "cgit-plain": Page(f"/cgit/{NAME}/tree/{q(s.source)}", s.source_token),
        },
        "log": {
            "gitserver": Page(f"{ours}/log/main", s.head_subject),
            "cgit": Page(f"/cgit/{NAME}/log/", s.head_subject),
            "gitweb": Page(f"{gw};a=log;h=refs/heads/main", s.head_subject),
        },
        "commit": {
            "gitserver": Page(f"{ours}/commit/{s.commit}", s.commit_path),
            "cgit": Page(f"/cgit/{NAME}/commit/?id={s.commit}", s.commit_path),
            "gitweb": Page(f"{gw};a=commitdiff;h={s.commit}", s.commit_path),
        },
    }
    # The PR's 1,000 changed files as one commit: the nearest page cgit and gitweb have.
    pages["commit-1k"] = {
        "gitserver": Page(f"/repositories/{PR_REPO}/commit/{wide}", _pr_path(999)),
        "cgit": Page(f"/cgit/{PR_REPO}/commit/?id={wide}", _pr_path(999)),
        "gitweb": Page(f"/gitweb?p={PR_REPO}.git;a=commitdiff;h={wide}", _pr_path(999)),
    }
    # What any request costs gitserver before its page does any work: aiohttp and one
    # trivial query; then a signed-in page with no git (session lookup, CSRF, template).
    pages["floor"] = {"gitserver": Page("/healthz", '"ok"')}
    pages["session"] = {"gitserver": Page("/settings/password", "csrf")}
    if "bench" in prs:
        pages["pr-bench"] = {
            "gitserver": Page(f"{ours}/pull-requests/{prs['bench']}", BENCH_PR_TITLE)
        }
    if "wide" in prs:
        pr_id, first = prs["wide"], _pr_path(0)
        pages["pr"] = {
            "gitserver": Page(f"/repositories/{PR_REPO}/pull-requests/{pr_id}", _pr_title())
        }
        pages["pr-file"] = {
            "gitserver": Page(
                PR_FILE_PATH.format(repo=PR_REPO, id=pr_id, path=q(first, safe="")),
                # Words of the changed line that highlighting and word-diff marks keep
                # in one piece: the file's diff itself is in the page, not just its name.
                CHANGED_WORDS,
            )
        }
    return pages


# --- the 1,000-file pull request ---------------------------------------------------------


def _pr_path(n: int) -> str:
    return f"d{n // PR_FILES_PER_FOLDER:02}/f{n % PR_FILES_PER_FOLDER:03}.py"


def _pr_title() -> str:
    return f"Change {PR_FOLDERS * PR_FILES_PER_FOLDER} files"


CHANGED_WORDS = "the source branch"


def _changed_line(path: str) -> str:
    return f"changed_value = {path.count('/')}  # {path} on {CHANGED_WORDS}"


def _pr_content(path: str, changed: bool) -> bytes:
    lines = [f"value_{n} = {n}  # {path} line {n}" for n in range(PR_LINES)]
    if changed:
        lines[PR_LINES // 2] = _changed_line(path)
    return ("\n".join(lines) + "\n").encode()


def make_pr_repository(work: Path) -> None:
    """main with 1,000 files; `source` changes one line in each (git fast-import)."""
    gitops.git("init", "-q", "--bare", "-b", "main", str(work))
    stream = []
    for mark, branch, parent, changed in ((1, "main", None, False), (2, "source", ":1", True)):
        stream.append(f"commit refs/heads/{branch}\nmark :{mark}\n".encode())
        stream.append(b"committer Bench <bench@example.com> 1500000000 +0000\ndata 6\nbench\n")
        if parent:
            stream.append(f"from {parent}\n".encode())
        for n in range(PR_FOLDERS * PR_FILES_PER_FOLDER):
            data = _pr_content(_pr_path(n), changed)
            stream.append(f"M 100644 inline {_pr_path(n)}\ndata {len(data)}\n".encode() + data)
            stream.append(b"\n")
    subprocess.run(
        ["git", "-C", str(work), "fast-import", "--quiet"],
        input=b"".join(stream),
        check=True,
        env=gitops.client_env(),
    )


def create_pull_requests(server: GitServer) -> dict[str, str]:
    """Both pull requests through boto3, as a CodeCommit client makes them; their ids."""
    key = server.cli("access-key", "create", "admin")
    client = boto3.client(
        "codecommit",
        endpoint_url=f"http://127.0.0.1:{server.port}",
        region_name="us-east-1",
        aws_access_key_id=str(key["AccessKeyId"]),
        aws_secret_access_key=str(key["SecretAccessKey"]),
    )
    opened = {}
    for key, repo, title, source, destination in (
        ("bench", NAME, BENCH_PR_TITLE, "main", BENCH_PR_BASE),
        ("wide", PR_REPO, _pr_title(), "source", "main"),
    ):
        target = {
            "repositoryName": repo,
            "sourceReference": source,
            "destinationReference": destination,
        }
        created = client.create_pull_request(title=title, targets=[target])
        opened[key] = str(created["pullRequest"]["pullRequestId"])
    return opened


# --- measuring ---------------------------------------------------------------------------


def problem(page: Page, fetched: Fetched) -> str | None:
    """Why this response is not the page (None: it is)."""
    if fetched.status != 200:
        return f"HTTP {fetched.status}"
    if page.marker not in fetched.body and html.escape(page.marker) not in fetched.body:
        return f"marker {page.marker!r} not in the page"
    if page.highlighted and fetched.body.count("<span") < 20:
        return "not syntax-highlighted (fewer than 20 <span> tokens)"
    return None


class Run:
    def __init__(self, pages: dict[str, dict[str, Page]], clients: dict[str, Browser]) -> None:
        self.pages = pages
        self.clients = clients
        self.status: dict[str, dict[str, str]] = {key: {} for key in pages}
        self.times: dict[str, dict[str, list[float]]] = {key: {} for key in pages}

    def _client(self, contender: str) -> Browser:
        return self.clients["gitserver" if contender == "gitserver" else "peers"]

    def check(self) -> None:
        """One request per page: which are there; a 404 from gitserver is a missing page."""
        for key, by in self.pages.items():
            for contender, page in by.items():
                fetched = self._client(contender).get(page.path)
                why = problem(page, fetched)
                if why is None:
                    self.status[key][contender] = "ok"
                elif contender == "gitserver" and fetched.status == 404:
                    self.status[key][contender] = "missing"
                else:
                    self.status[key][contender] = f"broken: {why}"
                if why is not None:
                    print(f"  {key:<10} {contender:<10} {self.status[key][contender]}", flush=True)

    def _live(self) -> list[tuple[str, str, Page]]:
        return [
            (key, c, page)
            for key, by in self.pages.items()
            for c, page in by.items()
            if self.status[key][c] == "ok"
        ]

    def measure(self, requests: int) -> None:
        live = self._live()
        for _ in range(WARMUP):
            for _, contender, page in live:
                self._client(contender).get(page.path)
        for n in range(requests):
            # A different contender first each round: drift in the machine's load is shared.
            shift = n % len(live)
            for key, contender, page in live[shift:] + live[:shift]:
                if self.status[key][contender] != "ok":
                    continue
                fetched = self._client(contender).get(page.path)
                why = problem(page, fetched)
                if why is not None:
                    self.status[key][contender] = f"broken: {why} (request {n + 1})"
                    self.times[key].pop(contender, None)
                    continue
                self.times[key].setdefault(contender, []).append(fetched.seconds)


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _targets(
    key: str, ours: float | None, cgit: float | None, gitweb: float | None
) -> dict[str, bool]:
    """The issue's targets for one page (p50s in ms); a page not timed misses them all."""
    mine = math.inf if ours is None else ours
    if key in ("pr", "pr-bench"):
        return {f"p50 <= {PR_PAGE_MS:.0f} ms": mine <= PR_PAGE_MS}
    if key in ("pr-file", "commit-1k", "floor", "session"):
        return {}
    targets = {
        "faster than gitweb": gitweb is not None and mine < gitweb,
        f"p50 <= {CGIT_RATIO:.0f}x cgit": cgit is not None and mine <= CGIT_RATIO * cgit,
        f"p50 <= {PAGE_MS:.0f} ms": mine <= PAGE_MS,
    }
    if key == "blob":
        targets["faster than cgit's filter"] = cgit is not None and mine < cgit
    return targets


def summarize(run: Run) -> dict[str, dict[str, object]]:
    rows: dict[str, dict[str, object]] = {}
    for key, by in run.pages.items():
        row: dict[str, object] = {
            "status": run.status[key],
            "paths": {c: p.path for c, p in by.items()},
        }
        stats = {
            c: {
                "p50_ms": statistics.median(ts) * 1e3,
                "p90_ms": _percentile(ts, 90) * 1e3,
                "n": len(ts),
            }
            for c, ts in run.times[key].items()
            if len(ts) >= 2
        }
        row["stats"] = stats
        ours = stats.get("gitserver", {}).get("p50_ms")
        for peer in ("cgit", "gitweb", "cgit-plain"):
            if ours is not None and peer in stats:
                row[f"gitserver/{peer}"] = ours / stats[peer]["p50_ms"]
        targets = _targets(
            key, ours, stats.get("cgit", {}).get("p50_ms"), stats.get("gitweb", {}).get("p50_ms")
        )
        row["targets"] = targets
        rows[key] = row
    return rows


def _cell(row: dict[str, object], contender: str) -> str:
    stats: dict[str, dict[str, float]] = row["stats"]  # type: ignore[assignment]
    status: dict[str, str] = row["status"]  # type: ignore[assignment]
    if contender in stats:
        return f"{stats[contender]['p50_ms']:.1f}/{stats[contender]['p90_ms']:.1f} ms"
    return status.get(contender, "-").split(":")[0]


def _ratio(row: dict[str, object], peer: str) -> str:
    value = row.get(f"gitserver/{peer}")
    return f"{value:.2f}x" if isinstance(value, float) else "-"


def table(rows: dict[str, dict[str, object]]) -> str:
    head = (
        f"{'page':<10}{'gitserver p50/p90':>20}{'cgit p50/p90':>18}{'gitweb p50/p90':>20}"
        f"{'/cgit':>8}{'/gitweb':>9}  targets"
    )
    lines = [head, "-" * len(head)]
    for key, row in rows.items():
        targets: dict[str, bool] = row["targets"]  # type: ignore[assignment]
        verdicts = ", ".join(f"{t} {'ok' if ok else 'MISSED'}" for t, ok in targets.items())
        lines.append(
            f"{key:<10}{_cell(row, 'gitserver'):>20}{_cell(row, 'cgit'):>18}"
            f"{_cell(row, 'gitweb'):>20}{_ratio(row, 'cgit'):>8}{_ratio(row, 'gitweb'):>9}"
            f"  {verdicts}"
        )
        status: dict[str, str] = row["status"]  # type: ignore[assignment]
        if "cgit-plain" in status:
            lines.append(f"{'':<10}(cgit without its filter: {_cell(row, 'cgit-plain')})")
        lines += [
            f"{'':<10}{c}: {state}" for c, state in status.items() if state.startswith("broken")
        ]
    return "\n".join(lines)


def versions() -> dict[str, str]:
    def first(*cmd: str) -> str:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        return (
            (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""
        )

    return {
        "git": first("git", "--version"),
        "lighttpd": first("lighttpd", "-v"),
        "cgit": first("dpkg-query", "-W", "-f=${Version}", "cgit"),
        "gitweb": first("dpkg-query", "-W", "-f=${Version}", "gitweb"),
        "python": platform.python_version(),
        "cpus": str(os.cpu_count()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small repository, 10 requests")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    args, _ = parser.parse_known_args(argv)
    requests = 10 if args.quick and args.requests == 30 else args.requests
    repo = ensure_repo(QUICK if args.quick else FULL)
    print(describe(repo), flush=True)
    subject = subject_of(repo.path)
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        scratch = Path(tmp)
        pr_source = scratch / "pr.git"
        make_pr_repository(pr_source)
        wide = _git(pr_source, "rev-parse", "source")
        peers = Peers(scratch, {NAME: repo.path, PR_REPO: pr_source})
        ours = GitServer(scratch)
        clients: dict[str, Browser] = {}
        try:
            peers.start()
            ours.start()
            print(f"cgit and gitweb on :{peers.port}, gitserver on :{ours.port}", flush=True)
            path = ours.create(NAME)
            gitops.push_mirror(repo.path, ours.url(NAME))
            base = f"main~{BENCH_PR_BEHIND}:refs/heads/{BENCH_PR_BASE}"
            gitops.git("-C", str(repo.path), "push", "-q", ours.url(NAME), base)
            pushed = time.time()
            pr_path = ours.create(PR_REPO)
            gitops.git("-C", str(pr_source), "push", "-q", ours.url(PR_REPO), "main", "source")
            pr_pushed = time.time()
            prs = create_pull_requests(ours)
            # No background repack may overlap a timing.
            ours.wait_maintained(NAME, path, after=pushed)
            ours.wait_maintained(PR_REPO, pr_path, after=pr_pushed)
            clients = {"gitserver": Browser(ours.port), "peers": Browser(peers.port)}
            clients["gitserver"].sign_in("admin", ours.password)
            run = Run(pages_of(subject, prs, wide), clients)
            run.check()
            started = time.monotonic()
            load = os.getloadavg()
            run.measure(requests)
            seconds = time.monotonic() - started
        finally:
            for client in clients.values():
                client.close()
            ours.stop()
            peers.stop()
    rows = summarize(run)
    report = {
        "repo": repo.stats,
        "subject": vars(subject),
        "requests": requests,
        "warmup": WARMUP,
        "versions": versions(),
        "loadavg_before": load,
        "loadavg_after": (after := os.getloadavg()),
        "seconds": round(seconds, 1),
        "pages": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"\nWeb pages, server time over loopback, {requests} requests each after {WARMUP} warm-up;"
    )
    print(f"load average before {load[0]:.1f}; blob is {subject.source}, tree {subject.folder}")
    print(table(rows))
    busy = max(load[0], after[0])
    if busy > (os.cpu_count() or 1):
        # Every contender slows down, but CGI forks and Python's GIL not alike: the ratios
        # of a busy run are not the ratios of a quiet one.
        print(
            f"WARNING: load average {busy:.1f} on {os.cpu_count()} CPUs: rerun on a quiet machine"
        )
    print(f"results: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
