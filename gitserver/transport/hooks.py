"""The push hook git runs, the local socket where the server answers it, and what the
server does before and after receive-pack.

Before git starts, the front end has read and authorized the command list
(`GitEngine.plan`): `prepare` writes one `prepared` row per update while git receives
the pack, then the engine writes the plan file. git runs `pre-receive` (objects still
quarantined, no ref locked yet) from the directory in `core.hooksPath`, which the server
passes only to the receive-packs it starts. The script is bash, run on its builtins:
when git's updates are exactly the plan file's, every one of them was authorized and is
durably prepared, and it exits 0 without starting anything. Otherwise (git dropped a
command, the rows are not durable yet, a push the front end passed to git whole) it
hands its stdin to the server over a unix socket with the push's token, and the server
authorizes each update again and records what the plan did not.

Push protection (`gitserver.protection`) needs the pushed objects for most of its
checks (secrets, sizes, a force push on a protected branch): when the repository's
rules apply to a push, `prepare` makes the plan's FIFO pair before the plan appears, and
the script, once git's updates equal the plan, hands the quarantine's environment and
the push options to the server through it and prints the verdict (`checkpipe`). The
hook client's path runs the same check (`_protect`), so every push gets it.

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

from auth.authorizer import Action
from gitserver.access import Access
from gitserver.db import Database
from gitserver.protection import PushProtection, PushRules
from gitserver.store import pushes
from gitserver.store.naming import ref_update_problem
from gitserver.store.refs import classify, parse_update_lines, set_head
from gitserver.transport import checkpipe
from gitserver.transport.engine import GitEngine, PushSession
from gitserver.transport.packobjects import MAGIC, PackObjects

log = logging.getLogger(__name__)

HOOKS = ("pre-receive",)
_MAX_REQUEST = 64 * 1024 * 1024
CLIENT = Path(__file__).with_name("hookclient.py")
# The script is bash for its builtins: reading stdin and the plan (`read -d ''`), the
# FIFOs opened read-write (an open that never blocks) and `read -t` on them. The common
# push starts no process besides bash itself; the sh version started 5-7 (`cat`,
# `timeout`), ~2-3 ms each on this 2-core machine.
# The plan file appears once the rows are durable, usually long before git gets here;
# the wait (at most ~0.5 s, 10 ms a step) is for a database slower than git, and is
# cheaper than the Python client, which would have to wait for the same rows.
# The FIFO exchange (checkpipe) runs only when the plan's `.q` exists. The server sends
# a NUL at once and every few seconds while it checks: after SILENCE_TIMEOUT seconds
# without one the server is taken for dead and the push is refused, not left hanging.
_PRE_RECEIVE = """#!/bin/bash
client() {{ exec '{python}' -I -S '{client}' pre-receive "$@"; }}
plan=$GITSERVER_PUSH_PLAN
[ -n "$plan" ] || client "$@"
IFS= read -r -d '' updates
n=0
while [ ! -f "$plan" ] && [ $n -lt 50 ]; do sleep 0.01; n=$((n + 1)); done
planned=
[ -f "$plan" ] && {{ IFS= read -r -d '' planned <"$plan" || :; }}
[ -f "$plan" ] && [ "$updates" = "$planned" ] || {{
  printf '%s' "$updates" | client "$@"; exit; }}
[ -p "$plan.q" ] || exit 0
exec 3<>"$plan.q" 4<>"$plan.a" || exit 1
{{
  printf 'GIT_QUARANTINE_PATH=%s\\n' "$GIT_QUARANTINE_PATH"
  printf 'GIT_OBJECT_DIRECTORY=%s\\n' "$GIT_OBJECT_DIRECTORY"
  printf 'GIT_ALTERNATE_OBJECT_DIRECTORIES=%s\\n' "$GIT_ALTERNATE_OBJECT_DIRECTORIES"
  i=0
  while [ $i -lt "${{GIT_PUSH_OPTION_COUNT:-0}}" ]; do
    option=GIT_PUSH_OPTION_$i
    printf 'GIT_PUSH_OPTION=%s\\n' "${{!option}}"
    i=$((i + 1))
  done
  echo .
}} >&3
verdict=
while IFS= read -r -d '' -t {silence} -u 4 record; do
  [ -z "$record" ] || {{ verdict=$record; break; }}
done
[ -n "$verdict" ] || {{
  echo "gitserver: the server did not check this push; try again" >&2; exit 1; }}
