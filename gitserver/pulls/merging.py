"""Merging a pull request (MergePullRequestByFastForward, BySquash, ByThreeWay).

The order is what makes a merge safe without holding a lock across git:

1. In one transaction under the repository lock, the follower brings the pull request
   up to date, and the decision is made there, never from a cache: the pull request is
   open, `sourceCommitId` (if given) is the source's tip, git's own source ref agrees
   (a push git applied but has not settled yet counts), the current revision is
   approved or overridden, and every required status context is `success` on the
   current source commit (`pipelines/statuses`).
2. The merge commit is built from exactly those two commits (`content/merges.py`,
   `git merge-tree`, no working tree); nothing moves yet.
3. The destination moves by compare-and-swap from the destination commit the decision
   saw (`store/updates.ref_update`), and in the same transaction as the ref's ledger
   change and event the pull request is closed as merged with its event.

A push to the source between 1 and 3 does not change what is merged: the commits merged
are the ones approved. A move of the destination fails the compare-and-swap
(`ConcurrentReferenceUpdateException`) and the caller may retry.
"""

from __future__ import annotations

from dataclasses import dataclass

from auth.principal import Principal
from gitserver.content.merges import DEFAULT_LIMITS, MergeRequest, merge_commits
from gitserver.content.writer import Limits
from gitserver.db import Database, PullRequest
from gitserver.gitcmd import Git
from gitserver.pipelines.statuses import unmet_in
from gitserver.pulls import armed, errors, history
from gitserver.pulls.approvals import evaluate_in
from gitserver.pulls.follow import Follower
from gitserver.pulls.model import CLOSED, PullRequestView
from gitserver.pulls.service import PullRequests, locked, parse_id
from gitserver.store.refs import RefKind, read_refs
from gitserver.store.repositories import RepositoryStore
from gitserver.store.updates import ref_update
from triggers.events import EventType


@dataclass(frozen=True, slots=True)
class _Decision:
    repository_id: str
    repository_name: str
    source: str
    destination: str
    destination_ref: str
    revision_id: str


class PullRequestMerges:
    def __init__(
        self,
        db: Database,
        git: Git,
        store: RepositoryStore,
        follower: Follower,
        pulls: PullRequests,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.db = db
        self.git = git
        self.store = store
        self.follower = follower
        self.pulls = pulls
        self.limits = limits

    async def merge(
        self,
        actor: Principal,
        pull_request_id: str,
        repository_name: str,
        request: MergeRequest,
        *,
        source_commit_id: str | None = None,
    ) -> PullRequestView:
        """Merge the pull request with `request.option`; returns it closed and merged.

        Raises:
            PullRequestError: RepositoryNotAssociated, AlreadyClosed,
                TipOfSourceIsDifferent, RulesNotSatisfied (approval rules, or a
                required status context not `success` on the source commit).
            ContentError: the merge engine's refusals (ManualMergeRequired, ...).
            RefMoved: the destination moved meanwhile (ConcurrentReferenceUpdate).
        """
        decision = await self._decide(pull_request_id, repository_name, source_commit_id)
        path = self.store.path(decision.repository_id)
        result = await merge_commits(
            self.git,
            path,
            source=decision.source,
            destination=decision.destination,
            request=request,
            committer=actor.name,
            limits=self.limits,
        )
        async with ref_update(
            self.db,
            self.git,
            path,
            decision.repository_id,
            ref=decision.destination_ref,
            old=decision.destination,
            new=result.commit_id,
            actor=actor.name,
            kind=RefKind.FAST_FORWARD,  # every merge result descends from the destination
            merge=result.detail(request, decision.source, decision.destination),
            guard=self.store.guard,
            by_pull_request=True,
        ) as session:
            repo, pr = await locked(session, parse_id(pull_request_id))
            _close_as_merged(pr, actor, result.commit_id, request.option)
            await armed.disarm_in(
                session, repo, pr, actor=actor.name, actor_arn=actor.arn, reason=armed.MERGED
            )
            history.record(
                session,
                pr,
                repo,
                actor=actor.name,
                actor_arn=actor.arn,
                history=history.MERGE_STATE_CHANGED,
                metadata={
                    "repositoryName": repo.name,
                    "destinationReference": pr.destination_ref,
                    "mergeMetadata": {
                        "isMerged": True,
                        "mergedBy": actor.arn,
                        "mergeCommitId": result.commit_id,
                        "mergeOption": request.option,
                    },
                },
                outbox=EventType.PULL_REQUEST_MERGE_STATUS_UPDATED,
            )
        return await self.pulls.get(pull_request_id)

    async def _decide(
        self, pull_request_id: str, repository_name: str, source_commit_id: str | None
    ) -> _Decision:
        async with self.db.session() as session:
            repo, pr = await locked(session, parse_id(pull_request_id))
            if repo.name != repository_name:
                raise errors.RepositoryNotAssociated(
                    f"Pull request {pr.id} is not in repository {repository_name}"
                )
            await self.follower.follow_in(session, repo.id)
            await session.flush()  # `pr` is the row the follower updated (one identity map)
            if pr.status == CLOSED:
                raise errors.AlreadyClosed("The pull request is closed")
            if source_commit_id is not None and source_commit_id != pr.source_commit:
                raise errors.TipOfSourceIsDifferent(
                    "The source branch has moved: review the new commits and retry"
                )
            current = await read_refs(self.git, self.store.path(repo.id))
            if current.get(pr.source_ref) != pr.source_commit:
                raise errors.TipOfSourceIsDifferent(
                    "The source branch is being updated: read the pull request again"
                )
            evaluation = await evaluate_in(session, pr)
            problems = []
            if not (evaluation.approved or evaluation.overridden):
                problems.append(
                    "The approval rules are not satisfied: " + ", ".join(evaluation.not_satisfied)
                )
            # Required statuses gate like an approval rule, so they refuse with the same
            # exception CodeCommit raises for unsatisfied rules: clients already handle it
            # as "not yet mergeable" (an override does not bypass them: a red build stays red).
            unmet = await unmet_in(session, repo.id, pr.source_commit)
            if unmet:
                problems.append(
                    "Required status checks are not successful on commit "
                    f"{pr.source_commit[:12]}: " + ", ".join(str(u) for u in unmet)
                )
            if problems:
                raise errors.RulesNotSatisfied("; ".join(problems))
            return _Decision(
                repo.id,
                repo.name,
                pr.source_commit,
                pr.destination_commit,
                pr.destination_ref,
                pr.revision_id,
            )


def _close_as_merged(pr: PullRequest, actor: Principal, commit_id: str, option: str) -> None:
    pr.status = CLOSED
    pr.stale = False
    pr.is_merged = True
    pr.merged_by = actor.arn
    pr.merge_commit_id = commit_id
    pr.merge_option = option
