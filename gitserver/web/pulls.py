"""Pull-request pages: the list, a pull request (description, timeline, files changed with
inline comments, approvals, the merge box) and the creation form.

Each read is the API's: the list is ListPullRequests then GetPullRequest for each, the
page GetPullRequest, and its parts (events, comments, the diff, approvals, merge options
and conflicts) appear only where DescribePullRequestEvents, GetCommentsForPullRequest,
GetDifferences, EvaluatePullRequestApprovalRules, GetMergeOptions and GetMergeConflicts
are allowed. The forms are `pull_forms.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from auth.actions import Action
from gitserver.content.conflicts import ConflictQuery
from gitserver.content.merges import MergeOption
from gitserver.db import Repository
from gitserver.pipelines.statuses import CommitStatusView
from gitserver.pulls.approvals import APPROVE, Evaluation
from gitserver.pulls.armed import ArmedView
from gitserver.pulls.model import OPEN, PullRequestView, user_arn
from gitserver.pulls.reactions import REACTIONS
from gitserver.web.context import (
    PAGE_SIZE,
    deps_of,
    links,
    optional_parts,
    viewer_of,
)
from gitserver.web.diffs import Changes, changes
from gitserver.web.pages import render
from gitserver.web.pullauth import may, pull_id, pull_request_repository, repository_for
from gitserver.web.review import (
    STRATEGY_NAMES,
    MergeBox,
    comment_form_at,
    last_reviewed,
    merge_box,
    place,
    rule_states,
    timeline,
)


@dataclass(frozen=True, slots=True)
class StatusPart:
    """A commit's statuses as a page shows them (`_statuses.html`)."""

    state: str  # the combined state
    statuses: tuple[CommitStatusView, ...]


MERGE_ACTIONS = {
    MergeOption.FAST_FORWARD: Action.MERGE_PULL_REQUEST_BY_FAST_FORWARD,
    MergeOption.SQUASH: Action.MERGE_PULL_REQUEST_BY_SQUASH,
    MergeOption.THREE_WAY: Action.MERGE_PULL_REQUEST_BY_THREE_WAY,
}


async def pull_request_list(request: web.Request) -> web.StreamResponse:
    repo = await repository_for(request, Action.LIST_PULL_REQUESTS)
    reviews = deps_of(request).reviews
    status = "CLOSED" if request.query.get("status") == "closed" else OPEN
    author = request.query.get("author", "").strip()
    author_arn = user_arn(deps_of(request).endpoints.account_id, author) if author else None
    ids = await reviews.pulls.list_ids(repo.name, author_arn=author_arn, status=status)
    shown: list[PullRequestView] = []
    if ids and await optional_parts(request, repo, Action.GET_PULL_REQUEST):
        shown = [await reviews.pulls.get(number) for number in ids[:PAGE_SIZE]]
    return render(
        request,
        "pulls.html",
        repo=repo,
        links=links(request, repo),
        pulls=shown,
        more=len(ids) > PAGE_SIZE,
        state=status,
        author=author,
        may_create=may(request, Action.CREATE_PULL_REQUEST, repo),
    )


async def pull_request(request: web.Request) -> web.StreamResponse:
    repo = await pull_request_repository(request, Action.GET_PULL_REQUEST)
    return await pull_request_page(request, repo)


@dataclass(frozen=True, slots=True)
class Controls:
    """Which forms the page offers the viewer (each is decided again when posted)."""

    comment: bool
    reply: bool
    edit: bool
    delete: bool
    react: bool
    approve: bool
    override: bool
    close: bool


async def pull_request_page(
    request: web.Request, repo: Repository, *, error: str = "", status: int = 200
) -> web.Response:
    """The page (also after a refused form, with `error` said at the top)."""
    reviews = deps_of(request).reviews
    viewer = viewer_of(request)
    pr = await reviews.pulls.get(pull_id(request))
    target = pr.target
    base = target.merge_base or target.destination_commit
    events = []
    if await optional_parts(request, repo, Action.DESCRIBE_PULL_REQUEST_EVENTS):
        events = await reviews.pulls.events(pr.id)
    threads = []
    if await optional_parts(request, repo, Action.GET_COMMENTS_FOR_PULL_REQUEST):
        threads = await reviews.comments.for_pull_request(viewer.principal, pr.id)
    diff = await _files_changed(request, repo, base, target.source_commit)
    evaluation = await _evaluation(request, repo, pr)
    return render(
        request,
        "pull.html",
        status=status,
        repo=repo,
        links=links(request, repo),
        pr=pr,
        error=error,
        timeline=timeline(events, threads),
        reviewed=last_reviewed(events, threads, viewer.principal.arn, target.source_commit),
        changes=diff,
        placed=place(
            threads,
            diff,
            base,
            target.source_commit,
            comment_form_at(request.query.get("comment", "")),
        ),
        base=base,
        split=request.query.get("view") == "split",
        hide_whitespace=request.query.get("w") == "1",
        only=request.query.get("path", ""),
        rules=rule_states(pr.approval_rules, evaluation),
        evaluation=evaluation,
        approvers=await _approvers(request, repo, pr),
        merge=await _merge_box(request, repo, pr, evaluation),
        statuses=await statuses_part(request, repo, target.source_commit),
        armed=await _armed(request, pr),
        controls=_controls(request, repo, pr),
        strategy_names=STRATEGY_NAMES,
        reactions=REACTIONS,
    )


