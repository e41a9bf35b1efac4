"""Git over SSH: asyncssh in front of the same engine, authorizer and hooks as smart HTTP.

A connection authenticates by public key only; the SSH user name is the key's owner or
its SSHPublicKeyId, and the key is looked up at every login. Each channel may then run
one git service (see `sshcommand`); shells, PTYs, forwarding, agent forwarding and
subsystems are refused. As over HTTP, the service is authorized on the repository ARN
and tags (an unknown name has none) before any answer says whether it exists, so
unknown and forbidden look alike to someone who may not read the repository; a push
runs in an engine push session, so its per-ref checks and events come from the same
hooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import asyncssh

from auth.authenticate import Authenticator, SshLogin
from auth.errors import AuthenticationFailed
from auth.principal import Principal
from auth.sshkeys import check_login_key
from gitserver.access import Access, RequestInfo, request_info
from gitserver.db import Database, Repository
from gitserver.errors import UNAVAILABLE_MESSAGE, DomainError, unavailable
from gitserver.logs import bind_request_id, new_request_id
from gitserver.store.errors import RepositoryNotFound
from gitserver.store.repositories import RepositoryStore
from gitserver.transport.engine import (
    RECEIVE_PACK,
    GitEngine,
    PushSession,
    service_action,
    valid_git_protocol,
)
from gitserver.transport.hostkeys import HostKey
from gitserver.transport.limits import Busy, ConnectionLimiter, Slots
from gitserver.transport.pktline import read_push_request
from gitserver.transport.relay import RelayLimits, SessionTimeout, relay
from gitserver.transport.reportstatus import ReportSplicer, plan_push
from gitserver.transport.sshcommand import GitCommand, Refused, parse_command

log = logging.getLogger(__name__)
# The command list of one push (HTTP has max_push_commands; 4 MiB is its default).
MAX_PUSH_COMMANDS = 4 * 1024 * 1024

_MAX_REFUSED_KEYS = 8  # remembered per connection for its audit record
_STOP_GRACE = 10.0


@dataclass(frozen=True, slots=True)
class SshLimits:
    idle_timeout: float
    session_timeout: float
    max_sessions: int
    max_sessions_per_user: int
    max_connections: int
    max_connections_per_ip: int
    login_timeout: float  # from accept to authenticated; asyncssh closes it after

    @property
    def relay(self) -> RelayLimits:
        return RelayLimits(self.idle_timeout, self.session_timeout)


@contextlib.contextmanager
def session_slot(limiter: Slots, principal: Principal) -> Iterator[None]:
    """Hold one of `principal`'s SSH session slots.

    Raises:
        Refused: the server or this user is at the limit.
    """
    try:
        with limiter.hold(principal.user_id, principal.name):
            yield
    except Busy as exc:
        raise Refused(str(exc)) from None


class _Connection(asyncssh.SSHServer):
    """One client connection: its authentication, and an idle timer while no git runs."""

    def __init__(self, front: GitSsh) -> None:
        self._front = front
        self._conn: asyncssh.SSHServerConnection | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._checked: tuple[str, str] | None = None
        self.login: SshLogin | None = None
        self.peer = ""
        self.sessions = 0
        self.channels = 0  # git sessions started on this connection so far
        self._lost = False
        self._authenticated = False
        # Keys refused before the connection authenticated: (user, fingerprint, error).
        self._refused: list[tuple[str, str, AuthenticationFailed]] = []
        self._admitted = False

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        peer = conn.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else ""
        if not self._front.connection_limiter.admit(self.peer):
            # Before asyncssh sends its version line: the socket is closed on the next
            # loop turn, having cost no key exchange and no timer.
            conn.abort()
            return
        self._admitted = True
        self._front.connections.add(conn)

    @property
    def client_version(self) -> str:
        """The client's SSH version string (its user agent). Known only after the version
        exchange, which comes after `connection_made`."""
        if self._conn is None:
            return ""
        return str(self._conn.get_extra_info("client_version") or "")

    def request(self) -> RequestInfo:
        """A new request's facts (one per channel, and one for a refused login)."""
        return request_info("ssh", self.peer, secure=True, user_agent=self.client_version)

    def auth_completed(self) -> None:
        self._authenticated = True
        # Before this, asyncssh's login timeout applies.
        if not self.sessions:
            self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._admitted:
            return
        self._admitted = False
        self._front.connection_limiter.release(self.peer)
        self._lost = True
        if self._refused and not self._authenticated:
            self._audit_refused()
        if self._idle is not None:
            self._idle.cancel()
        if self._conn is not None:
            self._front.connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        fingerprint = str(key.get_fingerprint("sha256"))
        # OpenSSH asks about a key, then signs with it: one lookup serves both.
        if self.login is not None and self._checked == (username, fingerprint):
            return True
        try:
            self.login = await self._front.authenticator.ssh_key(username, fingerprint)
        except AuthenticationFailed as exc:
            log.info("ssh key refused for %s (%s): %s", username, fingerprint, exc)
            if len(self._refused) < _MAX_REFUSED_KEYS:
                self._refused.append((username, fingerprint, exc))
            return False
        except Exception:
            log.exception("ssh key lookup failed")
            return False
        self._checked = (username, fingerprint)
        return True

    def _audit_refused(self) -> None:
        """One audit record per connection that ended with its keys refused. Not one per
        key: OpenSSH offers every key it has, and a later one may well be accepted."""
        user, _, error = self._refused[-1]
        self._front.engine.failed_login(
            user,
            "ssh-key",
            error,
            self.request(),
            detail={"refusedKeys": [fingerprint for _, fingerprint, _ in self._refused]},
        )

    def session_started(self) -> None:
        self.sessions += 1
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def session_ended(self) -> None:
        self.sessions -= 1
        if not self.sessions and not self._lost:
            self._arm_idle()

    def _arm_idle(self) -> None:
        # Sessions time themselves (relay); this closes connections that run none.
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(self._front.limits.idle_timeout, self._close_idle)

    def _close_idle(self) -> None:
        if self._conn is not None and not self.sessions:
            log.info("closing idle ssh connection", extra={"peer": self.peer})
            self._conn.close()


