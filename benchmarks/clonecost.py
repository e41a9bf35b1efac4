"""Server CPU per cached clone: one fleet client (fleet.py) at a time, many times.

A storm's server CPU is mostly the one pack-objects run of its miss plus 10 ms clock
ticks of noise; this isolates what every further clone of the same commit costs: its
requests (the 401, info/refs, ls-refs, the fetch), authentication and the copy of the
pack. Each source tree gets its own `gitserver serve` with the quick repository pushed
into it and every cache warmed; the trees take turns, the order reversed every round.

    .venv/bin/python benchmarks/clonecost.py /tmp/base . --clones 100 --rounds 5

("." is this tree.) Prints each round with the load, then the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import fleet
import gitops
from make_repo import QUICK, ensure_repo
from servers import GitServer, cpu_seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", type=Path, help="source trees ('.': this one)")
    parser.add_argument("--clones", type=int, default=100, help="sequential clones a round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    repo = ensure_repo(QUICK)
    objects = fleet.object_count(repo.path)
    head = gitops.git("rev-parse", "refs/heads/main", cwd=repo.path).strip()
    scratch = Path(tempfile.mkdtemp(prefix="clonecost-"))
    names = [str(tree) for tree in args.trees]
    servers: dict[str, GitServer] = {}
    scripts: dict[str, fleet.Script] = {}
    try:
        for k, (name, tree) in enumerate(zip(names, args.trees, strict=True)):
            source = None if tree == Path(".") else tree.resolve()
            server = servers[name] = GitServer(scratch, source, name=f"tree{k}")
            server.start()
            server.create("r")
            gitops.git("push", "--mirror", "-q", server.url("r"), cwd=repo.path)
            scripts[name], _ = fleet.capture(server.url("r"), scratch / f"capture{k}.git")
            fleet.storm(scripts[name], 1, objects, head, name)  # every cache warm
        cpu: dict[str, list[float]] = {name: [] for name in names}
        for round_ in range(args.rounds):
            for name in names if round_ % 2 == 0 else names[::-1]:
                pid = servers[name].pid
                before, started = cpu_seconds(pid), time.perf_counter()
                for _ in range(args.clones):
                    fleet.storm(scripts[name], 1, objects, head, name)
                wall = (time.perf_counter() - started) / args.clones
                cpu[name].append((cpu_seconds(pid) - before) / args.clones * 1000)
                print(
                    f"round {round_ + 1} {name}: {cpu[name][-1]:.2f} ms server CPU a clone,"
                    f" {wall * 1000:.1f} ms wall, load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
        for name in names:
            print(f"{name}: median {statistics.median(cpu[name]):.2f} ms server CPU a clone")
    finally:
        for server in servers.values():
            server.stop()
        gitops.remove(scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
