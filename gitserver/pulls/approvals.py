"""Approvals, overrides and a pull request's approval rules.

An approval belongs to one revision: `revisionId` changes whenever the source or the
destination moves (`follow.py`), so an approval of an older revision never counts.
Every decision reads the current revision inside the caller's transaction, after the
follower has run in it, never from a cache: a merge one second after a push sees the
push.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from gitserver.db import (
    ApprovalRule,
    Database,
    PullRequest,
    PullRequestApproval,
    PullRequestOverride,
    Repository,
    utcnow,
)
from gitserver.pulls import errors, history, rules
from gitserver.pulls.follow import Follower
from gitserver.pulls.model import CLOSED, ApprovalRuleView
from gitserver.pulls.service import locked, parse_id
from triggers.events import EventType

APPROVE, REVOKE = "APPROVE", "REVOKE"
OVERRIDE = "OVERRIDE"
MAX_APPROVALS = 200
MAX_RULES = 30
MAX_RULE_NAME = 100


@dataclass(frozen=True, slots=True)
class Approval:
    user_arn: str
    state: str


@dataclass(frozen=True, slots=True)
class Evaluation:
    approved: bool
    overridden: bool
    satisfied: tuple[str, ...]
    not_satisfied: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OverrideState:
    overridden: bool
    overrider: str = ""


class Approvals:
    def __init__(self, db: Database, follower: Follower) -> None:
        self.db = db
        self.follower = follower

    async def _current(
        self, session: AsyncSession, pull_request_id: str, revision_id: str
    ) -> tuple[Repository, PullRequest]:
        """The pull request under the repository lock, brought up to date, at `revision_id`.

        Raises:
            InvalidRevisionId, RevisionNotCurrent, PullRequestNotFound.
        """
        _check_revision_id(revision_id)
        repo, pr = await locked(session, parse_id(pull_request_id))
        await self.follower.follow_in(session, repo.id)
        await session.flush()  # `pr` is the row the follower updated (one identity map)
        if pr.revision_id != revision_id:
            raise errors.RevisionNotCurrent(
                "The revision is not the current one: read the pull request again"
            )
        return repo, pr

    # -- approval states --------------------------------------------------------------

    async def set_state(
        self, actor: Principal, pull_request_id: str, revision_id: str, state: str
    ) -> None:
        """UpdatePullRequestApprovalState."""
        if state not in (APPROVE, REVOKE):
            raise errors.InvalidApprovalState(f"The approval state {state!r} is not valid")
        async with self.db.session() as session:
            repo, pr = await self._current(session, pull_request_id, revision_id)
            _open(pr)
            if state == APPROVE and actor.arn == pr.author_arn:
                raise errors.CannotApproveOwn("The author of a pull request cannot approve it")
            row = await session.get(PullRequestApproval, (pr.id, revision_id, actor.arn))
            if (row.state if row is not None else REVOKE) == state:
                return  # nothing changes, so no event: each event is one change
            if row is None:
                await _check_approval_limit(session, pr.id, revision_id)
                session.add(
                    PullRequestApproval(
                        pull_request_id=pr.id,
                        revision_id=revision_id,
                        user_arn=actor.arn,
                        state=state,
                    )
                )
            else:
                row.state, row.time = state, utcnow()
            history.record(
                session,
                pr,
                repo,
                actor=actor.name,
                actor_arn=actor.arn,
                history=history.APPROVAL_STATE_CHANGED,
                metadata={"revisionId": revision_id, "approvalStatus": state},
                outbox=EventType.PULL_REQUEST_APPROVAL_STATE_CHANGED,
                approvalStatus=state,
            )

    async def states(self, pull_request_id: str, revision_id: str) -> list[Approval]:
        """GetPullRequestApprovalStates: who approved (or revoked) that revision."""
        number = parse_id(pull_request_id)
        _check_revision_id(revision_id)
        async with self.db.reader() as session:
            if await session.get(PullRequest, number) is None:
                raise errors.PullRequestNotFound(f"Pull request {number} does not exist")
            rows = await session.execute(
                select(PullRequestApproval)
                .where(
                    PullRequestApproval.pull_request_id == number,
                    PullRequestApproval.revision_id == revision_id,
                )
                .order_by(PullRequestApproval.time)
            )
            return [Approval(r.user_arn, r.state) for r in rows.scalars()]

    # -- overrides --------------------------------------------------------------------

    async def override(
        self, actor: Principal, pull_request_id: str, revision_id: str, status: str
    ) -> None:
        """OverridePullRequestApprovalRules: OVERRIDE sets it for the revision, REVOKE
        takes it back."""
        if status not in (OVERRIDE, REVOKE):
            raise errors.InvalidOverrideStatus(f"The override status {status!r} is not valid")
        async with self.db.session() as session:
            repo, pr = await self._current(session, pull_request_id, revision_id)
            _open(pr)
            row = await session.get(PullRequestOverride, (pr.id, revision_id))
            if status == OVERRIDE:
                if row is not None:
                    raise errors.OverrideAlreadySet("The approval rules are already overridden")
                session.add(
                    PullRequestOverride(
                        pull_request_id=pr.id, revision_id=revision_id, overrider_arn=actor.arn
                    )
                )
            else:
                if row is None:
                    return  # nothing to revoke: no change, so no event (as for approvals)
                await session.delete(row)
            history.record(
                session,
                pr,
                repo,
                actor=actor.name,
                actor_arn=actor.arn,
                history=history.RULE_OVERRIDDEN,
                metadata={"revisionId": revision_id, "overrideStatus": status},
                outbox=EventType.PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN,
                overrideStatus=status,
            )

    async def override_state(self, pull_request_id: str, revision_id: str) -> OverrideState:
        number = parse_id(pull_request_id)
        _check_revision_id(revision_id)
        async with self.db.reader() as session:
            if await session.get(PullRequest, number) is None:
                raise errors.PullRequestNotFound(f"Pull request {number} does not exist")
            row = await session.get(PullRequestOverride, (number, revision_id))
            return OverrideState(row is not None, row.overrider_arn if row else "")

    # -- evaluation -------------------------------------------------------------------

    async def evaluate(self, pull_request_id: str, revision_id: str) -> Evaluation:
        """EvaluatePullRequestApprovalRules for the current revision."""
        async with self.db.session() as session:
            _, pr = await self._current(session, pull_request_id, revision_id)
            return await evaluate_in(session, pr)

    # -- a pull request's rules -------------------------------------------------------

    async def create_rule(
        self, actor: Principal, pull_request_id: str, name: str, content: str
    ) -> ApprovalRuleView:
        _check_rule_name(name)
        rules.parse_rule_content(content)
        async with self.db.session() as session:
            repo, pr = await locked(session, parse_id(pull_request_id))
            _open(pr)
            existing = await _rules(session, pr.id)
            if any(r.name == name for r in existing):
                raise errors.ApprovalRuleNameExists(f"An approval rule named {name} exists")
            if len(existing) >= MAX_RULES:
                raise errors.NumberOfRulesExceeded(
                    f"A pull request can have at most {MAX_RULES} approval rules"
                )
            rule = ApprovalRule(
                id=str(uuid.uuid4()),
                pull_request_id=pr.id,
                name=name,
                content=content,
                content_sha256=rules.content_sha256(content),
                last_modified_user=actor.arn,
            )
            session.add(rule)
            await session.flush()
            _rule_event(session, pr, repo, actor, rule, history.RULE_CREATED)
            return ApprovalRuleView.of(rule)

    async def update_rule(
        self,
        actor: Principal,
        pull_request_id: str,
        name: str,
        content: str,
        existing_sha256: str | None = None,
    ) -> ApprovalRuleView:
        rules.parse_rule_content(content)
        async with self.db.session() as session:
            repo, pr = await locked(session, parse_id(pull_request_id))
            _open(pr)
            rule = await _rule(session, pr.id, name)
            if rule.template_id:
                raise errors.CannotModifyTemplateRule(
                    "An approval rule created from a template cannot be changed"
                )
            if existing_sha256 is not None and existing_sha256 != rule.content_sha256:
                raise errors.InvalidRuleContentSha256(
                    "The rule changed since you read it (existingRuleContentSha256 differs)"
                )
            rule.content = content
            rule.content_sha256 = rules.content_sha256(content)
            rule.last_modified_user = actor.arn
            rule.updated_at = utcnow()
            _rule_event(session, pr, repo, actor, rule, history.RULE_UPDATED)
            return ApprovalRuleView.of(rule)

    async def delete_rule(self, actor: Principal, pull_request_id: str, name: str) -> str:
        """Delete the rule; returns its id ("" when there was none, as CodeCommit)."""
        _check_rule_name(name)
        async with self.db.session() as session:
            repo, pr = await locked(session, parse_id(pull_request_id))
            _open(pr)
            try:
                rule = await _rule(session, pr.id, name)
            except errors.ApprovalRuleNotFound:
                return ""
            if rule.template_id:
                raise errors.CannotDeleteTemplateRule(
                    "An approval rule created from a template cannot be deleted"
                )
            await session.execute(delete(ApprovalRule).where(ApprovalRule.id == rule.id))
            _rule_event(session, pr, repo, actor, rule, history.RULE_DELETED)
            return rule.id


async def evaluate_in(session: AsyncSession, pr: PullRequest) -> Evaluation:
    """Evaluate `pr`'s current revision in the caller's transaction (a merge's)."""
    approvals = await session.execute(
        select(PullRequestApproval.user_arn).where(
            PullRequestApproval.pull_request_id == pr.id,
            PullRequestApproval.revision_id == pr.revision_id,
            PullRequestApproval.state == APPROVE,
        )
    )
    approvers = [arn for (arn,) in approvals if arn != pr.author_arn]
    satisfied: list[str] = []
    not_satisfied: list[str] = []
    for rule in await _rules(session, pr.id):
        ok = rules.rule_satisfied(rules.parse_rule_content(rule.content), approvers)
        (satisfied if ok else not_satisfied).append(rule.name)
    overridden = await session.get(PullRequestOverride, (pr.id, pr.revision_id)) is not None
    return Evaluation(
        approved=not not_satisfied,
        overridden=overridden,
        satisfied=tuple(satisfied),
        not_satisfied=tuple(not_satisfied),
    )


def _open(pr: PullRequest) -> None:
    if pr.status == CLOSED:
        raise errors.AlreadyClosed("The pull request is closed")


def _check_revision_id(revision_id: str) -> None:
    if not revision_id or len(revision_id) > 64:
        raise errors.InvalidRevisionId("The revision id is not valid")


def _check_rule_name(name: str) -> None:
    if not 1 <= len(name) <= MAX_RULE_NAME:
        raise errors.InvalidApprovalRuleName(
            f"An approval rule name must be 1-{MAX_RULE_NAME} characters"
        )


async def _check_approval_limit(session: AsyncSession, number: int, revision_id: str) -> None:
    count = await session.scalar(
        select(func.count())
        .select_from(PullRequestApproval)
        .where(
            PullRequestApproval.pull_request_id == number,
            PullRequestApproval.revision_id == revision_id,
        )
    )
    if (count or 0) >= MAX_APPROVALS:
        raise errors.MaximumApprovals(f"A pull request can have at most {MAX_APPROVALS} approvals")


async def _rules(session: AsyncSession, number: int) -> list[ApprovalRule]:
    rows = await session.execute(
        select(ApprovalRule)
        .where(ApprovalRule.pull_request_id == number)
        .order_by(ApprovalRule.created_at, ApprovalRule.name)
    )
    return list(rows.scalars())


async def _rule(session: AsyncSession, number: int, name: str) -> ApprovalRule:
    rule = (
        await session.execute(
            select(ApprovalRule).where(
                ApprovalRule.pull_request_id == number, ApprovalRule.name == name
            )
        )
    ).scalar_one_or_none()
    if rule is None:
        raise errors.ApprovalRuleNotFound(f"No approval rule named {name}")
    return rule


def _rule_event(
    session: AsyncSession,
    pr: PullRequest,
    repo: Repository,
    actor: Principal,
    rule: ApprovalRule,
    kind: tuple[str, str],
) -> None:
    outbox = {
        history.RULE_CREATED: EventType.PULL_REQUEST_APPROVAL_RULE_CREATED,
        history.RULE_UPDATED: EventType.PULL_REQUEST_APPROVAL_RULE_UPDATED,
        history.RULE_DELETED: EventType.PULL_REQUEST_APPROVAL_RULE_DELETED,
    }[kind]
    history.record(
        session,
        pr,
        repo,
        actor=actor.name,
        actor_arn=actor.arn,
        history=kind,
        metadata={
            "approvalRuleName": rule.name,
            "approvalRuleId": rule.id,
            "approvalRuleContent": rule.content,
        },
        outbox=outbox,
        approvalRuleId=rule.id,
        approvalRuleName=rule.name,
        approvalRuleContentSha256=rule.content_sha256,
    )
