"""The one access check every front end calls: who asked, from where, for what.

HTTP git, SSH git, the CodeCommit API (and the web UI after them) each used to build
the request facts, read the repository's tags and call the authorizer their own way.
Here that is done once:

- `request_info()` is the only constructor of `RequestInfo` a front end uses: it hands
  over what it knows (the peer, `X-Forwarded-For` and the trusted proxies, TLS, the
  client's version string) and gets the address policies see.
- `Target` is what a decision is about: an ARN, the refs touched there
  (`codecommit:References`) and the repository's tags (`aws:ResourceTag/*`).
- `Access.authorize()` reads the rows of the named repositories once (their tags feed
  the decision), decides each target in order and raises `AccessDenied` (AWS's
  message) at the first denial, before anyone learns whether a name exists. It returns
  the rows, so a handler need not read them again.

No aiohttp or asyncssh here: each front end maps `AccessDenied` to its own answer
(403, an SSH stderr line, `AccessDeniedException`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from auth.authorizer import Action, Authorizer, Decision
from auth.principal import Principal
from gitserver import errors
from gitserver.clientip import Network, client_ip
from gitserver.db import Database, Repository
from gitserver.logs import current_request_id, new_request_id
from gitserver.store.repositories import Endpoints, resource_tags

__all__ = [
    "Access",
    "AccessDenied",
    "RequestInfo",
    "Target",
    "authz_context",
    "repository_names",
    "request_info",
]


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Where a request came from, for policy conditions and the audit log."""

    source_ip: str
    secure: bool
    transport: str  # http, https, ssh, api
    user_agent: str = ""
    # Ties the audit records of one request together (a push makes several decisions).
    request_id: str = field(default_factory=lambda: current_request_id() or new_request_id())
    # `aws:RequestedRegion`: the API's is the signing scope's; empty means the server's.
    region: str = ""


def request_info(
    transport: str,
    peer: str,
    *,
    secure: bool,
    user_agent: str = "",
    forwarded_for: str | None = None,
    trusted_proxies: tuple[Network, ...] = (),
) -> RequestInfo:
    """A request's facts from what its front end knows; `X-Forwarded-For` is believed
    only through `trusted_proxies` (see `clientip`)."""
    return RequestInfo(
        source_ip=client_ip(peer, forwarded_for, trusted_proxies),
        secure=secure,
        transport=transport,
        user_agent=user_agent,
    )


@dataclass(frozen=True, slots=True)
class Target:
    """A resource to decide on: its ARN, the refs touched there, the repository's tags.

    `repository` names the repository whose row (and tags) the check reads; `tags` is
    filled from that row by `Access.authorize` (an unknown name has none).
    """

    arn: str
    repository: str | None = None
    references: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)


# Built once (every authorized request runs it); `names` expands to the IN list. Most
# requests name one repository: `=` spares rendering the IN list at every execution.
_ROWS = select(Repository).where(Repository.name.in_(bindparam("names", expanding=True)))
_ROW = select(Repository).where(Repository.name == bindparam("name"))


class AccessDenied(errors.AccessDenied):
    """The authorizer said no; `message` is AWS's sentence for the client."""

    aws_type = "AccessDeniedException"

    def __init__(self, decision: Decision, message: str) -> None:
        super().__init__(message)
        self.decision = decision
        self.message = message


