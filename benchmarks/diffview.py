"""What the web diff costs in this process (no server, no git): one file's body, and the
file list of a 1,000-file pull request.

    .venv/bin/python benchmarks/diffview.py [--runs N]

The file is 2,000 lines of this project's own Python with 200 seeded edits (changed,
inserted and deleted lines spread over it); the list is 1,000 files of 200 lines with
5 edits each, summarized and planned as the PR page does it (no rows, no highlighting),
then the same count of files read from `git diff --numstat -z` output instead.
Prints medians in milliseconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from gitserver.web.diffstat import plan, stats_from_numstat, summarize
from gitserver.web.diffview import file_diff
from gitserver.web.highlight import HighlightCache, line_segments

ROOT = Path(__file__).resolve().parent.parent


def _source(lines: int) -> list[str]:
    found: list[str] = []
    for path in sorted((ROOT / "gitserver").rglob("*.py")):
        found.extend(path.read_text().splitlines())
        if len(found) >= lines:
            return found[:lines]
    raise SystemExit("not enough source to sample")


def _edited(lines: list[str], edits: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    result = list(lines)
    for index in sorted(rng.sample(range(len(result)), edits), reverse=True):
        roll = rng.random()
        if roll < 0.5:
            result[index] = result[index].replace("self", "this") + "  # edited"
        elif roll < 0.75:
            result.insert(index, f"    inserted_{index} = compute({index})")
        else:
            del result[index]
    return result


def _timed(label: str, work: Callable[[], object], runs: int) -> None:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    print(f"  {label:<30} median {statistics.median(times):7.1f} ms   min {min(times):7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs

    lines = _source(2_000)
    before, after = "\n".join(lines) + "\n", "\n".join(_edited(lines, 200, seed=1)) + "\n"
    file_diff("big.py", before, after)  # warm: lexer lookup, regex compilation
    cache = HighlightCache()
    cache("big.py", before), cache("big.py", after)
    shown = file_diff("big.py", before, after)
    rows = sum(len(h.rows) for h in shown.hunks)
    print(f"one file: 2,000 lines, 200 edits -> {len(shown.hunks)} hunks, {rows} rows")
    _timed("body, highlighted", lambda: file_diff("big.py", before, after), runs)
    _timed(
        "body, highlight cache warm",
        lambda: file_diff("big.py", before, after, highlighter=cache),
        runs,
    )
    _timed("highlight one side only", lambda: line_segments("big.py", after), runs)
    _timed("body, plain text (.txt)", lambda: file_diff("big.txt", before, after), runs)

    typical = _source(300)
    old_small, new_small = "\n".join(typical) + "\n", "\n".join(_edited(typical, 10, seed=3)) + "\n"
    print("one file: 300 lines, 10 edits")
    _timed("body, highlighted", lambda: file_diff("mid.py", old_small, new_small), runs)

    small = _source(200)
    pairs = [
        ("\n".join(small) + "\n", "\n".join(_edited(small, 5, seed=n)) + "\n") for n in range(1_000)
    ]

    def file_list() -> object:
        return plan([summarize(f"f{n}.py", old, new) for n, (old, new) in enumerate(pairs)])

    print("file list: 1,000 files of 200 lines, 5 edits each")
    _timed("summarize + plan", file_list, runs)
    numstat = b"".join(b"%d\t%d\tsrc/module_%d.py\0" % (n % 7, n % 5, n) for n in range(1_000))
    _timed("numstat -z parse + plan", lambda: plan(stats_from_numstat(numstat)), runs)


if __name__ == "__main__":
    main()
