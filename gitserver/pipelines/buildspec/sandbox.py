"""Executors: how the build's one shell is started, in bubblewrap or (trusted) on the host.

The bubblewrap sandbox, as started by root (the server's usual user):
- new user, PID, mount, network, IPC, UTS and cgroup namespaces; the build runs as uid
  1000 with every capability dropped, cannot create further user namespaces
  (`--disable-userns`) and dies with the runner (`--die-with-parent`);
- a private filesystem: /usr read-only (with the /bin, /lib* links), a minimal /etc
  (generated passwd/group/hosts, plus the host's public certificates, alternatives and
  loader cache), its own /tmp and HOME (tmpfs), /proc and /dev, and the workspace, the
  only writable host directory, at /codebuild/output/src; the rest is read-only.
  Nothing else of the host exists in it: not the data dir, the server key, the
  database nor other repositories;
- network `none`: only `lo` in its own namespace, so the host's 127.0.0.1 services are
  unreachable; `host` shares the host's network namespace (everything the server host
  can reach, its loopback services included);
- limits through `prlimit` on every process: address space, CPU time, processes, file
  size, open files, no core files; and, where the host allows it, cgroups for the whole
  build's process count and memory (cgroups.py).

The sandbox's uid maps to the host uid that started bwrap. Started by root, files the
build creates belong to root, RLIMIT_NPROC does not bind (the kernel exempts host root's
processes; the pids cgroup does), and any root-owned file made visible would be the
build's to read: that is why only public system files are mounted, read-only.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from gitserver.pipelines.buildspec import cgroups
from gitserver.pipelines.buildspec.cgroups import NO_CGROUPS, BuildCgroups
from gitserver.pipelines.buildspec.errors import SandboxUnavailable
from gitserver.pipelines.buildspec.request import BuildLimits

SANDBOX_SRC_DIR = "/codebuild/output/src"
SANDBOX_HOME = "/codebuild/home"
SANDBOX_UID = 1000
SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Public files of the host's /etc a build may need; never /etc/ssl/private, shadow or the
# like (see the module docstring on the uid mapping).
_HOST_ETC = (
    "alternatives",
    "ssl/certs",
    "ca-certificates",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "nsswitch.conf",
    "protocols",
    "services",
    "mime.types",
)
_HOST_NETWORK_ETC = ("resolv.conf", "gai.conf", "host.conf")


class ExecutorKind(StrEnum):
    """`bwrap` (the default sandbox) or `shell` (no sandbox: trusted builds only)."""

    BWRAP = "bwrap"
    SHELL = "shell"


class Network(StrEnum):
    """A build's network: `none` (loopback of its own) or `host` (the host's network)."""

    NONE = "none"
    HOST = "host"


@dataclass(frozen=True, slots=True)
class Launch:
    """How to start the build's shell: argv, the host cwd, and the paths the build sees.

    `release` must be called after the build (it removes the build's cgroups).
    """

    argv: tuple[str, ...]
    cwd: Path
    src_dir: str
    home: str
    cgroups: BuildCgroups = NO_CGROUPS

    def release(self) -> None:
        """Free what the launch holds on the host."""
        self.cgroups.release()


class Executor(Protocol):
    """Turns the shell's argv into a process started in (or outside) a sandbox."""

    @property
    def kind(self) -> ExecutorKind:
        """Which executor this is."""
        ...

    def launch(
        self, shell: Sequence[str], workspace: Path, scratch: Path, limits: BuildLimits
    ) -> Launch:
        """The argv that runs `shell` for a build of `workspace`; `scratch` is private."""
        ...


def limit_argv(limits: BuildLimits) -> list[str]:
    """`prlimit` in front of the shell: the limits hold for every process it starts."""
    argv = ["prlimit", "--core=0"]
    for option, value in (
        ("--as", limits.memory_bytes),
        ("--cpu", limits.cpu_seconds),
        ("--nproc", limits.processes),
        ("--fsize", limits.file_size),
        ("--nofile", limits.open_files),
    ):
        if value is not None:
            argv.append(f"{option}={value}")
    return [*argv, "--"]


@dataclass(frozen=True, slots=True)
class ShellExecutor:
    """No sandbox: the build runs as the server's user with the server's view of the host."""

    kind: ExecutorKind = ExecutorKind.SHELL

    def launch(
        self, shell: Sequence[str], workspace: Path, scratch: Path, limits: BuildLimits
    ) -> Launch:
        """The shell on the host, in the workspace, HOME in the scratch directory."""
        home = scratch / "home"
        home.mkdir(exist_ok=True)
        groups = cgroups.create(limits.processes, limits.memory_bytes)
        argv = tuple(groups.wrap([*limit_argv(limits), *shell]))
        return Launch(argv, workspace, str(workspace), str(home), groups)


@dataclass(frozen=True, slots=True)
class BwrapExecutor:
    """The bubblewrap sandbox described in the module docstring."""

    binary: str = "/usr/bin/bwrap"
    network: Network = Network.NONE
    kind: ExecutorKind = ExecutorKind.BWRAP

    def launch(
        self, shell: Sequence[str], workspace: Path, scratch: Path, limits: BuildLimits
    ) -> Launch:
        """bwrap's argv; the generated /etc files are written under `scratch`."""
        names = _HOST_ETC + (_HOST_NETWORK_ETC if self.network is Network.HOST else ())
        present = [name for name in names if (Path("/etc") / name).exists()]
        etc = _generated_etc(scratch / "etc", self.network, present)
        argv = [
            self.binary,
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--uid",
            str(SANDBOX_UID),
            "--gid",
            str(SANDBOX_UID),
            "--cap-drop",
            "ALL",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "codebuild",
        ]
        if self.network is Network.HOST:
            argv.append("--share-net")
        argv += ["--ro-bind", "/usr", "/usr"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = Path("/") / name
            if host.is_symlink():
                argv += ["--symlink", os.readlink(host), f"/{name}"]
            elif host.is_dir():
                argv += ["--ro-bind", str(host), f"/{name}"]
        # /etc is the generated directory, read-only; the host's public files are mounted
        # over placeholders in it (a mount point needs no write access).
        argv += ["--ro-bind", str(etc), "/etc"]
        for name in present:
            argv += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        argv += [
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",  # noqa: S108 - the sandbox's own tmpfs
            "--tmpfs",
            SANDBOX_HOME,
            "--bind",
            str(workspace),
            SANDBOX_SRC_DIR,
            # The root itself (a tmpfs of bwrap's, with /etc's placeholders) is read-only;
            # /tmp, HOME and the workspace are separate mounts and stay writable.
            "--remount-ro",
            "/",
            "--chdir",
            SANDBOX_SRC_DIR,
            "--",
            *limit_argv(limits),
            *shell,
        ]
        groups = cgroups.create(limits.processes, limits.memory_bytes)
        return Launch(tuple(groups.wrap(argv)), workspace, SANDBOX_SRC_DIR, SANDBOX_HOME, groups)


def _generated_etc(etc: Path, network: Network, host_names: Sequence[str]) -> Path:
    etc.mkdir(parents=True, exist_ok=True)
    for name in host_names:
        placeholder = etc / name
        placeholder.parent.mkdir(parents=True, exist_ok=True)
        if (Path("/etc") / name).is_dir():
            placeholder.mkdir(exist_ok=True)
        else:
            placeholder.touch()
    uid = SANDBOX_UID
    files = {
        "passwd": f"root:x:0:0:root:/root:/bin/sh\n"
        f"codebuild:x:{uid}:{uid}:build:{SANDBOX_HOME}:/bin/bash\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
        "group": f"root:x:0:\ncodebuild:x:{uid}:\nnogroup:x:65534:\n",
        "hostname": "codebuild\n",
    }
    if network is Network.NONE:
        files["hosts"] = "127.0.0.1 localhost codebuild\n::1 localhost\n"
    elif Path("/etc/hosts").exists():
        files["hosts"] = Path("/etc/hosts").read_text(errors="replace")
    for name, text in files.items():
        (etc / name).write_text(text)
    return etc


def executor_for(
    kind: ExecutorKind | str = ExecutorKind.BWRAP,
    *,
    network: Network | str = Network.NONE,
    bwrap: str | None = None,
) -> Executor:
    """The executor an operator chose; `bwrap` unless `shell` is named.

    Raises:
        SandboxUnavailable: bwrap is not installed (and `shell` was not chosen).
    """
    kind = ExecutorKind(kind)
    if kind is ExecutorKind.SHELL:
        return ShellExecutor()
    binary = bwrap or shutil.which("bwrap") or "/usr/bin/bwrap"
    if not os.access(binary, os.X_OK):
        raise SandboxUnavailable(
            f"builds run in bubblewrap, and {binary} is missing: install Debian's "
            "bubblewrap package, or choose the shell executor (no sandbox: only for "
            "trusted builds)"
        )
    return BwrapExecutor(binary, Network(network))