class GitSsh:
    """The SSH listener and its session handler."""

    def __init__(
        self,
        engine: GitEngine,
        access: Access,
        authenticator: Authenticator,
        db: Database,
        store: RepositoryStore,
        host_keys: list[HostKey],
        limits: SshLimits,
    ) -> None:
        self.engine = engine
        self.access = access
        self.authenticator = authenticator
        self.db = db
        self.store = store
        self.host_keys = host_keys
        self.limits = limits
        self.limiter = Slots(limits.max_sessions, limits.max_sessions_per_user, "SSH sessions")
        self.connection_limiter = ConnectionLimiter(
            limits.max_connections, limits.max_connections_per_ip, name="ssh"
        )
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self._sessions: set[asyncio.Task[None]] = set()
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self.draining = False

    async def start(self, host: str, port: int) -> int:
        """Listen on `host:port`; returns the port (the real one when `port` is 0)."""
        self._acceptor = await asyncssh.create_server(
            lambda: _Connection(self),
            host,
            port,
            server_host_keys=[k.key for k in self.host_keys],
            process_factory=self._session,
            encoding=None,
            allow_pty=False,
            agent_forwarding=False,
            x11_forwarding=False,
            password_auth=False,
            kbdint_auth=False,
            host_based_auth=False,
            gss_host=None,
            line_editor=False,
            login_timeout=self.limits.login_timeout,
            keepalive_interval=30,
            keepalive_count_max=4,
            server_version="gitserver",
            reuse_address=True,
            backlog=512,
        )
        return int(self._acceptor.get_port())

    def stop_listening(self) -> None:
        """Refuse new connections and new sessions; running sessions go on (shutdown)."""
        self.draining = True
        if self._acceptor is not None:
            self._acceptor.close()
        for conn in list(self.connections):
            if cast(_Connection, conn.get_owner()).sessions == 0:
                conn.close()

    def running(self) -> int:
        """Git sessions under way."""
        return len(self._sessions)

    async def close(self, grace: float = _STOP_GRACE) -> None:
        """Stop listening, let running sessions finish for `grace` s, close the rest."""
        self.stop_listening()
        if self._sessions:
            _, late = await asyncio.wait(set(self._sessions), timeout=grace)
            if late:
                log.warning("shutdown: stopping %d ssh git session(s) still running", len(late))
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for conn in list(self.connections):
            conn.close()
        if self._acceptor is not None:
            await self._acceptor.wait_closed()

    async def _session(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        client = cast(_Connection, process.get_extra_info("connection").get_owner())
        task = asyncio.current_task()
        assert task is not None and client.login is not None
        # Each channel is one request: its log lines and audit records share this id.
        bind_request_id(new_request_id())
        self._sessions.add(task)
        client.session_started()
        status = 1
        try:
            if self.draining:
                raise Refused("gitserver: the server is shutting down; try again shortly")
            status = await self._run(process, client, client.login)
        except (Refused, DomainError) as exc:
            refused = exc if isinstance(exc, Refused) else Refused.of(exc)
            await _say(process, refused.message)
            status = refused.status
        except SessionTimeout as exc:
            log.info("ssh session timed out", extra={"reason": str(exc), "peer": client.peer})
            await _say(process, f"gitserver: session closed: {exc}")
        except Exception as exc:
            log.exception("ssh session failed", extra={"peer": client.peer})
            reason = (
                UNAVAILABLE_MESSAGE
                if unavailable(exc)
                else "internal error; the server log has the cause"
            )
            await _say(process, f"gitserver: {reason}")
        finally:
            client.session_ended()
            self._sessions.discard(task)
            with contextlib.suppress(Exception):
                process.exit(status)

    async def _run(
        self, process: asyncssh.SSHServerProcess[bytes], client: _Connection, login: SshLogin
    ) -> int:
        """Parse, authorize, look up, then run git with the channel as its stdio."""
        command = parse_command(process.command, process.subsystem)
        protocol = process.env.get("GIT_PROTOCOL", "")
        if protocol and not valid_git_protocol(protocol):
            raise Refused("gitserver: malformed GIT_PROTOCOL")
        info = client.request()
        client.channels += 1
        principal = await self._current(login, info, first=client.channels == 1)
        with session_slot(self.limiter, principal):
            repo = await self._admit(principal, command, info)
            path = self.store.path(repo.id)
            started = asyncio.get_running_loop().time()
            if command.service == RECEIVE_PACK:
                target = self.access.repository(repo.name, repo)
                # Leaving the block settles the push: before the exit status, so the
                # client's next command sees it.
                async with self.engine.push_session(principal, repo.id, target, path, info) as push:
                    git = await self.engine.spawn(
                        RECEIVE_PACK, path, stateless=False, protocol=protocol, push=push
                    )
                    gate = _PartialPush(self.engine, self.access, push)
                    status = await relay(process, git, self.limits.relay, push=True, gate=gate)
            else:
                git = await self.engine.spawn(
                    command.service, path, stateless=False, protocol=protocol
                )
                status = await relay(process, git, self.limits.relay, push=False)
        log.info(
            "ssh git session: %s %s by %s (key %s) from %s, exit %s after %.3fs",
            command.service,
            repo.name,
            principal.name,
            login.key_id,
            client.peer,
            status,
            asyncio.get_running_loop().time() - started,
            extra={"transport": "ssh"},
        )
        return status

    async def _current(self, login: SshLogin, info: RequestInfo, *, first: bool) -> Principal:
        """Who this channel runs as: the login's key checked again, and after the first
        channel the principal reloaded. A connection outlives its login (ControlMaster
        multiplexing), so every command is decided as a new connection's would be: a
        deactivated or deleted key, or a changed policy, applies to the next command.

        Raises:
            Refused: the key no longer admits its owner, or the owner is gone.
        """
        principal = login.principal
        try:
            async with self.db.reader() as session:
                await check_login_key(session, login.key_id, principal.user_id)
            if not first:
                principal = await self.authenticator.refresh(principal)
        except AuthenticationFailed as exc:
            self.engine.failed_login(
                principal.name, "ssh-key", exc, info, detail={"keyId": login.key_id}
            )
            raise Refused(f"gitserver: {exc}; log in again with an active key") from None
        return principal

    async def _admit(
        self, principal: Principal, command: GitCommand, info: RequestInfo
    ) -> Repository:
        """Authorization before the 404, as over HTTP (the row's tags feed the decision)."""
        action = service_action(command.service)
        repo = await self.access.admit(principal, action, command.repository, info)
        if repo is None:
            raise RepositoryNotFound(f"repository {command.repository} does not exist")
        return repo


async def _say(process: asyncssh.SSHServerProcess[bytes], line: str) -> None:
    with contextlib.suppress(OSError, asyncssh.Error):
        process.stderr.write(line.encode() + b"\n")
        await process.stderr.drain()


class _PartialPush:
    """Per-ref decisions for SSH pushes, as over HTTP: the command list is read from the
    channel before git sees it; denied refs are dropped and reported with `ng` lines in
    git's report, and the allowed ones are planned (their rows written) as git reads on.
    An atomic or all-denied push goes to git as it is, and pre-receive refuses it whole
    with the reason."""

    def __init__(self, engine: GitEngine, access: Access, push: PushSession) -> None:
        self.engine = engine
        self.access = access
        self.push = push
        self.splicer: ReportSplicer | None = None
        self.filtered = False

    async def open(self, source: asyncssh.SSHReader[bytes]) -> bytes:
        request = await read_push_request(source, MAX_PUSH_COMMANDS)
        refs = (command.ref for command in request.commands)
        push = self.push
        denied = self.access.denied_refs(push.principal, push.target, refs, push.request)
        plan = plan_push(request, denied)
        self.engine.plan(push, plan.updates)  # none when refused whole: pre-receive says why
        if plan.whole_rejection:
            return request.raw
        self.splicer = push.report = plan.splicer
        self.filtered = plan.filtered
        return plan.prefix
