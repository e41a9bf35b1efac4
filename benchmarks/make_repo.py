"""Generate a real-size benchmark repository with `git fast-import`, deterministically.

The history is streamed to fast-import as it is generated: source-like text files edited
line by line, renames (delete + add of the same content), incompressible binary files
added and replaced, feature branches (most merged back), and tags. The result is repacked
from scratch with a bitmap and a commit-graph, like a server-side `git gc`, and cached
under `benchmarks/.cache/` keyed by the parameters.

    python benchmarks/make_repo.py [--quick] [--commits N] [--binary-mb M] [--seed S]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

GENERATOR_VERSION = 1
CACHE = Path(__file__).resolve().parent / ".cache"
BASE_TIME = 1_500_000_000

_VOCABULARY = """
alpha beta gamma delta value index count buffer stream packet header config request response
handler client server cache table record entry result error offset length cursor token parser
writer reader commit branch object tree blob
"""
WORDS = tuple(_VOCABULARY.split())
DIRS = ("src/core", "src/net", "src/store", "src/cli", "src/util", "lib", "include", "docs")
EXTS = {"src": ".py", "lib": ".c", "include": ".h", "docs": ".md"}
AUTHORS = [(f"Dev {n}", f"{n.lower()}@example.com") for n in ("Ann", "Bob", "Cai", "Dee", "Eve")]


@dataclass(frozen=True)
class Params:
    commits: int = 20_000
    binary_mb: int = 110
    text_files: int = 300
    branches: int = 8
    seed: int = 1

    def key(self) -> str:
        data = json.dumps({**dataclasses.asdict(self), "v": GENERATOR_VERSION}, sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()[:12]


FULL = Params()
QUICK = Params(commits=2_000, binary_mb=8, text_files=80, branches=4)


@dataclass
class Branch:
    name: str
    files: dict[str, list[str]]  # text path -> lines (never mutated in place: shared on fork)
    binaries: dict[str, int]  # binary path -> blob mark
    touched: set[str] = field(default_factory=set)
    base: int = 0  # mark of the commit the branch starts from
    tip: int = 0  # mark of the last commit
    commits: int = 0
    planned: int = 0


@dataclass(frozen=True)
class RepoInfo:
    path: Path
    stats: dict[str, int | str | float]


class Generator:
    """Writes a fast-import stream for `params` to `out`."""

    def __init__(self, params: Params, out: IO[bytes]) -> None:
        self.p = params
        self.out = out
        self.rng = random.Random(params.seed)
        self.mark = 0
        self.time = BASE_TIME
        self.serial = 0
        self.tags = 0

    # --- stream primitives -------------------------------------------------------------

    def _next_mark(self) -> int:
        self.mark += 1
        return self.mark

    def _data(self, payload: bytes) -> None:
        self.out.write(b"data %d\n" % len(payload))
        self.out.write(payload)
        self.out.write(b"\n")

    def _blob(self, payload: bytes) -> int:
        mark = self._next_mark()
        self.out.write(b"blob\nmark :%d\n" % mark)
        self._data(payload)
        return mark

    def _ident(self) -> bytes:
        name, email = self.rng.choice(AUTHORS)
        self.time += self.rng.randint(60, 7200)
        return f"{name} <{email}> {self.time} +0000".encode()

    # --- content -------------------------------------------------------------------------

    def _line(self) -> str:
        r = self.rng
        a, b, c = r.choice(WORDS), r.choice(WORDS), r.choice(WORDS)
        indent = " " * (4 * r.randint(0, 3))
        form = r.randint(0, 4)
        if form == 0:
            return f"{indent}{a}_{b} = {c}({r.randint(0, 999)})"
        if form == 1:
            return f"{indent}if {a}.{b} > {r.randint(0, 64)}: return {c}"
        if form == 2:
            return f"{indent}# {a} {b} {c}: keep the {r.choice(WORDS)} in sync"
        if form == 3:
            return f"{indent}for {a} in {b}.{c}_items():"
        return f"{indent}{a}.{b}({c}, {r.choice(WORDS)}={r.randint(0, 9)})"

    def _new_text(self) -> list[str]:
        return [self._line() for _ in range(self.rng.randint(30, 160))]

    def _new_path(self, files: dict[str, list[str]]) -> str:
        while True:
            top = self.rng.choice(DIRS)
            self.serial += 1
            path = f"{top}/{self.rng.choice(WORDS)}_{self.serial:05d}{EXTS[top.split('/')[0]]}"
            if path not in files:
                return path

    def _edit(self, lines: list[str]) -> list[str]:
        lines = list(lines)
        for _ in range(self.rng.randint(1, 3)):
            pos = self.rng.randint(0, len(lines))
            kind = self.rng.random()
            if kind < 0.45 or len(lines) < 20:
                lines[pos:pos] = [self._line() for _ in range(self.rng.randint(1, 8))]
            elif kind < 0.75 or len(lines) > 400:
                del lines[pos : pos + self.rng.randint(1, 6)]
            elif lines:
                lines[min(pos, len(lines) - 1)] = self._line()
        return lines

    # --- commits -------------------------------------------------------------------------

    def _commit(
        self,
        branch: Branch,
        message: str,
        changes: list[tuple[str, list[str] | int | None]],
        *,
        merge: int = 0,
    ) -> None:
        """One commit on `branch`: `changes` maps a path to lines, a blob mark, or None."""
        mark = self._next_mark()
        ident = self._ident()
        self.out.write(b"commit refs/heads/%s\nmark :%d\n" % (branch.name.encode(), mark))
        self.out.write(b"author " + ident + b"\ncommitter " + ident + b"\n")
        self._data(message.encode())
        if branch.commits == 0 and branch.base:
            self.out.write(b"from :%d\n" % branch.base)
        if merge:
            self.out.write(b"merge :%d\n" % merge)
        for path, content in changes:
            if content is None:
                self.out.write(f"D {path}\n".encode())
            elif isinstance(content, int):
                self.out.write(f"M 100644 :{content} {path}\n".encode())
            else:
                self.out.write(f"M 100644 inline {path}\n".encode())
                self._data(("\n".join(content) + "\n").encode())
        self.out.write(b"\n")
        branch.tip = mark
        branch.commits += 1

    def _work(self, branch: Branch) -> None:
        """An ordinary commit: edits, sometimes an added, renamed or deleted file."""
        r = self.rng
        changes: list[tuple[str, list[str] | int | None]] = []
        paths = list(branch.files)
        for path in r.sample(paths, k=min(len(paths), r.choice((1, 1, 1, 2, 2, 3, 4)))):
            branch.files[path] = self._edit(branch.files[path])
            changes.append((path, branch.files[path]))
        roll = r.random()
        if roll < 0.03:
            path = self._new_path(branch.files)
            branch.files[path] = self._new_text()
            changes.append((path, branch.files[path]))
        elif roll < 0.045 and len(paths) > 10:
            old = r.choice([p for p in paths if p not in dict(changes)])
            new = self._new_path(branch.files)
            branch.files[new] = branch.files.pop(old)
            changes += [(old, None), (new, branch.files[new])]
        elif roll < 0.05 and len(paths) > 10:
            old = r.choice([p for p in paths if p not in dict(changes)])
            del branch.files[old]
            changes.append((old, None))
        branch.touched.update(path for path, _ in changes)
        words = " ".join(r.choice(WORDS) for _ in range(r.randint(2, 6)))
        self._commit(branch, f"Update {words}\n\nRefs #{r.randint(1, 9999)}\n", changes)

    def _binary(self, branch: Branch, size: int) -> None:
        """Add or replace (sometimes delete) an incompressible binary file."""
        r = self.rng
        names = sorted(branch.binaries)
        roll = r.random()
        if names and roll < 0.05:
            path = r.choice(names)
            del branch.binaries[path]
            branch.touched.add(path)
            self._commit(branch, f"Remove {path}\n", [(path, None)])
            return
        if names and roll < 0.45:
            path, verb = r.choice(names), "Replace"
        else:
            self.serial += 1
            path, verb = f"assets/blob_{self.serial:05d}.bin", "Add"
        branch.binaries[path] = self._blob(r.randbytes(size))
        branch.touched.add(path)
        self._commit(branch, f"{verb} {path}\n", [(path, branch.binaries[path])])

    def _merge(self, main: Branch, feature: Branch) -> None:
        """Merge `feature` into `main`: the feature's version of every path it touched."""
        changes: list[tuple[str, list[str] | int | None]] = []
        for path in sorted(feature.touched):
            if path in feature.files:
                main.files[path] = feature.files[path]
                changes.append((path, main.files[path]))
            elif path in feature.binaries:
                main.binaries[path] = feature.binaries[path]
                changes.append((path, main.binaries[path]))
            elif path in main.files or path in main.binaries:
                main.files.pop(path, None)
                main.binaries.pop(path, None)
                changes.append((path, None))
        main.touched.update(path for path, _ in changes)
        message = f"Merge branch '{feature.name}'\n"
        self._commit(main, message, changes, merge=feature.tip)

    def _tag(self, branch: Branch) -> None:
        self.tags += 1
        name = f"v{self.tags // 10}.{self.tags % 10}.0"
        if self.tags % 4 == 0:  # a lightweight tag
            self.out.write(b"reset refs/tags/%s\nfrom :%d\n\n" % (name.encode(), branch.tip))
            return
        self.out.write(b"tag %s\nfrom :%d\ntagger " % (name.encode(), branch.tip))
        self.out.write(self._ident() + b"\n")
        self._data(f"Release {name}\n".encode())

    def run(self) -> None:
        p, r = self.p, self.rng
        self.out.write(b"feature done\n")
        main = Branch("main", {}, {})
        for _ in range(p.text_files):
            path = self._new_path(main.files)
            main.files[path] = self._new_text()
        self._commit(main, "Initial import\n", [(path, main.files[path]) for path in main.files])

        events = max(10, p.commits // 100)
        mean = p.binary_mb * 1024 * 1024 // events
        binary_at = set(r.sample(range(1, p.commits), k=events))
        tag_every = max(50, p.commits // 40)
        open_branches: list[Branch] = []
        created = 0
        for i in range(1, p.commits):
            branch = main
            if (
                created < p.branches
                and len(open_branches) < 3
                and main.commits > 20
                and r.random() < 2.5 * p.branches / p.commits
            ):
                created += 1
                name = f"feature/{r.choice(WORDS)}-{created}"
                branch = Branch(name, dict(main.files), dict(main.binaries), base=main.tip)
                branch.planned = r.randint(30, 400)
                open_branches.append(branch)
            elif open_branches and r.random() < 0.3:
                branch = r.choice(open_branches)
            if i in binary_at:
                self._binary(branch, r.randint(mean // 4, mean * 7 // 4))
            elif branch is not main and branch.commits >= branch.planned:
                open_branches.remove(branch)  # done: most are merged, some left behind
                if r.random() < 0.7:
                    self._merge(main, branch)
                else:
                    self._work(main)
            else:
                self._work(branch)
            if branch is main and i % tag_every == 0:
                self._tag(main)
        self.out.write(b"done\n")


def git(*args: str, cwd: Path | None = None) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def repo_stats(path: Path) -> dict[str, int | str | float]:
    packs = list((path / "objects" / "pack").glob("*.pack"))
    refs = git("for-each-ref", "--format=%(refname)", cwd=path).splitlines()
    counts = dict(line.split(": ") for line in git("count-objects", "-v", cwd=path).splitlines())
    return {
        "commits": int(git("rev-list", "--all", "--count", cwd=path)),
        "main_commits": int(git("rev-list", "--count", "refs/heads/main", cwd=path)),
        "objects": int(counts["in-pack"]),
        "packed_bytes": sum(pack.stat().st_size for pack in packs),
        "packs": len(packs),
        "branches": sum(ref.startswith("refs/heads/") for ref in refs),
        "tags": sum(ref.startswith("refs/tags/") for ref in refs),
        "main": git("rev-parse", "refs/heads/main", cwd=path),
        "bitmap": int(any((path / "objects" / "pack").glob("*.bitmap"))),
    }


def generate(params: Params, dest: Path) -> None:
    """Build the repository at `dest` (which must not exist)."""
    git("init", "--quiet", "--bare", "-b", "main", str(dest))
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"], cwd=dest, stdin=subprocess.PIPE
    )
    assert proc.stdin is not None
    try:
        Generator(params, proc.stdin).run()
        proc.stdin.close()
    finally:
        if proc.wait() != 0:
            raise RuntimeError(f"git fast-import exited {proc.returncode}")
    # A server-side `git gc`: fresh deltas, one pack with a bitmap, a commit-graph.
    git("repack", "-a", "-d", "-f", "-b", "-q", "--window=10", "--depth=50", cwd=dest)
    git("commit-graph", "write", "--reachable", cwd=dest)
    git("pack-refs", "--all", cwd=dest)
    git("prune", "--expire=now", cwd=dest)


def ensure_repo(params: Params, *, force: bool = False, log: bool = True) -> RepoInfo:
    """The cached repository for `params`, generated first if missing."""
    name = f"repo-c{params.commits}-b{params.binary_mb}-s{params.seed}-{params.key()}.git"
    path = CACHE / name
    stats_file = path / "gitbench-stats.json"
    if force and path.exists():
        shutil.rmtree(path)
    if not stats_file.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = CACHE / (name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        if log:
            print(f"generating {name} ({params}) ...", flush=True)
        started = time.monotonic()
        generate(params, tmp)
        stats = repo_stats(tmp)
        stats["generate_seconds"] = round(time.monotonic() - started, 1)
        (tmp / "gitbench-stats.json").write_text(json.dumps(stats, indent=2) + "\n")
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)
    stats = json.loads(stats_file.read_text())
    return RepoInfo(path, stats)


def describe(info: RepoInfo) -> str:
    s = info.stats
    return (
        f"{info.path.name}: {s['commits']} commits ({s['main_commits']} on main), "
        f"{s['branches']} branches, {s['tags']} tags, {s['objects']} objects, "
        f"packed {int(s['packed_bytes']) / 1e6:.1f} MB in {s['packs']} pack(s), "
        f"bitmap={'yes' if s['bitmap'] else 'no'}, generated in {s['generate_seconds']} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small smoke-test repository")
    parser.add_argument("--commits", type=int)
    parser.add_argument("--binary-mb", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    overrides = {k: v for k in ("commits", "binary_mb", "seed") if (v := getattr(args, k))}
    params = dataclasses.replace(params, **overrides)
    info = ensure_repo(params, force=args.force)
    print(describe(info))
    print(info.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