def authz_context(
    principal: Principal,
    request: RequestInfo,
    region: str,
    resource_tags: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """The global condition keys of one request (AWS's `aws:*` keys and ours).

    ``aws:PrincipalTag/*`` is not here: the authorizer takes it from the principal,
    never from anything a client sent.
    """
    now = datetime.now(UTC)
    context: dict[str, object] = {
        "aws:username": principal.name,
        "aws:userid": principal.user_id,
        "aws:SourceIp": request.source_ip,
        "aws:SecureTransport": request.secure,
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": int(now.timestamp()),
        "aws:RequestedRegion": request.region or region,
        # Not AWS keys: they let the audit record say which front end and client asked.
        "gitserver:Transport": request.transport,
        "gitserver:UserAgent": request.user_agent,
        "gitserver:RequestId": request.request_id,
    }
    for key, value in (resource_tags or {}).items():
        context[f"aws:ResourceTag/{key}"] = value
    return context


class Access:
    """Decides (and, through the authorizer, audits) every front end's requests."""

    def __init__(self, authorizer: Authorizer, endpoints: Endpoints, db: Database) -> None:
        self.authorizer = authorizer
        self.endpoints = endpoints
        self.db = db

    def repository(
        self, name: str, row: Repository | None = None, references: Sequence[str] = ()
    ) -> Target:
        """The target for repository `name`, with the tags of its `row` if it has one."""
        return Target(self.endpoints.arn(name), name, tuple(references), resource_tags(row))

    async def admit(
        self, principal: Principal, action: Action, name: str, request: RequestInfo
    ) -> Repository | None:
        """Git's check on a repository's ARN; then its row (None: unknown, the caller's
        404, which only a caller who would be allowed gets to see).

        Raises:
            AccessDenied: the principal may not run `action` on the repository.
        """
        rows = await self.authorize(principal, action, [self.repository(name)], request)
        return rows.get(name)

    async def authorize(
        self,
        principal: Principal,
        action: Action | Sequence[Action],
        targets: Iterable[Target],
        request: RequestInfo,
        *,
        rows: Mapping[str, Repository] | None = None,
        session: AsyncSession | None = None,
    ) -> dict[str, Repository]:
        """Decide `action` (or each of several, in order: a page that is two API calls)
        on every target, in order; the rows read for their tags.

        The rows are read first (one query) so `aws:ResourceTag/*` is known, but nothing
        about them is revealed before every target is allowed. `rows`: the repositories
        this request has already read (a page deciding a part of itself), not read again;
        `session`: a read transaction the caller holds, to read them in.

        Raises:
            AccessDenied: the first action and target the principal may not act on.
        """
        wanted = list(targets)
        names = repository_names(wanted)
        found = dict(rows) if rows and names <= rows.keys() else await self._rows(names, session)
        self.check_all(principal, action, wanted, found, request)
        return found

    def check_all(
        self,
        principal: Principal,
        action: Action | Sequence[Action],
        targets: Sequence[Target],
        rows: Mapping[str, Repository],
        request: RequestInfo,
    ) -> None:
        """`authorize` with the targets' rows already read (`read_rows`): every action on
        every target, in order, with the tags of its row (none for an unknown name).

        Raises:
            AccessDenied: the first action and target the principal may not act on.
        """
        actions = (action,) if isinstance(action, Action) else tuple(action)
        for each in actions:
            for target in targets:
                row = rows.get(target.repository or "")
                self.check(principal, each, replace(target, tags=resource_tags(row)), request)

    def check(
        self, principal: Principal, action: Action, target: Target, request: RequestInfo
    ) -> Decision:
        """`decide`, raising when the answer is no.

        Raises:
            AccessDenied: with AWS's message.
        """
        decision = self.decide(principal, action, target, request)
        if not decision.allowed:
            raise AccessDenied(decision, decision.message(principal))
        return decision

    def decide(
        self,
        principal: Principal,
        action: Action,
        target: Target,
        request: RequestInfo,
        *,
        extra: Mapping[str, object] | None = None,
    ) -> Decision:
        """The authorizer's decision on one target, with the request's condition keys
        (and `extra` ones, e.g. what an audit record of the decision should show)."""
        context = {**self._context(principal, target, request), **(extra or {})}
        return self.authorizer.authorize(principal, action, target.arn, context)

    def preview(
        self, principal: Principal, action: Action, target: Target, request: RequestInfo
    ) -> Decision:
        """`decide` without an audit record: whether a front end should offer an action
        (the web UI hides the controls a user may not use; the request, if it comes, is
        decided and audited as usual)."""
        context = self._context(principal, target, request)
        return self.authorizer.preview(principal, action, target.arn, context)

    def _context(
        self, principal: Principal, target: Target, request: RequestInfo
    ) -> dict[str, object]:
        context = authz_context(principal, request, self.endpoints.region, target.tags)
        if target.references:
            context["codecommit:References"] = list(target.references)
        return context

    def denied_refs(
        self, principal: Principal, target: Target, refs: Iterable[str], request: RequestInfo
    ) -> dict[str, str]:
        """GitPush per ref (AWS's second phase, with `codecommit:References`): the
        message for each ref refused."""
        reasons = {}
        for ref in refs:
            decision = self.decide(
                principal, Action.GIT_PUSH, replace(target, references=(ref,)), request
            )
            if not decision.allowed:
                reasons[ref] = decision.message(principal)
        return reasons

    @staticmethod
    def read_rows(connection: Connection, names: set[str]) -> dict[str, Repository]:
        """The rows of the repositories `names`, by name, in the caller's read transaction
        (`Database.read`); unknown names are absent. Detached: usable after it ends."""
        if not names:
            return {}
        with Session(connection, expire_on_commit=False) as session:
            if len(names) == 1:
                found = session.scalars(_ROW, {"name": next(iter(names))}).all()
            else:
                found = session.scalars(_ROWS, {"names": list(names)}).all()
            return {row.name: row for row in found}

    async def _rows(
        self, names: set[str], session: AsyncSession | None = None
    ) -> dict[str, Repository]:
        if not names:
            return {}
        if session is None:
            async with self.db.reader() as own:
                return await self._rows(names, own)
        if len(names) == 1:
            found = await session.scalars(_ROW, {"name": next(iter(names))})
        else:
            found = await session.scalars(_ROWS, {"names": list(names)})
        return {row.name: row for row in found}


def repository_names(targets: Iterable[Target]) -> set[str]:
    """The repositories whose rows a decision on `targets` reads."""
    return {t.repository for t in targets if t.repository}
