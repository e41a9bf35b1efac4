"""SSH benchmark: gitserver's SSH front end against OpenSSH's sshd running git itself.

Usage: .venv/bin/python benchmarks/ssh.py [--quick] [--runs N] [--keep] [--json]

Both sides serve the same bare repository on disk (the one gitserver stores, after its
maintenance wrote bitmaps), so only the transport differs: sshd forks
`git-upload-pack`/`git-receive-pack` for the client's command, gitserver runs them behind
asyncssh with authorization, hooks and events. Measured: full bare clones, mirror
pushes of the whole history into an empty repository, and one-commit pushes (the median
of 15 in a row); medians, and gitserver/sshd ratios against the targets (1.3x; 1.5x for
the one-commit push). Needs `/usr/sbin/sshd` (Debian: `apt-get install
openssh-server`); the client is the OpenSSH `ssh` with an ed25519 key and pinned host keys.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gitops import Expected, local_copy, one_commit_pushes, remove, timed, warm
from make_repo import FULL, QUICK, describe, ensure_repo
from servers import GITSERVER, free_port, stop_group, wait_port

SSHD = Path("/usr/sbin/sshd")
TARGET = 1.3
# The fixed cost of a push (issue 15): 15 one-commit pushes one after another, p50.
ONE_COMMIT_PUSHES = 15
TARGETS = {"push1": 1.5}


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def ssh_command(key: Path, known_hosts: Path) -> str:
    return (
        f"ssh -F /dev/null -i {key} -o IdentitiesOnly=yes -o BatchMode=yes"
        f" -o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes -o LogLevel=ERROR"
    )


class Sshd:
    """OpenSSH's sshd on a free loopback port, for the current user and one client key."""

    def __init__(self, scratch: Path, client_key: Path) -> None:
        self.dir = scratch / "sshd"
        self.dir.mkdir()
        self.port = free_port()
        self.user = getpass.getuser()
        host_key = keygen(self.dir / "host_ed25519")
        (self.dir / "authorized_keys").write_text(
            client_key.with_name(client_key.name + ".pub").read_text()
        )
        self.known_hosts = self.dir / "known_hosts"
        self.known_hosts.write_text(
            f"[127.0.0.1]:{self.port} {host_key.with_name(host_key.name + '.pub').read_text()}"
        )
        (self.dir / "sshd_config").write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {host_key}",
                    f"AuthorizedKeysFile {self.dir / 'authorized_keys'}",
                    f"PidFile {self.dir / 'sshd.pid'}",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "StrictModes no",
                    "UsePAM no",
                    "LogLevel ERROR",
                ]
            )
            + "\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
        self.process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(self.dir / "sshd_config")],
            stdout=subprocess.DEVNULL,
            stderr=(self.dir / "sshd.log").open("wb"),
            start_new_session=True,
        )
        wait_port(self.port, self.process)

    def url(self, path: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        stop_group(self.process)


class GitServerSsh:
    """`gitserver serve` with SSH on a free port, without background maintenance."""

    def __init__(self, scratch: Path, client_key: Path) -> None:
        self.data = scratch / "gitserver-data"
        self.log = scratch / "gitserver.log"
        self.client_key = client_key
        self.known_hosts = scratch / "gitserver_known_hosts"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        self.process = subprocess.Popen(
            [
                *(GITSERVER, "serve", "--data", self.data, "--http", "127.0.0.1:0"),
                *("--ssh", "127.0.0.1:0", "--no-maintenance"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self.port:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gitserver did not start; see {self.log}")
            found = re.search(r"SSH listening on 127\.0\.0\.1:(\d+)", self.log.read_text())
            self.port = int(found.group(1)) if found else 0
            time.sleep(0.05)
        self.cli("ssh-key", "add", "admin", "--key-file", f"{self.client_key}.pub")
        keys = self.cli("ssh-key", "host-fingerprints")["hostKeys"]
        assert isinstance(keys, list)
        self.known_hosts.write_text(
            "".join(f"[127.0.0.1]:{self.port} {key['publicKey']}\n" for key in keys)
        )

    def cli(self, *args: str) -> dict[str, object]:
        out = subprocess.run(
            [str(GITSERVER), "--data", str(self.data), *args, "--json"],
            check=True,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        return dict(json.loads(out.stdout))

    def create(self, name: str) -> Path:
        return Path(str(self.cli("repo", "create", name)["path"]))

    def url(self, name: str) -> str:
        return f"ssh://admin@127.0.0.1:{self.port}/v1/repos/{name}"

    def stop(self) -> None:
        stop_group(self.process, grace=30)


def measure(runs: int, scratch: Path, quick: bool) -> dict[str, object]:
    info = ensure_repo(QUICK if quick else FULL)
    print(describe(info), flush=True)
    original = info.path
    expected = Expected.of(original)
    key = keygen(scratch / "client_ed25519")
    sshd, ours = Sshd(scratch, key), GitServerSsh(scratch, key)
    sshd.start()
    ours.start()
    via = {
        "sshd": ("-c", f"core.sshCommand={ssh_command(key, sshd.known_hosts)}"),
        "gitserver": ("-c", f"core.sshCommand={ssh_command(key, ours.known_hosts)}"),
    }
    source = scratch / "source.git"
    local_copy(original, source)
    times: dict[str, dict[str, list[float]]] = {"push": {}, "clone": {}, "push1": {}}

    def empty(side: str, name: str) -> tuple[Path, str]:
        """A new empty repository on `side`, and its URL."""
        if side == "sshd":
            target = scratch / f"sshd-{name}.git"
            subprocess.run(["git", "init", "-q", "--bare", str(target)], check=True)
            return target, sshd.url(target)
        return ours.create(name), ours.url(name)

    try:
        for run in range(runs):
            order = ["sshd", "gitserver"] if run % 2 == 0 else ["gitserver", "sshd"]
            for side in order:
                target, url = empty(side, f"push-{run}")
                elapsed = timed(*via[side], "push", "--mirror", "--quiet", url, cwd=source)
                expected.check(target, f"{side} push {run}")
                times["push"].setdefault(side, []).append(elapsed)
                print(f"  push  {side:9} {elapsed:7.3f} s", flush=True)
        for run in range(runs):
            order = ["sshd", "gitserver"] if run % 2 == 0 else ["gitserver", "sshd"]
            for side in order:
                _, url = empty(side, f"push1-{run}")
                work = scratch / f"push1-{side}-{run}"
                pushes = one_commit_pushes(url, work, ONE_COMMIT_PUSHES, *via[side])
                elapsed = statistics.median(pushes)
                times["push1"].setdefault(side, []).append(elapsed)
                print(f"  one-commit push {side:9} p50 {elapsed:7.3f} s", flush=True)
        # One repository on disk for both: gitserver's, with its maintenance done.
        served = ours.create("served")
        timed(*via["gitserver"], "push", "--mirror", "--quiet", ours.url("served"), cwd=source)
        ours.cli("repo", "maintain", "served")
        warm(served)
        urls = {"sshd": sshd.url(served), "gitserver": ours.url("served")}
        for run in range(runs):
            order = ["sshd", "gitserver"] if run % 2 == 0 else ["gitserver", "sshd"]
            for side in order:
                dest = scratch / f"clone-{side}-{run}.git"
                elapsed = timed(*via[side], "clone", "--bare", "--quiet", urls[side], str(dest))
                expected.check(dest, f"{side} clone {run}")
                remove(dest)
                times["clone"].setdefault(side, []).append(elapsed)
                print(f"  clone {side:9} {elapsed:7.3f} s", flush=True)
    finally:
        ours.stop()
        sshd.stop()
    summary: dict[str, object] = {"repository": info.stats, "target": TARGET}
    for op, sides in times.items():
        base, mine = statistics.median(sides["sshd"]), statistics.median(sides["gitserver"])
        summary[op] = {"sshd": base, "gitserver": mine, "ratio": mine / base, "runs": sides}
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small repository: a smoke run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    if not SSHD.exists():
        print("benchmarks/ssh.py needs /usr/sbin/sshd: apt-get install openssh-server")
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="gitbench-ssh-"))
    os.chmod(scratch, 0o755)
    try:
        summary = measure(args.runs, scratch, args.quick)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        print(json.dumps(summary, indent=2))
    print(f"\n{'operation':10} {'sshd':>9} {'gitserver':>10} {'ratio':>7}  (target <= {TARGET}x)")
    failed = False
    for op in ("clone", "push", "push1"):
        row = summary[op]
        assert isinstance(row, dict)
        ok = row["ratio"] <= TARGETS.get(op, TARGET)
        failed |= not ok
        print(
            f"{op:10} {row['sshd']:8.3f}s {row['gitserver']:9.3f}s {row['ratio']:6.2f}x"
            f"  {'ok' if ok else 'OVER TARGET'} (<= {TARGETS.get(op, TARGET)}x)"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