message=${{verdict#?}}
[ -z "$message" ] || printf '%s\\n' "${{message#?}}" >&2
case $verdict in 0*) exit 0 ;; esac
exit 1
"""


def install_hooks(hooks_dir: Path, silence: int = checkpipe.SILENCE_TIMEOUT) -> None:
    """Write the hook scripts (atomically; several servers may share a data dir).
    `silence`: how long pre-receive waits for a word from the server (tests shorten it)."""
    hooks_dir.mkdir(parents=True, exist_ok=True)
    for stale in hooks_dir.iterdir():
        if stale.name not in HOOKS and not stale.name.startswith("."):
            stale.unlink()  # a hook an older version installed must not run any more
    for hook in HOOKS:
        script = _PRE_RECEIVE.format(python=sys.executable, client=CLIENT, silence=silence)
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
        self,
        engine: GitEngine,
        access: Access,
        db: Database,
        on_committed: OnCommitted,
        protection: PushProtection | None = None,
    ) -> None:
        self._engine = engine
        self._access = access
        self._db = db
        self._on_committed = on_committed
        self._protection = protection
        # pre-receive calls that reached the server: the plan file settles the rest.
        self.hook_requests = 0

    async def prepare(self, push: PushSession) -> None:
        """Durably note the planned updates before git can move a ref."""
        recording = pushes.record_prepared(self._db, push.context, push.planned, push.kinds)
        if self._protection is None:
            await recording
            return
        # The rules are read beside the write: the plan waits for both.
        _, rules = await asyncio.gather(
            recording, self._protection.rules(push.context.repository_id)
        )
        if rules.needs_checks([ref for _, _, ref in push.planned]):
            checkpipe.make(push.plan_path)
            push.checker = asyncio.get_running_loop().create_task(self._serve_checks(push, rules))

    async def _serve_checks(self, push: PushSession, rules: PushRules) -> None:
        """Answer the script's FIFO request: the planned updates' protection verdict."""
        try:
            request = await checkpipe.read_request(push.plan_path)
            env = {key: values[0] for key, values in request.items() if values}
            options = request.get("GIT_PUSH_OPTION", [])
            # The kinds settle needs, found while the objects are read for the checks:
            # after git exits they would be one more process on the push's path.
            kinds = asyncio.ensure_future(self._classify(push, self._engine.object_env(env)))
            try:
                async with checkpipe.alive(push.plan_path):
                    if any(
                        r.no_force_push for *_, ref in push.planned for r in rules.matching(ref)
                    ):
                        await kinds  # the force-push rule reads them
                    refusal = await self._protect(push, list(push.planned), env, options, rules)
                    await kinds
            finally:
                kinds.cancel()
            await checkpipe.write_reply(push.plan_path, refusal is None, refusal or [])
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("push checks failed", extra={"push_id": push.context.push_id})
            with contextlib.suppress(Exception):
                lines = ["internal error while checking this push"]
                await checkpipe.write_reply(push.plan_path, False, lines)
        finally:
            checkpipe.remove(push.plan_path)

    async def _classify(self, push: PushSession, object_env: dict[str, str]) -> None:
        """Fill in the kinds of the planned updates that need the objects to tell."""
        for update in push.planned:
            if update not in push.kinds:
                old, new, _ = update
                kind = await classify(self._engine.git, push.path, old, new, object_env)
                push.kinds[update] = kind

    async def _protect(
        self,
        push: PushSession,
        updates: list[pushes.Update],
        env: dict[str, str],
        options: list[str],
        rules: PushRules | None = None,
    ) -> list[str] | None:
        """Push protection's verdict on `updates`: the refusal's lines, None to go on."""
        if self._protection is None:
            return None

        def may_bypass(findings: list[str]) -> bool:
            extra = {"gitserver:PushProtectionFindings": findings}
            action = Action.BYPASS_PUSH_PROTECTION
            return self._access.decide(
                push.principal, action, push.target, push.request, extra=extra
            ).allowed

        verdict = await self._protection.check_push(
            push.context.repository_id,
            push.path,
            updates,
            self._engine.object_env(env),
            push.kinds,
            options,
            may_bypass,
            rules,
        )
        return verdict.lines() if verdict.refused else None

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
        count = int(env.get("GIT_PUSH_OPTION_COUNT", "0") or 0)
        options = [env.get(f"GIT_PUSH_OPTION_{index}", "") for index in range(count)]
        refusal = await self._protect(push, updates, env, options)
        if refusal is not None:
            return HookReply(1, "\n".join(f"gitserver: {line}" for line in refusal))
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
