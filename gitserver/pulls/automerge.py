"""Merge when the required statuses succeed (beyond CodeCommit; GitHub's auto-merge).

A reviewer arms a pull request with a strategy; front ends authorize the arming as the
merge itself (`MergePullRequestBy<strategy>` with `codecommit:References` = the
destination). The armed row names the source commit the reviewer saw, and a push to
the source disarms it (`follow.py`), so only that commit is ever merged.

`AutoMergeLoop` (in `gitserver serve`) runs `sweep` soon after any event commits in
this process (a status, an approval, the arming itself) and every few seconds for
other processes' changes (`gitserver status set`, a runner on another machine). A pull
request is merged when, on exactly the armed commit, every required context is
`success` (with none required: the combined status of what was reported is `success`)
and its approval rules hold; then it is merged as the arming user, whose current
policies are asked again, through `PullRequestMerges.merge` with the armed commit as
`sourceCommitId`. A merge refused for good (conflicts, access) disarms with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actions import Action
from auth.principal import Principal
from auth.principals import load_principal
from gitserver import errors as categories
from gitserver.access import Access, RequestInfo
from gitserver.content.merges import MergeOption, MergeRequest
from gitserver.db import AutoMerge, Database, PullRequest, Repository, User
from gitserver.pipelines.statuses import SUCCESS, combine, required_in, statuses_in, unmet_in
from gitserver.pulls import armed, errors
from gitserver.pulls.approvals import evaluate_in
from gitserver.pulls.armed import ArmedView
from gitserver.pulls.follow import Follower
from gitserver.pulls.merging import PullRequestMerges
from gitserver.pulls.model import OPEN
from gitserver.pulls.service import locked, parse_id

log = logging.getLogger(__name__)

# (armed_by user name, merge option, repository name, destination ref) -> the principal,
# its current policies allowing the merge. Raises AccessDenied (or NotFound: user gone).
MergeAuthority = Callable[[str, MergeOption, str, str], Awaitable[Principal]]

MERGE_ACTIONS = {
    MergeOption.FAST_FORWARD: Action.MERGE_PULL_REQUEST_BY_FAST_FORWARD,
    MergeOption.SQUASH: Action.MERGE_PULL_REQUEST_BY_SQUASH,
    MergeOption.THREE_WAY: Action.MERGE_PULL_REQUEST_BY_THREE_WAY,
}


def merge_authority(db: Database, access: Access, account_id: str) -> MergeAuthority:
    """The arming user as they are now, once their policies allow the merge: the same
    decision (and audit record) as their own MergePullRequestBy<strategy> request.

    The request is the server's own (transport `internal`, from 127.0.0.1): the user
    is not connected when their statuses turn green.
    """

    async def authority(
        user_name: str, option: MergeOption, repository: str, destination_ref: str
    ) -> Principal:
        async with db.reader() as session:
            user = await session.scalar(select(User).where(User.name == user_name))
            if user is None:
                raise errors.InvalidActorArn(f"The user {user_name} who armed the merge is gone")
            principal = await load_principal(session, user, account_id, "merge-when-green")
        request = RequestInfo(
            source_ip="127.0.0.1", secure=True, transport="internal", user_agent="merge-when-green"
        )
        target = access.repository(repository, references=(destination_ref,))
        await access.authorize(principal, MERGE_ACTIONS[option], [target], request)
        return principal

    return authority


_ANY_ARMED = select(AutoMerge.pull_request_id).limit(1)


class AutoMerges:
    """Arm, disarm, read, and carry out merges when green."""

    def __init__(self, db: Database, follower: Follower, merges: PullRequestMerges) -> None:
        self.db = db
        self.follower = follower
        self.merges = merges

    async def arm(
        self,
        actor: Principal,
        pull_request_id: str,
        repository_name: str,
        option: MergeOption,
        *,
        source_commit_id: str | None = None,
    ) -> ArmedView:
        """Arm the pull request on its current source commit (the one the caller saw,
        when `source_commit_id` is given).

        Raises:
            PullRequestError: RepositoryNotAssociated, AlreadyClosed, TipOfSourceIsDifferent.
        """
        async with self.db.session() as session:
            repo, pr = await self._open(session, pull_request_id, repository_name)
            if source_commit_id is not None and source_commit_id != pr.source_commit:
                raise errors.TipOfSourceIsDifferent(
                    "The source branch has moved: review the new commits and retry"
                )
            row = await armed.arm_in(
                session, repo, pr, strategy=str(option), actor=actor.name, actor_arn=actor.arn
            )
            return ArmedView.of(row)

    async def disarm(self, actor: Principal, pull_request_id: str, repository_name: str) -> bool:
        """Disarm the pull request; whether it was armed.

        Raises:
            PullRequestError: RepositoryNotAssociated, PullRequestNotFound.
        """
        async with self.db.session() as session:
            repo, pr = await locked(session, parse_id(pull_request_id))
            if repo.name != repository_name:
                raise errors.RepositoryNotAssociated(
                    f"Pull request {pr.id} is not in repository {repository_name}"
                )
            return await armed.disarm_in(
                session, repo, pr, actor=actor.name, actor_arn=actor.arn, reason=armed.CANCELLED
            )

    async def get(self, pull_request_id: str) -> ArmedView | None:
        """The pull request's armed state, or None."""
        async with self.db.reader() as session:
            row = await armed.armed_in(session, parse_id(pull_request_id))
            return ArmedView.of(row) if row is not None else None

    async def _open(
        self, session: AsyncSession, pull_request_id: str, repository_name: str
    ) -> tuple[Repository, PullRequest]:
        repo, pr = await locked(session, parse_id(pull_request_id))
        if repo.name != repository_name:
            raise errors.RepositoryNotAssociated(
                f"Pull request {pr.id} is not in repository {repository_name}"
            )
        await self.follower.follow_in(session, repo.id)
        await session.flush()
        if pr.status != OPEN:
            raise errors.AlreadyClosed("The pull request is closed")
        return repo, pr

    # -- carrying out ----------------------------------------------------------------

    async def sweep(self, authority: MergeAuthority) -> int:
        """Merge every armed pull request that is ready; returns how many were merged."""
        merged = 0
        for pull_request_id in await self._ready():
            if await self._attempt(pull_request_id, authority):
                merged += 1
        return merged

    async def _ready(self) -> list[str]:
        """Armed open pull requests whose armed commit is green and whose rules hold."""
        ready: list[str] = []
        # Every event wakes the sweep, and there is mostly nothing armed: one read unit.
        if not await self.db.read(lambda c: c.execute(_ANY_ARMED).first() is not None):
            return ready
        async with self.db.reader() as session:
            rows = (
                await session.execute(
                    select(AutoMerge, PullRequest)
                    .join(PullRequest, PullRequest.id == AutoMerge.pull_request_id)
                    .order_by(AutoMerge.armed_at)
                )
            ).all()
            for row, pr in rows:
                if pr.status != OPEN:
                    continue  # removed below, with no event: the close has its own
                if pr.stale or pr.source_commit != row.source_commit:
                    continue  # the follower disarms on a push
                if not await _green(session, pr.repository_id, row.source_commit):
                    continue
                evaluation = await evaluate_in(session, pr)
                if evaluation.approved or evaluation.overridden:
                    ready.append(str(pr.id))
        if any(pr.status != OPEN for _, pr in rows):
            await self._forget_closed()
        return ready

    async def _forget_closed(self) -> None:
        async with self.db.session() as session:
            closed = await session.scalars(
                select(AutoMerge)
                .join(PullRequest, PullRequest.id == AutoMerge.pull_request_id)
                .where(PullRequest.status != OPEN)
            )
            for row in closed:
                await session.delete(row)

    async def _attempt(self, pull_request_id: str, authority: MergeAuthority) -> bool:
        async with self.db.reader() as session:
            row = await armed.armed_in(session, int(pull_request_id))
            pr = await session.get(PullRequest, int(pull_request_id))
            repo = await session.get(Repository, pr.repository_id) if pr else None
            if row is None or pr is None or repo is None:
                return False
            view, repository, destination = ArmedView.of(row), repo.name, pr.destination_ref
        option = MergeOption(view.strategy)
        try:
            principal = await authority(view.armed_by, option, repository, destination)
            await self.merges.merge(
                principal,
                pull_request_id,
                repository,
                MergeRequest(option),
                source_commit_id=view.source_commit,
            )
        except (errors.TipOfSourceIsDifferent, errors.RulesNotSatisfied) as exc:
            # A push landed (the follower disarms) or the rules changed since `_ready`
            # looked: not for good, the next sweep decides again.
            log.info("merge when green waits", extra={"pull_request": pull_request_id})
            await self._note(pull_request_id, view, str(exc), for_good=False)
        except categories.Conflict as exc:
            # The destination moved under the merge (a compare-and-swap): try again later.
            if exc.aws_type != "ManualMergeRequiredException":
                return False
            await self._note(pull_request_id, view, str(exc), for_good=True)
        except (categories.AccessDenied, categories.NotFound, categories.InvalidInput) as exc:
            await self._note(pull_request_id, view, str(exc), for_good=True)
        else:
            log.info("merged when green", extra={"pull_request": pull_request_id})
            return True
        return False

    async def _note(
        self, pull_request_id: str, view: ArmedView, message: str, *, for_good: bool
    ) -> None:
        """Record why the merge did not happen; disarm when it never will."""
        async with self.db.session() as session:
            repo, pr = await locked(session, int(pull_request_id))
            row = await armed.armed_in(session, pr.id)
            if row is None or row.source_commit != view.source_commit:
                return
            if for_good:
                await armed.disarm_in(
                    session,
                    repo,
                    pr,
                    actor=view.armed_by,
                    actor_arn=view.armed_by_arn,
                    reason=armed.REFUSED,
                    message=message,
                )
            else:
                row.last_error = message


async def _green(session: AsyncSession, repository_id: str, commit_id: str) -> bool:
    """Every required context `success` on the commit; with none required, the combined
    status of what was reported (at least one status) is `success`."""
    repo = await session.get(Repository, repository_id)
    if repo is None:
        return False
    if await required_in(session, repository_id):
        return not await unmet_in(session, repository_id, commit_id)
    return combine(s.state for s in await statuses_in(session, repo, commit_id)) == SUCCESS


class AutoMergeLoop:
    """Runs `sweep` soon after this process commits an event, and every `interval`
    seconds for changes other processes made."""

    def __init__(
        self, automerges: AutoMerges, authority: MergeAuthority, interval: float = 2.0
    ) -> None:
        self.automerges = automerges
        self.authority = authority
        self.interval = interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            try:
                await self.automerges.sweep(self.authority)
            except Exception:
                log.exception("merge when green failed; retrying")
