"""The one wrapper through which every `git` process starts.

Fixed environment (no system or global config, a private HOME, C locale, no prompts),
server-forced configuration through `GIT_CONFIG_COUNT` (never written into a repository),
user values refused when they could be read as options, a timeout on everything, and
bounded output capture. Processes run in their own session so the whole tree (git
spawns pack-objects, index-pack, hooks) can be killed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

log = logging.getLogger(__name__)

MAX_CAPTURE = 64 * 1024 * 1024

# The object checks every write into a repository gets, in one place. receive-pack applies
# them to a push (`receive.fsckObjects` makes it run `index-pack --strict`, and each
# `receive.fsck.<msg-id>` is passed on as `--strict=<msg-id>=<severity>,...`); the
# server's own writes feed their packs through `index-pack` with `strict_option()`, the
# same argument. Empty: git's defaults, where --strict turns every warning (hasDotgit,
# ...) into an error. An entry changes both at once, so they cannot differ.
# https://git-scm.com/docs/git-config#Documentation/git-config.txt-receivefsckltmsg-idgt
FSCK_SEVERITIES: Mapping[str, str] = MappingProxyType({})


def receive_fsck_config() -> dict[str, str]:
    """The configuration that makes receive-pack check a push's objects."""
    return {
        "receive.fsckObjects": "true",
        **{f"receive.fsck.{msg}": severity for msg, severity in FSCK_SEVERITIES.items()},
    }


def strict_option() -> str:
    """`index-pack`'s `--strict`, exactly as receive-pack passes it for a push."""
    if not FSCK_SEVERITIES:
        return "--strict"
    return "--strict=" + ",".join(f"{msg}={sev}" for msg, sev in FSCK_SEVERITIES.items())


class UnsafeArgument(ValueError):
    """A user-supplied value that git could take for an option."""


class GitError(Exception):
    """A git command failed; `stderr` is for the log, not for clients."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: bytes) -> None:
        super().__init__(f"git {' '.join(args[:2])} exited {returncode}")
        self.argv = tuple(args)
        self.returncode = returncode
        self.stderr = stderr


def user_value(value: str) -> str:
    """Return `value` if git cannot mistake it for an option.

    Raises:
        UnsafeArgument: it starts with '-' or holds a NUL or newline.
    """
    if not value or value.startswith("-") or "\0" in value or "\n" in value:
        raise UnsafeArgument(f"refusing argument {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class GitResult:
    returncode: int
    stdout: bytes
    stderr: bytes


class Git:
    """Starts git processes. One instance per server, built from settings."""

    def __init__(
        self,
        home: Path,
        *,
        binary: str = "git",
        forced_config: Mapping[str, str] | None = None,
        default_timeout: float = 120.0,
    ) -> None:
        self.home = home
        self.binary = binary
        self.forced_config = dict(forced_config or {})
        self.default_timeout = default_timeout
        home.mkdir(parents=True, exist_ok=True)

    def env(
        self,
        *,
        repo: Path | None = None,
        config: Mapping[str, str] | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """The complete environment of a git process: nothing inherited but PATH."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_NO_REPLACE_OBJECTS": "1",
        }
        pairs = {"safe.directory": "*", **self.forced_config, **(config or {})}
        env["GIT_CONFIG_COUNT"] = str(len(pairs))
        for index, (key, value) in enumerate(pairs.items()):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        if repo is not None:
            env["GIT_DIR"] = str(repo)
        env.update(extra or {})
        return env

    async def spawn(
        self,
        *args: str,
        repo: Path | None = None,
        config: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        stderr_to_pipe: bool = True,
        limit: int = 2**16,
    ) -> asyncio.subprocess.Process:
        """Start git with pipes on stdin and stdout; the caller streams and must `reap`.

        `limit` is how much of git's output may wait unread before git is held back."""
        return await asyncio.create_subprocess_exec(
            self.binary,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE if stderr_to_pipe else asyncio.subprocess.DEVNULL,
            env=self.env(repo=repo, config=config, extra=extra_env),
            cwd=str(repo) if repo is not None else str(self.home),
            start_new_session=True,
            limit=limit,
        )

    async def run(
        self,
        *args: str,
        repo: Path | None = None,
        input: bytes | None = None,
        config: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> GitResult:
        """Run git to completion and capture its output.

        Raises:
            GitError: non-zero exit (with `check`), a timeout, or too much output.
        """
        process = await self.spawn(*args, repo=repo, config=config, extra_env=extra_env)
        try:
            stdout, stderr = await asyncio.wait_for(
                _communicate(process, input), timeout or self.default_timeout
            )
        except TimeoutError:
            kill(process)
            await process.wait()
            raise GitError(args, -1, b"timed out") from None
        finally:
            if process.returncode is None:
                kill(process)
                await process.wait()
        result = GitResult(process.returncode or 0, stdout, stderr)
        if check and result.returncode != 0:
            log.warning(
                "git command failed",
                extra={"git_args": args[:2], "rc": result.returncode, "stderr": stderr[-2000:]},
            )
            raise GitError(args, result.returncode, stderr)
        return result


def watch_children_with_pidfd() -> None:
    """Reap git processes from the event loop, not from a thread per process.

    Python 3.11 waits for each child in a thread of its own (ThreadedChildWatcher): a
    thread started and joined for every git a page runs. Linux's pidfd (5.3+) lets the
    running loop wait instead; Python 3.12 chooses it by itself. Call it from the loop
    that will spawn git (`gitserver serve`, `gitserver worker`).
    """
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:  # an older kernel, or a sandbox that forbids it: keep the default
        return
    watcher = asyncio.PidfdChildWatcher()
    watcher.attach_loop(asyncio.get_running_loop())
    asyncio.set_child_watcher(watcher)


async def _communicate(
    process: asyncio.subprocess.Process, data: bytes | None
) -> tuple[bytes, bytes]:
    assert process.stdin is not None and process.stdout is not None
    assert process.stderr is not None

    async def feed() -> None:
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if data:
                process.stdin.write(data)
                await process.stdin.drain()
            process.stdin.close()

    async def capture(stream: asyncio.StreamReader) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while chunk := await stream.read(65536):
            size += len(chunk)
            if size > MAX_CAPTURE:
                raise GitError(("output",), -1, b"output too large")
            chunks.append(chunk)
        return b"".join(chunks)

    _, stdout, stderr = await asyncio.gather(
        feed(), capture(process.stdout), capture(process.stderr)
    )
    await process.wait()
    return stdout, stderr


def kill(process: asyncio.subprocess.Process) -> None:
    """Kill git and everything it started."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()
