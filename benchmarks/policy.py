"""Policy benchmark: decisions per second, cold vs warm compiles, and the share of a small
clone's wall time spent authorizing.

Usage: .venv/bin/python benchmarks/policy.py [--decisions N] [--clones N]

A principal with 10 policies of 20 statements each (actions, ARN globs, conditions on
`codecommit:References` and `aws:SourceIp`), the shape of a busy real account. The clone
share is measured, not assumed: a small repository is cloned through a running gitserver
as a user holding those policies, and the decisions that clone needed (counted from the
server's audit-free path: one per info/refs and one per upload-pack POST) are priced at
the measured cost per decision, including the per-request policy load.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gitops import client_env
from servers import GitServer

from auth.policy import PolicyRequest, clear_compile_cache, compile_policy, evaluate

ACCOUNT = "000000000000"
TARGET_SHARE = 0.01


def policy_document(index: int) -> dict[str, object]:
    statements = []
    for n in range(20):
        statement: dict[str, object] = {
            "Sid": f"P{index}S{n}",
            "Effect": "Deny" if n % 7 == 6 else "Allow",
            "Action": [f"codecommit:Get{n}*", "codecommit:GitPull"],
            "Resource": f"arn:aws:codecommit:us-east-1:{ACCOUNT}:team{index}-repo{n}-*",
            "Condition": {
                "StringNotEqualsIfExists": {"codecommit:References": [f"refs/heads/p{n}"]},
                "IpAddress": {"aws:SourceIp": "127.0.0.0/8"},
            },
        }
        statements.append(statement)
    statements[0]["Resource"] = f"arn:aws:codecommit:us-east-1:{ACCOUNT}:*"
    return {"Version": "2012-10-17", "Statement": statements}


DOCUMENTS = [policy_document(i) for i in range(10)]
TEXTS = [json.dumps(doc) for doc in DOCUMENTS]  # as the store hands them over


def compile_all() -> list[object]:
    return [compile_policy(text, name=f"Policy{i}") for i, text in enumerate(TEXTS)]


def measure_compiles() -> tuple[float, float]:
    clear_compile_cache()
    started = time.perf_counter()
    compile_all()
    cold = time.perf_counter() - started
    started = time.perf_counter()
    compile_all()
    return cold, time.perf_counter() - started


def measure_decisions(count: int) -> float:
    policies = compile_all()
    request = PolicyRequest(
        action="codecommit:GitPull",
        resource=f"arn:aws:codecommit:us-east-1:{ACCOUNT}:team3-repo9-x",
        context={"aws:SourceIp": "127.0.0.1", "codecommit:References": ("refs/heads/main",)},
        username="bench",
        userid="AIDABENCH",
    )
    started = time.perf_counter()
    for _ in range(count):
        evaluate(policies, request)  # type: ignore[arg-type]
    return count / (time.perf_counter() - started)


def measure_clone(clones: int, scratch: Path) -> float:
    server = GitServer(scratch)
    server.start()
    try:
        server.cli("repo", "create", "team3-repo9-x")
        server.cli("user", "create", "bench")
        for i, doc in enumerate(DOCUMENTS):
            path = scratch / f"p{i}.json"
            path.write_text(json.dumps(doc))
            # Customer-managed: 20 statements are past the 2,048-character inline limit.
            server.cli("policy", "create", f"Policy{i}", "--document", str(path))
            server.cli("policy", "attach-user-policy", "bench", f"Policy{i}")
        server.cli("policy", "attach-user-policy", "bench", "GitServerFullAccess")
        cred = server.cli("credential", "create", "bench")
        base = server.url("team3-repo9-x")
        work = scratch / "seed"
        env = {
            **client_env(),
            "GIT_AUTHOR_NAME": "bench",
            "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "bench",
            "GIT_COMMITTER_EMAIL": "bench@example.com",
        }
        subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True, env=env)
        (work / "README").write_text("small\n")
        subprocess.run(["git", "-C", str(work), "add", "README"], check=True, env=env)
        subprocess.run(["git", "-C", str(work), "commit", "-qm", "x"], check=True, env=env)
        subprocess.run(["git", "-C", str(work), "push", "-q", base, "main"], check=True, env=env)
        user = quote(str(cred["username"]), safe="")
        password = quote(str(cred["password"]), safe="")
        user_url = f"http://{user}:{password}@127.0.0.1:{server.port}/v1/repos/team3-repo9-x"
        times = []
        for n in range(clones):
            target = scratch / f"clone{n}"
            started = time.perf_counter()
            subprocess.run(["git", "clone", "-q", user_url, str(target)], check=True, env=env)
            times.append(time.perf_counter() - started)
        return statistics.median(times)
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--clones", type=int, default=9)
    args = parser.parse_args()
    cold, warm = measure_compiles()
    rate = measure_decisions(args.decisions)
    with tempfile.TemporaryDirectory(prefix="gitbench-policy-") as scratch:
        clone = measure_clone(args.clones, Path(scratch))
    # A clone over smart HTTP is authorized twice (info/refs, upload-pack POST); each
    # request also loads the principal's policies, which hits the warm compile cache.
    per_clone = 2 * (1 / rate + warm)
    share = per_clone / clone
    print("principal: 10 policies x 20 statements")
    print(f"compile all 10: cold {cold * 1000:.1f} ms, warm (cached) {warm * 1000:.2f} ms")
    print(f"decisions per second (one core): {rate:,.0f}")
    print(f"small clone (median of {args.clones}): {clone * 1000:.0f} ms")
    verdict = "ok" if share < TARGET_SHARE else "MISSED"
    print(f"authorization share of that clone: {share:.2%} (target < 1%) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
