"""The pull-request service: create, read, list, close, edit, and the event history.

Every front end (the CodeCommit API, the web UI, the CLI) calls these methods with the
acting `Principal` and typed values after its access check, and gets frozen views back.
Writes take the repository lock first, as every ledger writer does, so a pull request
and the refs it follows change in one order on both backends.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from gitserver.db import ApprovalRule, Database, PullRequest, PullRequestEvent, Repository
from gitserver.gitcmd import Git
from gitserver.pulls import errors, history
from gitserver.pulls.follow import Follower, merge_base, new_revision_id
from gitserver.pulls.model import (
    CLOSED,
    OPEN,
    ApprovalRuleView,
    PullRequestEventView,
    PullRequestView,
)
from gitserver.store.naming import ZERO_OID
from gitserver.store.refs import known_refs, lock_repository
from gitserver.store.repositories import RepositoryStore, get_repository
from triggers.events import EventType

MAX_TITLE = 150
MAX_DESCRIPTION = 10240
MAX_OPEN = 1000
MAX_TOKEN = 64
BRANCH_PREFIX = "refs/heads/"


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """CreatePullRequest's target: a source branch and (default: the default branch) a
    destination, both as a short name or a full `refs/heads/` ref."""

    repository_name: str
    source_reference: str
    destination_reference: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateRule:
    """An approval rule a template gives a new pull request."""

    name: str
    content: str
    content_sha256: str
    template_id: str
    template_name: str


# (session, repository_id, destination_ref) -> the rules of the matching templates
TemplateRules = Callable[[AsyncSession, str, str], Awaitable[Sequence[TemplateRule]]]


class PullRequests:
    def __init__(
        self,
        db: Database,
        git: Git,
        store: RepositoryStore,
        follower: Follower,
        template_rules: TemplateRules | None = None,
    ) -> None:
        self.db = db
        self.git = git
        self.store = store
        self.follower = follower
        self.template_rules = template_rules

    # -- creating ---------------------------------------------------------------------

    async def create(
        self,
        actor: Principal,
        *,
        title: str,
        targets: Sequence[TargetSpec],
        description: str = "",
        client_request_token: str | None = None,
    ) -> PullRequestView:
        """Open a pull request (CreatePullRequest).

        Raises:
            PullRequestError: the model's exception for each rule broken.
            RepositoryNotFound: the target's repository does not exist.
        """
        _check_title(title)
        _check_description(description)
        target = _one_target(targets)
        digest = _digest(actor.arn, title, description, target)
        if client_request_token is not None:
            existing = await self._by_token(client_request_token, digest)
            if existing is not None:
                return existing
        try:
            async with self.db.session() as session:
                pr_id = await self._insert(session, actor, title, description, target)
                pr = await session.get(PullRequest, pr_id)
                assert pr is not None
                pr.client_request_token = client_request_token
                pr.request_digest = digest
        except IntegrityError:
            # Another request with the same token won the race: answer as it did.
            if client_request_token is None:
                raise
            existing = await self._by_token(client_request_token, digest)
            if existing is None:
                raise
            return existing
        return await self.get(str(pr_id))

    async def _insert(
        self,
        session: AsyncSession,
        actor: Principal,
        title: str,
        description: str,
        target: TargetSpec,
    ) -> int:
        found = await get_repository(session, target.repository_name)
        repo = await lock_repository(session, found.id)
        assert repo is not None
        source = _branch_ref(target.source_reference)
        destination = _branch_ref(target.destination_reference or _default(repo))
        if source == destination:
            raise errors.SourceAndDestinationAreSame(
                "The source and destination references are the same"
            )
        refs = await known_refs(session, repo.id)
        for ref in (source, destination):
            if refs.get(ref, ZERO_OID) == ZERO_OID:
                raise errors.ReferenceNotFound(f"The reference {ref} does not exist")
        await _check_open_limit(session, repo.id)
        path = self.store.path(repo.id)
        pr = PullRequest(
            repository_id=repo.id,
            title=title,
            description=description,
            status=OPEN,
            author=actor.name,
            author_arn=actor.arn,
            source_ref=source,
            destination_ref=destination,
            source_commit=refs[source],
            destination_commit=refs[destination],
            merge_base=await merge_base(self.git, path, refs[source], refs[destination]),
            revision_id=new_revision_id(),
        )
        session.add(pr)
        await session.flush()
        await self._template_rules(session, repo, pr, actor)
        history.record(
            session,
            pr,
            repo,
            actor=actor.name,
            actor_arn=actor.arn,
            history=history.CREATED,
            metadata={
                "repositoryName": repo.name,
                "sourceCommitId": pr.source_commit,
                "destinationCommitId": pr.destination_commit,
                "mergeBase": pr.merge_base,
            },
            outbox=EventType.PULL_REQUEST_CREATED,
        )
        return pr.id

    async def _template_rules(
        self, session: AsyncSession, repo: Repository, pr: PullRequest, actor: Principal
    ) -> None:
        if self.template_rules is None:
            return
        for rule in await self.template_rules(session, repo.id, pr.destination_ref):
            session.add(
                ApprovalRule(
                    id=_uuid(),
                    pull_request_id=pr.id,
                    name=rule.name,
                    content=rule.content,
                    content_sha256=rule.content_sha256,
                    template_id=rule.template_id,
                    template_name=rule.template_name,
                    last_modified_user=actor.arn,
                )
            )

    async def _by_token(self, token: str, digest: str) -> PullRequestView | None:
        if not 1 <= len(token) <= MAX_TOKEN:
            raise errors.InvalidClientRequestToken(
                f"The client request token must be 1-{MAX_TOKEN} characters"
            )
        async with self.db.reader() as session:
            pr = (
                await session.execute(
                    select(PullRequest).where(PullRequest.client_request_token == token)
                )
            ).scalar_one_or_none()
            if pr is None:
                return None
            if pr.request_digest != digest:
                raise errors.IdempotencyMismatch(
                    "The client request token was already used with different parameters"
                )
            pr_id = pr.id
        return await self.get(str(pr_id))

    # -- reading ----------------------------------------------------------------------

    async def get(self, pull_request_id: str) -> PullRequestView:
        """The pull request as it is now (brought up to date first if its refs moved).

        Raises:
            InvalidPullRequestId, PullRequestNotFound.
        """
        number = parse_id(pull_request_id)
        async with self.db.reader() as session:
            pr = await _find(session, number)
            stale, repository_id = pr.stale and pr.status == OPEN, pr.repository_id
        if stale:
            await self.follower.follow(repository_id)
        async with self.db.reader() as session:
            return await view(session, await _find(session, number))

    async def location(self, pull_request_id: str) -> tuple[str, str] | None:
        """The repository a pull request belongs to and its destination ref (for the
        access check: merges carry `codecommit:References`), or None."""
        try:
            number = parse_id(pull_request_id)
        except errors.PullRequestError:
            return None
        async with self.db.reader() as session:
            row = (
                await session.execute(
                    select(Repository.name, PullRequest.destination_ref)
                    .join(PullRequest, PullRequest.repository_id == Repository.id)
                    .where(PullRequest.id == number)
                )
            ).one_or_none()
            return (row[0], row[1]) if row is not None else None

    async def list_ids(
        self, repository_name: str, *, author_arn: str | None = None, status: str | None = None
    ) -> list[str]:
        """Pull request ids of a repository, newest first (ListPullRequests)."""
        if status is not None and status not in (OPEN, CLOSED):
            raise errors.InvalidStatus(f"The pull request status {status!r} is not valid")
        async with self.db.reader() as session:
            repo = await get_repository(session, repository_name)
            query = select(PullRequest.id).where(PullRequest.repository_id == repo.id)
            if author_arn is not None:
                query = query.where(PullRequest.author_arn == author_arn)
            if status is not None:
                query = query.where(PullRequest.status == status)
            rows = await session.execute(query.order_by(PullRequest.id.desc()))
            return [str(number) for (number,) in rows]

    async def events(
        self,
        pull_request_id: str,
        *,
        event_type: str | None = None,
        actor_arn: str | None = None,
    ) -> list[PullRequestEventView]:
        """The pull request's history, oldest first (DescribePullRequestEvents)."""
        if event_type is not None and event_type not in history.API_EVENT_TYPES:
            raise errors.InvalidEventType(f"The event type {event_type!r} is not valid")
        await self.get(pull_request_id)
        async with self.db.reader() as session:
            query = select(PullRequestEvent).where(
                PullRequestEvent.pull_request_id == int(pull_request_id)
            )
            if event_type is not None:
                query = query.where(PullRequestEvent.type == event_type)
            if actor_arn is not None:
                query = query.where(PullRequestEvent.actor_arn == actor_arn)
            rows = await session.execute(query.order_by(PullRequestEvent.id))
            return [PullRequestEventView.of(row) for row in rows.scalars()]

    # -- changing ---------------------------------------------------------------------

    async def update_status(
        self, actor: Principal, pull_request_id: str, status: str
    ) -> PullRequestView:
        """OPEN -> CLOSED closes; CLOSED -> OPEN is refused, as CodeCommit does.

        Raises:
            InvalidStatus, InvalidStatusUpdate, PullRequestNotFound.
        """
        if status not in (OPEN, CLOSED):
            raise errors.InvalidStatus(f"The pull request status {status!r} is not valid")
        async with self.db.session() as session:
            repo, pr = await locked(session, parse_id(pull_request_id))
            if pr.status == CLOSED and status == OPEN:
                raise errors.InvalidStatusUpdate(
                    "A closed pull request cannot be reopened; create a new one"
                )
            if pr.status != status:
                pr.status = status
                pr.stale = False
                history.record(
                    session,
                    pr,
                    repo,
                    actor=actor.name,
                    actor_arn=actor.arn,
                    history=history.STATUS_CHANGED,
                    metadata={"pullRequestStatus": status},
                    outbox=EventType.PULL_REQUEST_STATUS_CHANGED,
                )
        return await self.get(pull_request_id)

    async def update_title(
        self, actor: Principal, pull_request_id: str, title: str
    ) -> PullRequestView:
        _check_title(title)
        return await self._edit(actor, pull_request_id, title=title)

    async def update_description(
        self, actor: Principal, pull_request_id: str, description: str
    ) -> PullRequestView:
        _check_description(description)
        return await self._edit(actor, pull_request_id, description=description)

    async def _edit(
        self,
        actor: Principal,
        pull_request_id: str,
        *,
        title: str | None = None,
        description: str | None = None,
    ) -> PullRequestView:
        async with self.db.session() as session:
            repo, pr = await locked(session, parse_id(pull_request_id))
            if pr.status == CLOSED:
                raise errors.AlreadyClosed("The pull request is closed")
            # GitHub's `edited` says what changed from what (`changes.title.from`).
            old_title, old_description = pr.title, pr.description
            if title is not None:
                pr.title = title
            if description is not None:
                pr.description = description
            # CodeCommit has no event for an edit; the outbox has one for webhooks.
            history.record(
                session,
                pr,
                repo,
                actor=actor.name,
                actor_arn=actor.arn,
                history=None,
                outbox=EventType.PULL_REQUEST_EDITED,
                previousTitle=old_title,
                previousDescription=old_description,
            )
        return await self.get(pull_request_id)