def _controls(request: web.Request, repo: Repository, pr: PullRequestView) -> Controls:
    is_open = pr.status == OPEN
    return Controls(
        comment=may(request, Action.POST_COMMENT_FOR_PULL_REQUEST, repo),
        reply=may(request, Action.POST_COMMENT_REPLY, repo),
        edit=may(request, Action.UPDATE_COMMENT, repo),
        delete=may(request, Action.DELETE_COMMENT_CONTENT, repo),
        react=may(request, Action.PUT_COMMENT_REACTION, repo),
        approve=is_open and may(request, Action.UPDATE_PULL_REQUEST_APPROVAL_STATE, repo),
        override=is_open and may(request, Action.OVERRIDE_PULL_REQUEST_APPROVAL_RULES, repo),
        close=is_open and may(request, Action.UPDATE_PULL_REQUEST_STATUS, repo),
    )


async def _files_changed(
    request: web.Request, repo: Repository, base: str, source: str
) -> Changes | None:
    if not await optional_parts(request, repo, Action.GET_DIFFERENCES):
        return None
    hide, only = request.query.get("w") == "1", request.query.get("path", "")
    return await changes(deps_of(request), repo, base, source, ignore_whitespace=hide, only=only)


async def _evaluation(
    request: web.Request, repo: Repository, pr: PullRequestView
) -> Evaluation | None:
    if pr.status != OPEN or not await optional_parts(
        request, repo, Action.EVALUATE_PULL_REQUEST_APPROVAL_RULES
    ):
        return None
    return await deps_of(request).reviews.approvals.evaluate(pr.id, pr.revision_id)


async def _approvers(request: web.Request, repo: Repository, pr: PullRequestView) -> list[str]:
    """Who approved the current revision (ARNs)."""
    if not await optional_parts(request, repo, Action.GET_PULL_REQUEST_APPROVAL_STATES):
        return []
    found = await deps_of(request).reviews.approvals.states(pr.id, pr.revision_id)
    return [a.user_arn for a in found if a.state == APPROVE]


async def _merge_box(
    request: web.Request, repo: Repository, pr: PullRequestView, evaluation: Evaluation | None
) -> MergeBox | None:
    """The merge box of an open pull request, from GetMergeOptions' and
    GetMergeConflicts' services (None when the viewer may read neither)."""
    if pr.target.merge.is_merged:
        return None  # the page says so, with the merge commit
    if pr.status != OPEN:
        return merge_box(pr, (), (), (), None)
    if not await optional_parts(
        request, repo, Action.GET_MERGE_OPTIONS, Action.GET_MERGE_CONFLICTS
    ):
        return None
    reviews = deps_of(request).reviews
    source, destination = pr.target.source_commit, pr.target.destination_commit
    found = await reviews.branch_merges.options(repo, source, destination, "FILE_LEVEL", "NONE")
    conflicts: tuple[str, ...] = ()
    if MergeOption.THREE_WAY not in found.options:
        query = ConflictQuery(str(MergeOption.THREE_WAY))
        conflicts = (await reviews.conflicts.find(repo, source, destination, query)).paths
    ref = pr.target.destination_reference
    allowed = [o for o, action in MERGE_ACTIONS.items() if may(request, action, repo, ref)]
    # The merge refuses these (pulls/merging.py); the box names them the same way.
    unmet = await reviews.required_checks.unmet(repo.name, source)
    return merge_box(pr, found.options, allowed, conflicts, evaluation, [str(u) for u in unmet])


async def statuses_part(
    request: web.Request, repo: Repository, commit_id: str
) -> StatusPart | None:
    """The commit's statuses and combined state (None: the viewer may not read them)."""
    if not await optional_parts(request, repo, Action.GET_COMMIT_STATUSES):
        return None
    combined = await deps_of(request).reviews.statuses.combined_for(repo, commit_id)
    return StatusPart(combined.state, combined.statuses)


async def _armed(request: web.Request, pr: PullRequestView) -> ArmedView | None:
    if pr.status != OPEN:
        return None
    return await deps_of(request).reviews.automerges.get(pr.id)
