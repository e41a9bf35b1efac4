"""The push hook git runs, the local socket where the server answers it, and what the
server does before and after receive-pack.

Before git starts, the front end has read and authorized the command list
(`GitEngine.plan`): `prepare` writes one `prepared` row per update while git receives
the pack, then the engine writes the plan file. git runs `pre-receive` (objects still
quarantined, no ref locked yet) from the directory in `core.hooksPath`, which the server
passes only to the receive-packs it starts. The script is plain sh: when git's updates
are exactly the plan file's, every one of them was authorized and is durably prepared,
and it exits 0 without starting anything. Otherwise (git dropped a command, the rows are
not durable yet, a push the front end passed to git whole) it hands its stdin to the
server over a unix socket with the push's token, and the server authorizes each update
again and records what the plan did not.

No post-receive: git's report-status, read on its way to the client, says which updates
git applied, and `settle` commits them to the ledger with their events once git has
exited, before the client hears the push is over (see gitserver.store.pushes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from gitserver.access import Access
from gitserver.db import Database
from gitserver.store import pushes
from gitserver.store.naming import ref_update_problem
from gitserver.store.refs import classify, parse_update_lines, set_head
from gitserver.transport.engine import GitEngine, PushSession
from gitserver.transport.packobjects import MAGIC, PackObjects

log = logging.getLogger(__name__)

HOOKS = ("pre-receive",)
_MAX_REQUEST = 64 * 1024 * 1024
CLIENT = Path(__file__).with_name("hookclient.py")
# $(...) drops trailing newlines on both sides alike; ref names hold none. The plan file
# appears once the rows are durable, usually long before git gets here; the wait (at
# most ~0.5 s, 10 ms a step) is for a database slower than git, and is cheaper than the
# Python client, which would have to wait for the same rows.
_PRE_RECEIVE = """#!/bin/sh
client() {{ exec '{python}' -I -S '{client}' pre-receive "$@"; }}
plan="$GITSERVER_PUSH_PLAN"
[ -n "$plan" ] || client "$@"
updates=$(cat)
n=0
while [ ! -f "$plan" ] && [ $n -lt 50 ]; do sleep 0.01; n=$((n + 1)); done
[ -f "$plan" ] && [ "$updates" = "$(cat "$plan")" ] && exit 0
printf '%s\\n' "$updates" | client "$@"
"""


def install_hooks(hooks_dir: Path) -> None:
    """Write the hook scripts (atomically; several servers may share a data dir)."""
    hooks_dir.mkdir(parents=True, exist_ok=True)
    for stale in hooks_dir.iterdir():
        if stale.name not in HOOKS and not stale.name.startswith("."):
            stale.unlink()  # a hook an older version installed must not run any more
    for hook in HOOKS:
        script = _PRE_RECEIVE.format(python=sys.executable, client=CLIENT)
        target = hooks_dir / hook
        if target.exists() and target.read_text() == script:
            continue
        tmp = hooks_dir / f".{hook}.{os.getpid()}"
        tmp.write_text(script)
        tmp.chmod(0o755)
        tmp.replace(target)


@dataclass(frozen=True, slots=True)
class HookReply:
    exit: int
    message: str = ""


OnCommitted = Callable[[str], Awaitable[None]]


class HookHandler:
    """What the server does for a push: record it, answer its hook, settle it."""

    def __init__(
        self, engine: GitEngine, access: Access, db: Database, on_committed: OnCommitted
    ) -> None:
        self._engine = engine
        self._access = access
        self._db = db
        self._on_committed = on_committed
        # pre-receive calls that reached the server: the plan file settles the rest.
        self.hook_requests = 0

    async def prepare(self, push: PushSession) -> None:
        """Durably note the planned updates before git can move a ref."""
        await pushes.record_prepared(self._db, push.context, push.planned, push.kinds)

    async def handle(
        self, push: PushSession, hook: str, args: list[str], stdin: str, env: dict[str, str]
    ) -> HookReply:
        self.hook_requests += 1
        if hook == "pre-receive":
            return await self._pre_receive(push, parse_update_lines(stdin), env)
        return HookReply(1, f"gitserver: unexpected hook {hook}")

    async def _pre_receive(
        self, push: PushSession, updates: list[pushes.Update], env: dict[str, str]
    ) -> HookReply:
        """The updates did not match the plan file: decide each one here."""
        refs = (ref for _, _, ref in updates)
        denied = self._access.denied_refs(push.principal, push.target, refs, push.request)
        # The front ends refused these already (reportstatus.plan_push); an atomic or
        # all-refused SSH push reaches git whole, and this is where it is refused.
        named = ((ref, ref_update_problem(ref, new)) for _, new, ref in updates)
        denied = {**{ref: problem for ref, problem in named if problem}, **denied}
        if denied:
            lines = [f"gitserver: {ref}: {reason}" for ref, reason in denied.items()]
            return HookReply(1, "\n".join(lines))
        if push.prepared is not None:
            await push.prepared  # its failure fails the push: no ref moves unrecorded
        planned = set(push.planned)
        unplanned = [update for update in updates if update not in planned]
        object_env = self._engine.object_env(env)
        for update in unplanned:
            old, new, _ = update
            push.kinds[update] = await classify(self._engine.git, push.path, old, new, object_env)
        if unplanned:
            await pushes.record_prepared(self._db, push.context, unplanned, push.kinds)
        return HookReply(0)

    async def settle(self, push: PushSession) -> None:
        """After receive-pack exits: the rows git's report (or else the repository) says
        were applied become ledger changes and events; the rest are aborted."""
        reported = push.applied()
        try:
            if reported is not None:
                # Before the transaction: the repository's lock is not held for git.
                for update in push.planned:
                    old, new, ref = update
                    if ref in reported and update not in push.kinds:
                        push.kinds[update] = await classify(self._engine.git, push.path, old, new)
            applied, default = await pushes.settle_push(
                self._db, self._engine.git, push.path, push.context, reported, push.kinds
            )
        except Exception:
            log.exception("settling a push failed", extra={"push_id": push.context.push_id})
            return
        if default:
            await set_head(self._engine.git, push.path, default)
        if applied:
            await self._on_committed(push.context.repository_id)

    async def keep_fresh(self, interval: float) -> None:
        """Keep the rows of this server's running pushes younger than the reconciler's
        grace: a push may upload for longer than that before git moves a ref."""
        while True:
            await asyncio.sleep(interval)
            live = self._engine.live_pushes()
            if not live:
                continue
            try:
                await pushes.touch_prepared(self._db, live)
            except Exception:
                log.exception("refreshing running pushes failed")


class HookServer:
    """A unix socket that answers hook clients: push hooks (one JSON request and reply
    each) and, when the pack-objects cache is on, upload-pack's pack-objects runs."""

    def __init__(
        self, engine: GitEngine, handler: HookHandler, packs: PackObjects | None = None
    ) -> None:
        self._engine = engine
        self._handler = handler
        self._packs = packs
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        plans = self._engine.plans_dir
        shutil.rmtree(plans, ignore_errors=True)  # this pid's predecessor was killed
        plans.mkdir(mode=0o700, parents=True)
        path = self._engine.hook_socket
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self._server = await asyncio.start_unix_server(self._serve, path=str(path), limit=2**20)
        path.chmod(0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self._engine.hook_socket.unlink()
        shutil.rmtree(self._engine.plans_dir, ignore_errors=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            raw = await _read_request(reader)
            if raw is not None and raw.startswith(MAGIC) and self._packs is not None:
                await self._packs.serve(raw, writer)
                return
            reply = await self._reply(raw)
            writer.write(json.dumps({"exit": reply.exit, "message": reply.message}).encode())
            await writer.drain()
        except Exception:
            log.exception("hook request failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _reply(self, raw: bytes | None) -> HookReply:
        if raw is None:
            return HookReply(1, "gitserver: hook request too large")
        try:
            request = json.loads(raw.decode("utf-8", "surrogateescape"))
            token, hook = str(request["token"]), str(request["hook"])
            args = [str(a) for a in request.get("args", [])]
            stdin, env = str(request.get("stdin", "")), dict(request.get("env", {}))
        except (ValueError, KeyError, TypeError):
            return HookReply(1, "gitserver: malformed hook request")
        push = self._engine.find_push(token)
        if push is None:
            return HookReply(1, "gitserver: this push is not known to the server")
        try:
            return await self._handler.handle(push, hook, args, stdin, env)
        except Exception:
            log.exception("hook failed", extra={"hook": hook, "push_id": push.context.push_id})
            return HookReply(1, "gitserver: internal error while recording this push")


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    """Everything the client sends before it shuts its side; None past `_MAX_REQUEST`."""
    chunks, size = [], 0
    while chunk := await reader.read(65536):
        size += len(chunk)
        if size > _MAX_REQUEST:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