# -- helpers shared by the pull-request modules ---------------------------------------


def parse_id(text: str) -> int:
    if not text:
        raise errors.InvalidPullRequestId("A pull request id is required")
    if not text.isdigit() or len(text) > 18:
        raise errors.InvalidPullRequestId(f"The pull request id {text!r} is not valid")
    return int(text)


async def _find(session: AsyncSession, number: int) -> PullRequest:
    pr = await session.get(PullRequest, number, populate_existing=True)
    if pr is None:
        raise errors.PullRequestNotFound(f"Pull request {number} does not exist")
    return pr


async def locked(session: AsyncSession, number: int) -> tuple[Repository, PullRequest]:
    """The pull request and its repository, under the repository lock (writers' order)."""
    pr = await _find(session, number)
    repo = await lock_repository(session, pr.repository_id)
    if repo is None:
        raise errors.PullRequestNotFound(f"Pull request {number} does not exist")
    return repo, await _find(session, number)


async def view(session: AsyncSession, pr: PullRequest) -> PullRequestView:
    repo = await session.get(Repository, pr.repository_id)
    rules = await session.execute(
        select(ApprovalRule)
        .where(ApprovalRule.pull_request_id == pr.id)
        .order_by(ApprovalRule.created_at, ApprovalRule.name)
    )
    return PullRequestView.of(
        pr,
        repo.name if repo else "",
        tuple(ApprovalRuleView.of(r) for r in rules.scalars()),
    )


