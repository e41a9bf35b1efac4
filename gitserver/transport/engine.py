"""The transport engine shared by smart HTTP and SSH: push sessions, and starting
`upload-pack` / `receive-pack` with the server's settings. Access is decided before
(`gitserver.access`), by the front ends and by the hooks."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import uuid
from collections.abc import Callable, Coroutine, Iterator, Mapping
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
from gitserver.transport.packobjects import PackHook

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
    """One receive-pack run: the hooks find it by `token`."""

    token: str
    context: PushContext
    principal: Principal
    # The repository's ARN and the tags read at admission: pre-receive decides on them.
    target: Target
    path: Path
    request: RequestInfo
    kinds: dict[Update, RefKind] = field(default_factory=dict)


class GitEngine:
    """Starts git services and keeps the push sessions the hooks look up."""

    def __init__(
        self,
        git: Git,
        *,
        hooks_dir: Path,
        hook_socket: Path,
        on_push_end: Callable[[PushSession], Coroutine[Any, Any, None]] | None = None,
        on_failed_login: Callable[[FailedLogin], None] | None = None,
        pack_hook: PackHook | None = None,
    ) -> None:
        self.git = git
        self.hooks_dir = hooks_dir
        self.hook_socket = hook_socket
        # Set when the pack-objects cache is on: upload-pack hands its runs to the server.
        self.pack_hook = pack_hook
        self._pushes: dict[str, PushSession] = {}
        self._on_push_end = on_push_end
        self._on_failed_login = on_failed_login
        self._settling: set[asyncio.Task[None]] = set()

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

    @contextlib.contextmanager
    def push_session(
        self,
        principal: Principal,
        repository_id: str,
        target: Target,
        path: Path,
        request: RequestInfo,
    ) -> Iterator[PushSession]:
        session = PushSession(
            token=secrets.token_urlsafe(32),
            context=PushContext(
                repository_id, str(uuid.uuid4()), principal.name, request.transport
            ),
            principal=principal,
            target=target,
            path=path,
            request=request,
        )
        self._pushes[session.token] = session
        try:
            yield session
        finally:
            del self._pushes[session.token]
            if self._on_push_end is not None:
                # receive-pack has exited: settle what its post-receive did not report.
                task = asyncio.get_running_loop().create_task(self._on_push_end(session))
                self._settling.add(task)
                task.add_done_callback(self._settling.discard)

    async def drain(self) -> None:
        """Wait for pushes that are still being settled (at shutdown)."""
        await asyncio.gather(*self._settling, return_exceptions=True)

    def pushing(self, repository_id: str) -> bool:
        """Whether a receive-pack of this server is running on the repository."""
        return any(p.context.repository_id == repository_id for p in self._pushes.values())

    def find_push(self, token: str) -> PushSession | None:
        return self._pushes.get(token)

    def _service_config(self, service: str) -> dict[str, str]:
        if service == RECEIVE_PACK:
            return {
                "core.hooksPath": str(self.hooks_dir),
                # The reflog is how a push is settled when post-receive never reported.
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
    ) -> asyncio.subprocess.Process:
        """Start `git <service>` on `path`; stdin and stdout are the caller's to stream."""
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
            env["GITSERVER_PUSH_ID"] = push.context.push_id
            # The reflog's ident: who pushed, for anyone reading the repository later.
            env["GIT_COMMITTER_NAME"] = push.principal.name
            env["GIT_COMMITTER_EMAIL"] = f"{push.principal.name}@{push.request.transport}"
        return await self.git.spawn(
            *args, str(path), config=self._service_config(service), extra_env=env
        )

    def object_env(self, hook_env: Mapping[str, str]) -> dict[str, str]:
        """The hook's view of objects (quarantine included) for checks run on its behalf."""
        keys = ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH")
        return {key: hook_env[key] for key in keys if hook_env.get(key)}
