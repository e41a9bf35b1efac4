"""One-commit pushes with push protection's checks on and off (issue 14, section 2).

With secret scanning on (the default) every push hands its quarantine to the server
through the plan's FIFOs and the server reads the new commits' added lines; off, the
plain-sh pre-receive exits at once. Both run on one server, in alternating rounds so
the machine's load falls on both alike; the hook client (a Python start) must not run
on either path (`gitserver_push_hook_requests_total` stays put).

Usage: .venv/bin/python benchmarks/push_protection.py [--pushes 15] [--rounds 2]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.gitops import one_commit_pushes
from benchmarks.servers import GitServer


def hook_requests(server: GitServer) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=30) as reply:
        text = reply.read().decode()
    found = re.search(r"^gitserver_push_hook_requests_total (\d+)", text, re.M)
    return int(found.group(1)) if found else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        server = GitServer(Path(scratch))
        server.start()
        try:
            results: dict[str, list[float]] = {"on": [], "off": []}
            before = hook_requests(server)
            for round_ in range(args.rounds):
                for mode in ("on", "off"):
                    name = f"scan-{mode}-{round_}"
                    server.create(name)
                    if mode == "off":
                        server.cli("repo", "push-rules", name, "--secret-scanning", "off")
                    work = Path(scratch) / name
                    results[mode] += one_commit_pushes(server.url(name), work, args.pushes)
            hooks = hook_requests(server) - before
        finally:
            server.stop()
    for mode, seconds in results.items():
        print(
            f"secret scanning {mode}: {len(seconds)} one-commit pushes, "
            f"median {statistics.median(seconds) * 1000:.0f} ms, "
            f"mean {statistics.mean(seconds) * 1000:.0f} ms"
        )
    print(f"hook client (Python) runs: {hooks}")


if __name__ == "__main__":
    main()
