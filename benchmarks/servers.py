"""The servers under test: `git http-backend` behind lighttpd, and `gitserver serve`.

Both run in the foreground in their own process group on a free loopback port, with
their files in a scratch directory, and are stopped (group and all) by `stop()`.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
GITSERVER = ROOT / ".venv" / "bin" / "gitserver"
MAINTENANCE_LOCK = "gitserver-maintenance.lock"  # gitserver/store/maintenance.py


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port}")


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and of every child it has reaped (which count theirs)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def stop_group(process: subprocess.Popen[bytes] | None, grace: float = 15) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left of it."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


class HttpBackend:
    """C git's `git http-backend` as a CGI behind lighttpd, serving `root`."""

    def __init__(self, scratch: Path) -> None:
        self.dir = scratch / "lighttpd"
        self.root = scratch / "hb-root"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        backend = subprocess.run(
            ["git", "--exec-path"], check=True, capture_output=True, text=True
        ).stdout.strip()
        lighttpd = shutil.which("lighttpd") or "/usr/sbin/lighttpd"
        for sub in ("www", "uploads"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        config = self.dir / "lighttpd.conf"
        config.write_text(f"""
server.modules = ("mod_alias", "mod_setenv", "mod_cgi")
server.bind = "127.0.0.1"
server.port = {self.port}
server.document-root = "{self.dir / "www"}"
server.errorlog = "{self.dir / "error.log"}"
server.upload-dirs = ("{self.dir / "uploads"}")
server.stream-request-body = 0
server.max-request-size = 0
alias.url = ("/git" => "{backend}/git-http-backend")
$HTTP["url"] =~ "^/git" {{
    cgi.assign = ("" => "")
    setenv.add-environment = (
        "GIT_PROJECT_ROOT" => "{self.root}",
        "GIT_HTTP_EXPORT_ALL" => "1",
        "GIT_CONFIG_NOSYSTEM" => "1",
        "HOME" => "{self.dir}",
    )
}}
""")
        subprocess.run([lighttpd, "-tt", "-f", str(config)], check=True, capture_output=True)
        log = (self.dir / "stderr.log").open("wb")
        self.process = subprocess.Popen(
            [lighttpd, "-D", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        wait_port(self.port, self.process)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/git/{name}"

    def stop(self) -> None:
        stop_group(self.process)


class GitServer:
    """`gitserver serve` on a fresh data directory, driven through its CLI; `source` is
    another source tree to run (a before/after run), `args` are more `serve` options,
    `name` names its data directory and log in `scratch`."""

    def __init__(
        self,
        scratch: Path,
        source: Path | None = None,
        name: str = "gitserver",
        args: Sequence[str] = (),
    ) -> None:
        self.data = scratch / f"{name}-data"
        self.log = scratch / f"{name}.log"
        self.args = tuple(args)
        self.port = 0
        self.password = ""
        self.process: subprocess.Popen[bytes] | None = None
        # Another source tree (a before/after run): its packages come first on the path.
        self.env = {**os.environ, "PYTHONPATH": str(source)} if source else None

    def start(self, timeout: float = 60) -> None:
        out = self.log.open("wb")
        # The clone storm runs 32 clones as one user at once, each with one git process
        # at a time; the default per-user cap (32) would turn a straggler into a 429.
        args = ["--http", "127.0.0.1:0", "--no-ssh", "--http-max-git-processes-per-user", "64"]
        args += self.args
        self.process = subprocess.Popen(
            [GITSERVER, "serve", "--data", self.data, *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=self.env,
        )
        deadline = time.monotonic() + timeout
        while not self.port:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gitserver did not start; see {self.log}")
            text = self.log.read_text(errors="replace")
            if found := re.search(r"HTTP listening on http://127\.0\.0\.1:(\d+)", text):
                self.port = int(found.group(1))
                password = re.search(r"Created user admin with password: (\S+)", text)
                if not password:
                    raise RuntimeError("gitserver printed no admin password")
                self.password = password.group(1)
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cli(self, *args: str, timeout: float = 600) -> dict[str, object]:
        out = subprocess.run(
            [str(GITSERVER), "--data", str(self.data), *args, "--json"],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
        )
        return dict(json.loads(out.stdout))

    def create(self, name: str) -> Path:
        return Path(str(self.cli("repo", "create", name)["path"]))

    def url(self, name: str) -> str:
        return f"http://admin:{quote(self.password, safe='')}@127.0.0.1:{self.port}/v1/repos/{name}"

    def wait_maintained(
        self, name: str, path: Path, after: float, timeout: float = 300, quiet: float = 4.0
    ) -> tuple[float, bool]:
        """Wait until background maintenance after the push that ended at `after` is over.

        Done means: `maintainedAt` is later than the push and than `pushedAt`, and for
        `quiet` seconds (more than the server's 2 s debounce) it stayed the same while no
        maintenance held the repository's lock: a rerun scheduled by the push's last refs
        would have started in that time. Returns (seconds from `after` to `maintainedAt`,
        whether it fell back to `gitserver repo maintain` after `timeout` seconds).
        """
        deadline = time.monotonic() + timeout
        seen: float | None = None
        since = 0.0
        while time.monotonic() < deadline:
            repo = self.cli("repo", "get", name)
            done, pushed = _epoch(repo.get("maintainedAt")), _epoch(repo.get("pushedAt"))
            settled = (
                done is not None
                and done > after
                and (pushed is None or done >= pushed)
                and not maintenance_running(path)
            )
            if not settled:
                seen = None
            elif done != seen:
                seen, since = done, time.monotonic()
            elif time.monotonic() - since >= quiet:
                assert done is not None
                return done - after, False
            time.sleep(0.5)
        print(
            f"  !! background maintenance of {name} not settled within {timeout:.0f} s:"
            " running `gitserver repo maintain` instead",
            flush=True,
        )
        self.cli("repo", "maintain", name, timeout=3600)
        return time.time() - after, True

    def stop(self) -> None:
        stop_group(self.process, grace=30)


def maintenance_running(repo: Path) -> bool:
    """Whether gitserver's maintenance holds the repository's flock (per /proc/locks)."""
    try:
        st = (repo / MAINTENANCE_LOCK).stat()
    except FileNotFoundError:
        return False
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    return any(key in line.split() for line in Path("/proc/locks").read_text().splitlines())


@contextmanager
def maintenance_held(repo: Path) -> Iterator[None]:
    """Hold the repository's maintenance lock: gitserver's maintenance skips it meanwhile."""
    fd = os.open(repo / MAINTENANCE_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits for a running maintenance to end
        yield
    finally:
        os.close(fd)


def _epoch(value: object) -> float | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class RssSampler:
    """Samples RssAnon of one process every `interval` seconds; peaks per named phase."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.peaks: dict[str, int] = {}
        self._phase: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self._stop.wait(self.interval):
            try:
                text = status.read_text()
            except OSError:
                return
            found = re.search(r"^RssAnon:\s+(\d+) kB", text, re.M)
            if found is None:
                continue
            kb = int(found.group(1))
            for phase in ("all", self._phase):
                if phase is not None and kb > self.peaks.get(phase, 0):
                    self.peaks[phase] = kb

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self._phase = name
        try:
            yield
        finally:
            time.sleep(2 * self.interval)
            self._phase = None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
