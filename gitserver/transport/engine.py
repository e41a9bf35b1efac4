"""The transport engine shared by smart HTTP and SSH: push sessions, and starting
`upload-pack` / `receive-pack` with the server's settings. Access is decided before
(`gitserver.access`), by the front ends and by the hooks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auth.authorizer import Action
from auth.errors import AuthenticationFailed
from auth.principal import Principal
from gitserver.access import RequestInfo, Target
from gitserver.audit import FailedLogin
from gitserver.gitcmd import Git, receive_fsck_config
from gitserver.store.pushes import PushContext, Update
from gitserver.store.refs import RefKind
from gitserver.transport import checkpipe
from gitserver.transport.packobjects import PackHook
from gitserver.transport.reportstatus import ReportSplicer

log = logging.getLogger(__name__)

__all__ = [
    "RECEIVE_PACK",
    "SERVICES",
    "UPLOAD_ARCHIVE",
    "UPLOAD_PACK",
    "GitEngine",
    "PushSession",
    "service_action",
    "valid_git_protocol",
]

# Gitea's check: only key=value pairs separated by ':' become GIT_PROTOCOL.
_GIT_PROTOCOL = re.compile(r"[0-9a-zA-Z]+=[0-9a-zA-Z]+(:[0-9a-zA-Z]+=[0-9a-zA-Z]+)*")

UPLOAD_PACK = "git-upload-pack"
RECEIVE_PACK = "git-receive-pack"
UPLOAD_ARCHIVE = "git-upload-archive"
SERVICES = (UPLOAD_PACK, RECEIVE_PACK, UPLOAD_ARCHIVE)

_UPLOAD_CONFIG = {
    "uploadpack.allowFilter": "true",
    "uploadpack.allowReachableSHA1InWant": "true",
    "uploadarchive.allowUnreachable": "false",
}


def valid_git_protocol(value: str) -> bool:
    return _GIT_PROTOCOL.fullmatch(value) is not None


def service_action(service: str) -> Action:
    return Action.GIT_PUSH if service == RECEIVE_PACK else Action.GIT_PULL


@dataclass(slots=True)
class PushSession:
    """One receive-pack run: the hooks find it by `token`.

    The front end `plan()`s the updates it authorized as soon as it has read the command
    list: their `prepared` rows are written while git receives the pack, and the plan
    file (`plan_path`) appears once they are durable. pre-receive compares what git is
    about to do with that file and needs no round trip to the server when they agree.
    When git has exited the session is settled from its report (`report`).
    """

    token: str
    context: PushContext
    principal: Principal
    # The repository's ARN and the tags read at admission: pre-receive decides on them.
    target: Target
    path: Path
    request: RequestInfo
    plan_path: Path
    kinds: dict[Update, RefKind] = field(default_factory=dict)
    planned: tuple[Update, ...] = ()
    prepared: asyncio.Task[None] | None = None
    report: ReportSplicer | None = None
    settled: asyncio.Future[None] | None = None
    # Waits on the plan's FIFOs when push protection must read the pushed objects.
    checker: asyncio.Task[None] | None = None

    def applied(self) -> frozenset[str] | None:
        """The refs git reported it moved; None when it gave no complete report."""
        return self.report.applied() if self.report is not None else None


PushStep = Callable[[PushSession], Coroutine[Any, Any, None]]


class GitEngine:
    """Starts git services and keeps the push sessions the hooks look up."""

    def __init__(
        self,
        git: Git,
        *,
        hooks_dir: Path,
        hook_socket: Path,
        plans_dir: Path,
        on_prepare: PushStep | None = None,
        on_push_end: PushStep | None = None,
        on_failed_login: Callable[[FailedLogin], None] | None = None,
        pack_hook: PackHook | None = None,
    ) -> None:
        self.git = git
        self.hooks_dir = hooks_dir
        self.hook_socket = hook_socket
        self.plans_dir = plans_dir
        # Set when the pack-objects cache is on: upload-pack hands its runs to the server.
        self.pack_hook = pack_hook
        self._pushes: dict[str, PushSession] = {}
        self._on_prepare = on_prepare
        self._on_push_end = on_push_end
        self._on_failed_login = on_failed_login
        self._settling: set[asyncio.Future[None]] = set()

    def failed_login(
        self,
        claimed_user: str,
        method: str,
        error: AuthenticationFailed,
        request: RequestInfo,
        *,
        resource: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Report credentials that identified no one to the audit log (never the secret)."""
        if self._on_failed_login is None:
            return
        self._on_failed_login(
            FailedLogin(
                claimed_user=claimed_user,
                method=method,
                reason=str(error),
                error_code=error.code,
                source_ip=request.source_ip,
                user_agent=request.user_agent,
                transport=request.transport,
                request_id=request.request_id,
                resource=resource,
                detail=detail or {},
            )
        )

    @contextlib.asynccontextmanager
    async def push_session(
        self,
        principal: Principal,
        repository_id: str,
        target: Target,
        path: Path,
        request: RequestInfo,
    ) -> AsyncIterator[PushSession]:
        """A push from admission until it is settled: leaving the block after git has
        exited settles it (if the front end did not call `settle` already)."""
        token = secrets.token_urlsafe(32)
        session = PushSession(
            token=token,
            context=PushContext(
                repository_id, str(uuid.uuid4()), principal.name, request.transport
            ),
            principal=principal,
            target=target,
            path=path,
            request=request,
            plan_path=self.plans_dir / token,
        )
        self._pushes[token] = session
        try:
            yield session
        finally:
            try:
                await self.settle(session)
            finally:
                del self._pushes[token]
                if session.checker is not None:
                    session.checker.cancel()
                    checkpipe.remove(session.plan_path)  # if it was cancelled unstarted
                with contextlib.suppress(FileNotFoundError):
                    session.plan_path.unlink()

    def plan(self, session: PushSession, updates: Sequence[Update]) -> None:
        """Record the updates the front end authorized (their rows are written now, while
        git receives the pack). No updates (a push the front end passed to git whole):
        an empty plan at once, so pre-receive asks the server without waiting."""
        session.planned = tuple(updates)
        if not session.planned or self._on_prepare is None:
            _write_plan(session)
            return
        session.prepared = asyncio.get_running_loop().create_task(self._prepare(session))

    async def _prepare(self, session: PushSession) -> None:
        assert self._on_prepare is not None
        await self._on_prepare(session)
        # Only now may pre-receive let git move the refs without asking the server.
        _write_plan(session)

    async def settle(self, session: PushSession) -> None:
        """Once git has exited: turn the push's rows into ledger changes and events.

        Runs once per session, to the end even if the caller is cancelled (the client
        went away): the repository, not the client, decides what happened.
        """
        if session.settled is None:
            session.settled = asyncio.ensure_future(self._settle(session))
            self._settling.add(session.settled)
            session.settled.add_done_callback(self._settling.discard)
        await asyncio.shield(session.settled)

    async def _settle(self, session: PushSession) -> None:
        if session.prepared is not None:
            try:
                await session.prepared
            except Exception:
                # The rows may or may not be durable: the reconciler reads the repository.
                log.exception("recording a push failed", extra={"push_id": session.context.push_id})
        if self._on_push_end is not None:
            await self._on_push_end(session)

    async def drain(self) -> None:
        """Wait for pushes that are still being settled (at shutdown)."""
        await asyncio.gather(*self._settling, return_exceptions=True)

    def pushing(self, repository_id: str) -> bool:
        """Whether a receive-pack of this server is running on the repository."""
        return any(p.context.repository_id == repository_id for p in self._pushes.values())

    def live_pushes(self) -> list[str]:
        """The push ids of this server's receive-packs that have rows to keep fresh."""
        return [p.context.push_id for p in self._pushes.values() if p.prepared is not None]

    def find_push(self, token: str) -> PushSession | None:
        return self._pushes.get(token)

    def _service_config(self, service: str) -> dict[str, str]:
        if service == RECEIVE_PACK:
            return {
                "core.hooksPath": str(self.hooks_dir),
                # The reflog is how a push is settled when git's report never arrived.
                "core.logAllRefUpdates": "true",
                "receive.advertisePushOptions": "true",
                # The same checks as the server's own writes (gitcmd.FSCK_SEVERITIES).
                **receive_fsck_config(),
                "receive.autogc": "false",
                # Keep every push as a pack: exploded loose objects race with maintenance's
                # prune-packed, which removes emptied objects/xx/ directories while a push
                # migrates into them ("unable to migrate objects to permanent storage").
                # Geometric repacks roll the small packs up.
                "receive.unpackLimit": "1",
            }
        if service == UPLOAD_PACK and self.pack_hook is not None:
            return {**_UPLOAD_CONFIG, **self.pack_hook.config()}
        return dict(_UPLOAD_CONFIG)

    async def spawn(
        self,
        service: str,
        path: Path,
        *,
        stateless: bool,
        advertise: bool = False,
        protocol: str = "",
        push: PushSession | None = None,
        limit: int = 2**16,
    ) -> asyncio.subprocess.Process:
        """Start `git <service>` on `path`; stdin and stdout are the caller's to stream.

        `limit` is how much of git's output may wait unread before git is held back."""
        args = [service.removeprefix("git-")]
        if stateless:
            args.append("--stateless-rpc")
        if advertise:
            args.append("--advertise-refs")
        env: dict[str, str] = {}
        if protocol and valid_git_protocol(protocol):
            env["GIT_PROTOCOL"] = protocol
        if service == UPLOAD_PACK and self.pack_hook is not None and not advertise:
            env.update(self.pack_hook.env(path))
        if push is not None:
            env["GITSERVER_HOOK_TOKEN"] = push.token
            env["GITSERVER_HOOK_SOCKET"] = str(self.hook_socket)
            env["GITSERVER_PUSH_PLAN"] = str(push.plan_path)
            env["GITSERVER_PUSH_ID"] = push.context.push_id
            # The reflog's ident: who pushed, for anyone reading the repository later.
            env["GIT_COMMITTER_NAME"] = push.principal.name
            env["GIT_COMMITTER_EMAIL"] = f"{push.principal.name}@{push.request.transport}"
        return await self.git.spawn(
            *args, str(path), config=self._service_config(service), extra_env=env, limit=limit
        )

    def object_env(self, hook_env: Mapping[str, str]) -> dict[str, str]:
        """The hook's view of objects (quarantine included) for checks run on its behalf."""
        keys = ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH")
        return {key: hook_env[key] for key in keys if hook_env.get(key)}


def _write_plan(session: PushSession) -> None:
    """The planned updates as pre-receive reads them, in place at once (rename)."""
    text = "".join(f"{old} {new} {ref}\n" for old, new, ref in session.planned)
    tmp = session.plan_path.with_name(f".{session.token}")
    tmp.write_text(text, encoding="utf-8", errors="surrogateescape")
    os.replace(tmp, session.plan_path)
