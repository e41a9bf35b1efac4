"""The audit log (CloudTrail-like): authorization decisions kept in SQL.

Kept: every decision on a mutating action (allowed or not), every denial of a read, and
every decision on a CodeCommit API call (reads included).
The authorizer hands each decision to `AuditLog.record` synchronously, on the request's
path, so recording only appends to a bounded in-memory queue; a background task writes
the queue to SQL in batches (every second, or sooner when it fills) and once more at
shutdown, and purges rows older than `audit_retention_days`.

Failed authentication is kept too (`record_failed_login`): a request that sent
credentials that identify no one, a bad SigV4 Git password, an SSH connection that
ended with its keys refused. Those rows have the decision `authFailed`, the action
`gitserver:Authenticate` and the user name the client claimed. They may fill at most a
quarter of the queue, so a flood of bad logins cannot crowd out decisions.

Nothing secret is recorded: the row holds names, ARNs, the action, the resource, where
the request came from and the outcome, never a password, token or credential.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.authorizer import Action, AuthzRequest, Decision
from gitserver.db import Database
from gitserver.db.models import AuditRecord

log = logging.getLogger(__name__)

_READ_PREFIXES = ("get", "list", "describe", "batchget")
_READ_ACTIONS = frozenset({"gitpull"})
ACCESS_DENIED = "AccessDeniedException"
AUTH_FAILED = "authFailed"  # the decision column holds 16 characters
AUTHENTICATE = "gitserver:Authenticate"
MAX_USER_AGENT = 512
PURGE_INTERVAL = 3600.0
_FAILED_LOGIN_SHARE = 4  # failed logins may take 1/4 of the queue


def is_mutating(action: str) -> bool:
    """Whether an action changes something: all but GitPull and Get*/List*/Describe*/BatchGet*."""
    name = action.rpartition(":")[2].lower()
    return name not in _READ_ACTIONS and not name.startswith(_READ_PREFIXES)


def should_record(action: str, allowed: bool) -> bool:
    return not allowed or is_mutating(action)


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def audit_row(request: AuthzRequest, decision: Decision, now: datetime) -> dict[str, Any]:
    """The columns of one record, from the decision and the request's context keys."""
    context = request.context
    detail: dict[str, Any] = {}
    references = context.get("codecommit:References")
    if isinstance(references, list | tuple):
        detail["references"] = [str(ref) for ref in references]
    findings = context.get("gitserver:PushProtectionFindings")
    if isinstance(findings, list | tuple):
        # A bypass of push protection: what was let through (kinds and paths, no secret).
        detail["pushProtectionFindings"] = [str(f)[:256] for f in findings[:50]]
    if decision.matched_statements:
        detail["statements"] = list(decision.matched_statements)
    return {
        "time": now,
        "principal": request.principal.name[:64],
        "principal_arn": request.principal.arn[:256],
        "action": str(request.action)[:128],
        "resource": request.resource[:1024],
        "source_ip": _text(context.get("aws:SourceIp"), 64),
        "user_agent": _text(context.get("gitserver:UserAgent"), MAX_USER_AGENT),
        "transport": _text(context.get("gitserver:Transport"), 16),
        "decision": str(decision.effect),
        "error_code": "" if decision.allowed else ACCESS_DENIED,
        "request_id": _text(context.get("gitserver:RequestId"), 64),
        "detail": detail,
    }


@dataclass(frozen=True, slots=True)
class FailedLogin:
    """Credentials that identified no one. `claimed_user` is what the client said it was
    (a user name, a Git credential user name, an access key id); never the secret."""

    claimed_user: str
    method: str  # basic, ssh-key
    reason: str
    error_code: str
    source_ip: str
    user_agent: str
    transport: str
    request_id: str
    resource: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def failed_login_row(failure: FailedLogin, now: datetime) -> dict[str, Any]:
    return {
        "time": now,
        "principal": failure.claimed_user[:64],
        "principal_arn": "",
        "action": AUTHENTICATE,
        "resource": failure.resource[:1024],
        "source_ip": failure.source_ip[:64],
        "user_agent": failure.user_agent[:MAX_USER_AGENT],
        "transport": failure.transport[:16],
        "decision": AUTH_FAILED,
        "error_code": failure.error_code[:64],
        "request_id": failure.request_id[:64],
        "detail": {"method": failure.method, "reason": failure.reason[:256], **failure.detail},
    }


