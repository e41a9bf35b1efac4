"""Push hooks: the scripts git runs, and the local socket where the server answers them.

git runs `pre-receive` (objects still quarantined, no ref locked yet) and `post-receive`
(fed exactly the updates it applied) from the directory in `core.hooksPath`, which the
server passes only to the receive-packs it starts. Each script hands its stdin to the
server over a unix socket with the push's token. pre-receive authorizes, classifies and
records every update as `prepared`; post-receive commits them to the ledger with their
events (see gitserver.store.pushes for why not reference-transaction).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
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

HOOKS = ("pre-receive", "post-receive")
_MAX_REQUEST = 64 * 1024 * 1024
CLIENT = Path(__file__).with_name("hookclient.py")


def install_hooks(hooks_dir: Path) -> None:
    """Write the hook scripts (atomically; several servers may share a data dir)."""
    hooks_dir.mkdir(parents=True, exist_ok=True)
    for stale in hooks_dir.iterdir():
        if stale.name not in HOOKS and not stale.name.startswith("."):
            stale.unlink()  # a hook an older version installed must not run any more
    for hook in HOOKS:
        script = f"#!/bin/sh\nexec '{sys.executable}' -I -S '{CLIENT}' {hook} \"$@\"\n"
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
    """What the server does for each hook call."""

    def __init__(
        self, engine: GitEngine, access: Access, db: Database, on_committed: OnCommitted
    ) -> None:
        self._engine = engine
        self._access = access
        self._db = db
        self._on_committed = on_committed

    async def handle(
        self, push: PushSession, hook: str, args: list[str], stdin: str, env: dict[str, str]
    ) -> HookReply:
        updates = parse_update_lines(stdin)
        if hook == "pre-receive":
            return await self._pre_receive(push, updates, env)
        if hook == "post-receive":
            return await self._post_receive(push, updates)
        return HookReply(1, f"gitserver: unexpected hook {hook}")

    async def _pre_receive(
        self, push: PushSession, updates: list[pushes.Update], env: dict[str, str]
    ) -> HookReply:
        refs = (ref for _, _, ref in updates)
        denied = self._access.denied_refs(push.principal, push.target, refs, push.request)
        # The front ends refused these already (reportstatus.plan_push); an atomic or
        # all-refused SSH push reaches git whole, and this is where it is refused.
        named = ((ref, ref_update_problem(ref, new)) for _, new, ref in updates)
        denied = {**{ref: problem for ref, problem in named if problem}, **denied}
        if denied:
            lines = [f"gitserver: {ref}: {reason}" for ref, reason in denied.items()]
            return HookReply(1, "\n".join(lines))
        object_env = self._engine.object_env(env)
        for update in updates:
            old, new, _ = update
            push.kinds[update] = await classify(self._engine.git, push.path, old, new, object_env)
        if updates:
            await pushes.record_prepared(self._db, push.context, updates, push.kinds)
        return HookReply(0)

    async def _post_receive(self, push: PushSession, updates: list[pushes.Update]) -> HookReply:
        applied, default = await pushes.record_applied(self._db, push.context, updates)
        await self.after_push(push, applied, default)
        return HookReply(0)

    async def after_push(self, push: PushSession, applied: bool, default: str | None) -> None:
        if default:
            await set_head(self._engine.git, push.path, default)
        if applied:
            await self._on_committed(push.context.repository_id)

    async def resolve(self, push: PushSession) -> None:
        """Settle what post-receive did not report, once receive-pack has exited."""
        try:
            applied, default = await pushes.resolve_push(
                self._db, self._engine.git, push.path, push.context
            )
            await self.after_push(push, applied, default)
        except Exception:
            log.exception("settling a push failed", extra={"push_id": push.context.push_id})


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