def _check_title(title: str) -> None:
    if not title:
        raise errors.TitleRequired("A pull request title is required")
    if len(title) > MAX_TITLE:
        raise errors.InvalidTitle(f"The title must be at most {MAX_TITLE} characters")


def _check_description(description: str) -> None:
    if len(description) > MAX_DESCRIPTION:
        raise errors.InvalidDescription(
            f"The description must be at most {MAX_DESCRIPTION} characters"
        )


def _one_target(targets: Sequence[TargetSpec]) -> TargetSpec:
    if not targets:
        raise errors.TargetsRequired("A pull request needs one target")
    if len({t.repository_name for t in targets}) > 1:
        raise errors.MultipleRepositories("A pull request can target only one repository")
    if len(targets) > 1:
        raise errors.InvalidTargets("A pull request has exactly one target")
    target = targets[0]
    if not target.source_reference:
        raise errors.ReferenceNameRequired("sourceReference is required")
    return target


def _branch_ref(name: str) -> str:
    if name.startswith("refs/") and not name.startswith(BRANCH_PREFIX):
        raise errors.ReferenceTypeNotSupported(
            f"{name} is not a branch: pull requests are between branches"
        )
    ref = name if name.startswith(BRANCH_PREFIX) else BRANCH_PREFIX + name
    if ref == BRANCH_PREFIX or ".." in ref or ref.endswith("/"):
        raise errors.InvalidReferenceName(f"The reference name {name!r} is not valid")
    return ref


def _default(repo: Repository) -> str:
    if not repo.default_branch:
        raise errors.ReferenceNotFound(
            "The repository has no default branch: name a destinationReference"
        )
    return repo.default_branch


async def _check_open_limit(session: AsyncSession, repository_id: str) -> None:
    count = await session.scalar(
        select(func.count())
        .select_from(PullRequest)
        .where(PullRequest.repository_id == repository_id, PullRequest.status == OPEN)
    )
    if (count or 0) >= MAX_OPEN:
        raise errors.MaximumOpenPullRequests(
            f"A repository can have at most {MAX_OPEN} open pull requests"
        )


def _digest(author: str, title: str, description: str, target: TargetSpec) -> str:
    fields = [
        author,
        title,
        description,
        target.repository_name,
        target.source_reference,
        target.destination_reference,
    ]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


def _uuid() -> str:
    return str(uuid.uuid4())