class AuditLog:
    """The authorizer's audit sink: buffers records and writes them to SQL in batches."""

    def __init__(
        self,
        db: Database,
        retention_days: int,
        *,
        interval: float = 1.0,
        batch: int = 256,
        capacity: int = 50_000,
    ) -> None:
        self.db = db
        self.retention_days = retention_days
        self.interval = interval
        self.batch = batch
        self.capacity = capacity
        self.dropped = 0
        self._failed_logins = 0  # of the queued rows
        self._queue: collections.deque[dict[str, Any]] = collections.deque()
        self._lock = threading.Lock()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def __call__(self, request: AuthzRequest, decision: Decision) -> None:
        self.record(request, decision)

    def record(self, request: AuthzRequest, decision: Decision) -> None:
        """Queue a decision if it is worth keeping. Never blocks, never raises."""
        # Every API call is kept (CloudTrail keeps read events too); git's reads only
        # when denied, as a clone's worth of GitPull records would drown the rest.
        api = request.context.get("gitserver:Transport") == "api"
        if not api and not should_record(str(request.action), decision.allowed):
            return
        try:
            row = audit_row(request, decision, datetime.now(UTC))
        except Exception:
            log.exception("audit record could not be built")
            return
        self._enqueue(row)

    def record_failed_login(self, failure: FailedLogin) -> None:
        """Queue a failed authentication. Never blocks, never raises."""
        try:
            row = failed_login_row(failure, datetime.now(UTC))
        except Exception:
            log.exception("audit record could not be built")
            return
        self._enqueue(row, failed_login=True)

    def _enqueue(self, row: dict[str, Any], *, failed_login: bool = False) -> None:
        with self._lock:
            if len(self._queue) >= self.capacity or (
                failed_login and self._failed_logins >= self.capacity // _FAILED_LOGIN_SHARE
            ):
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    log.warning("audit queue full: %d record(s) dropped", self.dropped)
                return
            self._queue.append(row)
            self._failed_logins += failed_login
            full = len(self._queue) >= self.batch
        if full:
            self._poke()

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(wake.set)

    def pending(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        next_purge = loop.time()
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            await self.flush()
            if self.retention_days > 0 and loop.time() >= next_purge:
                next_purge = loop.time() + PURGE_INTERVAL
                try:
                    removed = await self.purge()
                except Exception:
                    log.exception("audit purge failed")
                else:
                    if removed:
                        log.info("audit log: purged %d record(s)", removed)

    async def flush(self) -> int:
        """Write everything queued; on a database error the records go back in front."""
        written = 0
        while True:
            with self._lock:
                rows = [self._queue.popleft() for _ in range(min(self.batch, len(self._queue)))]
                self._failed_logins -= _failed_logins(rows)
            if not rows:
                return written
            try:
                async with self.db.session() as session:
                    await session.execute(insert(AuditRecord), rows)
            except Exception:
                log.exception("audit log: %d record(s) not written, will retry", len(rows))
                with self._lock:
                    room = max(0, self.capacity - len(self._queue))
                    self.dropped += len(rows) - min(room, len(rows))
                    self._queue.extendleft(reversed(rows[:room]))
                    self._failed_logins += _failed_logins(rows[:room])
                return written
            written += len(rows)

    async def purge(self, now: datetime | None = None) -> int:
        """Delete records older than the retention period (0 days: keep forever)."""
        if self.retention_days <= 0:
            return 0
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.retention_days)
        async with self.db.session() as session:
            result = await session.execute(delete(AuditRecord).where(AuditRecord.time < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)

    async def close(self) -> None:
        """Stop the writer and write what is still queued (never cancelled mid-write)."""
        if self._task is not None:
            self._stopping = True
            if self._wake is not None:
                self._wake.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._task), 30)
            if not self._task.done():
                self._task.cancel()
            self._task = None
        await self.flush()


def _failed_logins(rows: list[dict[str, Any]]) -> int:
    return sum(row["decision"] == AUTH_FAILED for row in rows)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which records to list (each filter optional), newest first, `limit` of them after
    skipping `offset` (the web UI's pages)."""

    since: datetime | None = None
    user: str | None = None
    action: str | None = None
    limit: int = 100
    until: datetime | None = None
    # allowed, explicitDeny, implicitDeny, authFailed; or "denied" for both denials.
    decision: str | None = None
    resource: str | None = None
    offset: int = 0


DECISIONS = ("allowed", "denied", "explicitDeny", "implicitDeny", AUTH_FAILED)


def parse_time(value: str) -> datetime:
    """An ISO 8601 time for a filter (`--since`, the web page's range); UTC unless it
    names its zone.

    Raises:
        ValueError: not an ISO 8601 time (the message says so).
    """
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def canonical_action(value: str) -> str:
    """`GitPush`, `gitpush` or `codecommit:GitPush` -> `codecommit:GitPush` (when known);
    `Authenticate` -> `gitserver:Authenticate` (failed logins)."""
    wanted = value if ":" in value else f"codecommit:{value}"
    if value.lower() in ("authenticate", AUTHENTICATE.lower()):
        return AUTHENTICATE
    for action in Action:
        if action.value.lower() == wanted.lower():
            return action.value
    return wanted


async def list_records(session: AsyncSession, query: AuditQuery) -> list[AuditRecord]:
    """Newest first."""
    statement = select(AuditRecord)
    if query.since is not None:
        statement = statement.where(AuditRecord.time >= query.since)
    if query.user:
        statement = statement.where(AuditRecord.principal == query.user)
    if query.action:
        statement = statement.where(AuditRecord.action == canonical_action(query.action))
    if query.until is not None:
        statement = statement.where(AuditRecord.time < query.until)
    if query.decision == "denied":
        statement = statement.where(AuditRecord.decision.in_(("explicitDeny", "implicitDeny")))
    elif query.decision:
        statement = statement.where(AuditRecord.decision == query.decision)
    if query.resource:
        statement = statement.where(AuditRecord.resource == query.resource)
    statement = statement.order_by(AuditRecord.time.desc(), AuditRecord.id.desc())
    statement = statement.offset(query.offset).limit(query.limit)
    return list((await session.scalars(statement)).all())


def record_json(row: AuditRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "eventTime": row.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "userName": row.principal,
        "userArn": row.principal_arn,
        "action": row.action,
        "resource": row.resource,
        "sourceIPAddress": row.source_ip,
        "userAgent": row.user_agent,
        "transport": row.transport,
        "decision": row.decision,
        "errorCode": row.error_code or None,
        "requestId": row.request_id,
        **{key: row.detail[key] for key in _SHOWN_DETAIL if key in row.detail},
    }


# The detail keys `audit list --json` shows: the refs and statements of a decision; how
# a failed login tried (`method`), why it failed and the SSH keys it offered; what a
# bypass of push protection let through.
_SHOWN_DETAIL = (
    "references",
    "statements",
    "method",
    "reason",
    "service",
    "refusedKeys",
    "pushProtectionFindings",
)
