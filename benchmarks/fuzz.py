"""The long fuzz run: every target of tests/unit/fuzz/targets.py, far more examples.

Usage: .venv/bin/python benchmarks/fuzz.py [--quick] [--examples N] [--seconds S] [--only NAME]

The same strategies and properties as `tests/unit/fuzz/test_fuzz_parsers.py` (which runs
them under the small `fuzz-ci` profile in the test suite), here under `fuzz-long`: up to
`--examples` examples per target (20,000; `--quick`: 1,000), in runs of 500 with new
seeds, each target stopped after the run that passes `--seconds` (300; `--quick`: 20).
Prints the examples run and the time per target, and the first failing example of any
target (the run goes on with the others); exits 1 if one failed. Results go to
benchmarks/results/fuzz.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import given, settings  # noqa: E402

from tests.unit.fuzz.targets import LONG_PROFILE, TARGETS, Target  # noqa: E402

CHUNK = 500  # examples per hypothesis run; runs repeat (new seeds) until a budget is spent


def run(target: Target, examples: int, seconds: float) -> dict[str, Any]:
    count = 0

    def counted(value: Any) -> None:
        nonlocal count
        count += 1
        target.check(value)

    started = time.monotonic()
    failure = None
    while count < examples and time.monotonic() - started < seconds:
        size = min(CHUNK, examples - count)
        test = settings(settings.get_profile(LONG_PROFILE), max_examples=size)(
            given(target.strategy)(counted)
        )
        try:
            test()
        except Exception as exc:  # hypothesis raises the shrunk failing example's error
            failure = "".join(traceback.format_exception(exc))[-3000:]
            break
    elapsed = time.monotonic() - started
    return {
        "target": target.name,
        "examples": count,
        "seconds": round(elapsed, 1),
        "per_second": round(count / elapsed, 1) if elapsed else 0.0,
        "failure": failure,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--examples", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--only", action="append", help="a target's name (repeatable)")
    parser.add_argument("--runs", type=int, help="ignored (scripts/bench passes it to all)")
    parser.add_argument("--keep", action="store_true", help="ignored")
    args = parser.parse_args()
    examples = args.examples or (1_000 if args.quick else 20_000)
    seconds = args.seconds or (20.0 if args.quick else 300.0)
    targets = [t for t in TARGETS if not args.only or t.name in args.only]
    print(f"fuzz: {len(targets)} targets, up to {examples} examples or {seconds:.0f} s each")
    results = []
    for target in targets:
        result = run(target, examples, seconds)
        results.append(result)
        status = "FAILED" if result["failure"] else "ok"
        print(
            f"  {target.name:32} {result['examples']:>7} examples "
            f"{result['seconds']:>7.1f} s {result['per_second']:>8.1f}/s  {status}",
            flush=True,
        )
        if result["failure"]:
            print(result["failure"])
    total = sum(r["examples"] for r in results)
    print(f"fuzz: {total} examples in {sum(r['seconds'] for r in results):.0f} s")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "fuzz.json").write_text(json.dumps(results, indent=2) + "\n")
    return 1 if any(r["failure"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
