"""The pull-request page's forms: comment (general or on a line), reply, edit, delete,
react, approve or revoke, close, merge. Each is authorized with the API's action for the
same operation (`api/ops/comments.py`, `approvals.py`, `pulls.py`, `pull_merges.py`),
calls the same service, and sends the browser back to the page; a refusal by the service
(a rule of the domain: the author approving, the source moved since the page was
rendered) shows the page again with the service's message.
"""

from __future__ import annotations

from aiohttp import web

from auth.actions import Action
from gitserver import errors as categories
from gitserver import weburls
from gitserver.content.merges import MergeOption, MergeRequest
from gitserver.db import Repository
from gitserver.pulls import errors
from gitserver.pulls.comment_model import AFTER, BEFORE, Location
from gitserver.pulls.model import CLOSED
from gitserver.web.context import deps_of, viewer_of
from gitserver.web.pullauth import changing, pull_id
from gitserver.web.pulls import MERGE_ACTIONS, pull_request_page

# A service's refusal shown on the page with its status (the API's categories).
_REFUSALS: list[tuple[type[Exception], int]] = [
    (categories.InvalidInput, 400),
    (categories.LimitExceeded, 413),
    (categories.Conflict, 409),
    # The action was allowed; the service refused this user (editing another's comment).
    (categories.AccessDenied, 403),
]


async def _form(request: web.Request) -> dict[str, str]:
    """The form's text fields (the middleware has read the body for the CSRF check)."""
    form = await request.post()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _back(request: web.Request, fragment: str = "") -> web.HTTPSeeOther:
    page = weburls.pull_request_page("", request.match_info["name"], pull_id(request))
    return web.HTTPSeeOther(page + (f"#{fragment}" if fragment else ""))


async def _refused(request: web.Request, repo: Repository, exc: Exception) -> web.Response:
    for kind, status in _REFUSALS:
        if isinstance(exc, kind):
            return await pull_request_page(request, repo, error=str(exc), status=status)
    raise exc


async def post_comment(request: web.Request) -> web.StreamResponse:
    """PostCommentForPullRequest: general, or on a line (`path`, `side`, `line`) of the
    commits the page showed (`before`: the merge base, `after`: the source)."""
    repo = await changing(request, Action.POST_COMMENT_FOR_PULL_REQUEST)
    form = await _form(request)
    try:
        comment = await deps_of(request).reviews.comments.post_for_pull_request(
            viewer_of(request).principal,
            pull_request_id=pull_id(request),
            repository_name=repo.name,
            before_commit_id=form.get("before", ""),
            after_commit_id=form.get("after", ""),
            content=form.get("content", ""),
            location=_location(form),
        )
    except categories.DomainError as exc:
        return await _refused(request, repo, exc)
    raise _back(request, weburls.comment_anchor(comment.id))


def _location(form: dict[str, str]) -> Location | None:
    path = form.get("path", "")
    if not path:
        return None
    line = form.get("line", "")
    side = BEFORE if form.get("side") == BEFORE else AFTER
    return Location(path, int(line) if line.isdigit() else None, side)


async def post_reply(request: web.Request) -> web.StreamResponse:
    """PostCommentReply, on a comment of this pull request."""
    repo = await changing(request, Action.POST_COMMENT_REPLY)
    reviews = deps_of(request).reviews
    parent = request.match_info["comment"]
    await _comment_of_this_pull_request(request, parent)
    form = await _form(request)
    try:
        comment = await reviews.comments.post_reply(
            viewer_of(request).principal, in_reply_to=parent, content=form.get("content", "")
        )
    except categories.DomainError as exc:
        return await _refused(request, repo, exc)
    raise _back(request, weburls.comment_anchor(comment.id))


async def edit_comment(request: web.Request) -> web.StreamResponse:
    """UpdateComment (the service lets only the author edit)."""
    repo = await changing(request, Action.UPDATE_COMMENT)
    comment_id = request.match_info["comment"]
    await _comment_of_this_pull_request(request, comment_id)
    form = await _form(request)
    try:
        await deps_of(request).reviews.comments.update(
            viewer_of(request).principal, comment_id, form.get("content", "")
        )
    except categories.DomainError as exc:
        return await _refused(request, repo, exc)
    raise _back(request, weburls.comment_anchor(comment_id))


async def delete_comment(request: web.Request) -> web.StreamResponse:
    """DeleteCommentContent: the comment stays in its thread, its content goes (the
    service's rule: whoever the action is allowed to, as CodeCommit)."""
    repo = await changing(request, Action.DELETE_COMMENT_CONTENT)
    comment_id = request.match_info["comment"]
    await _comment_of_this_pull_request(request, comment_id)
    try:
        await deps_of(request).reviews.comments.delete_content(
            viewer_of(request).principal, comment_id
        )
    except categories.DomainError as exc:
        return await _refused(request, repo, exc)
    raise _back(request, weburls.comment_anchor(comment_id))


async def react(request: web.Request) -> web.StreamResponse:
    """PutCommentReaction: the viewer's reaction set, changed, or removed (`none`)."""
    repo = await changing(request, Action.PUT_COMMENT_REACTION)
    comment_id = request.match_info["comment"]
    await _comment_of_this_pull_request(request, comment_id)
    form = await _form(request)
    try:
        await deps_of(request).reviews.reactions.put(
            viewer_of(request).principal, comment_id, form.get("reaction")
        )
    except categories.DomainError as exc:
        return await _refused(request, repo, exc)
    raise _back(request, weburls.comment_anchor(comment_id))


async def _comment_of_this_pull_request(request: web.Request, comment_id: str) -> None:
    """The comment in the address must be one of this pull request's (an id from
    another repository is "not found", as the API's target check would make it)."""
    found = await deps_of(request).reviews.comments.get(viewer_of(request).principal, comment_id)
    if found.place.pull_request_id != pull_id(request):
        raise errors.CommentNotFound(f"Comment {comment_id} is not on this pull request")


async def set_approval(request: web.Request) -> web.StreamResponse:
    """UpdatePullRequestApprovalState for the revision the page showed."""
    repo = await changing(request, Action.UPDATE_PULL_REQUEST_APPROVAL_STATE)
    form = await _form(request)
    try:
        await deps_of(request).reviews.approvals.set_state(
            viewer_of(request).principal,
            pull_id(request),
            form.get("revision", ""),
            form.get("state", ""),
        )
    except categories.DomainError as exc:
        return await _refused(request, repo, exc)
    raise _back(request, "approvals-h")


async def override(request: web.Request) -> web.StreamResponse:
    """OverridePullRequestApprovalRules (OVERRIDE or REVOKE) for the revision shown."""
    repo = await changing(request, Action.OVERRIDE_PULL_REQUEST_APPROVAL_RULES)
    form = await _form(request)
    try:
        await deps_of(request).reviews.approvals.override(
            viewer_of(request).principal,
            pull_id(request),
            form.get("revision", ""),
            form.get("status", ""),
        )
    except categories.DomainError as exc:
        return await _refused(request, repo, exc)
    raise _back(request, "approvals-h")


async def set_status(request: web.Request) -> web.StreamResponse:
    """UpdatePullRequestStatus (closing; the service refuses reopening, as CodeCommit)."""
    repo = await changing(request, Action.UPDATE_PULL_REQUEST_STATUS)
    form = await _form(request)
    try:
        await deps_of(request).reviews.pulls.update_status(
            viewer_of(request).principal, pull_id(request), form.get("status", CLOSED)
        )
    except categories.DomainError as exc:
        return await _refused(request, repo, exc)
    raise _back(request)


async def merge(request: web.Request) -> web.StreamResponse:
    """MergePullRequestBy<strategy>, authorized on the destination ref, with the source
    commit the page showed: a push that landed since makes the service refuse
    (TipOfSourceReferenceIsDifferent) rather than merge commits nobody saw here."""
    option, repo, source = await _merge_form(request)
    try:
        await deps_of(request).reviews.merges.merge(
            viewer_of(request).principal,
            pull_id(request),
            repo.name,
            MergeRequest(option),
            source_commit_id=source,
        )
    except categories.DomainError as exc:
        return await _refused(request, repo, exc)
    raise _back(request)


async def merge_when_green(request: web.Request) -> web.StreamResponse:
    """Arm merge when green: decided as the merge itself (MergePullRequestBy<strategy> on
    the destination), on the source commit the page showed."""
    option, repo, source = await _merge_form(request)
    try:
        await deps_of(request).reviews.automerges.arm(
            viewer_of(request).principal,
            pull_id(request),
            repo.name,
            option,
            source_commit_id=source,
        )
    except categories.DomainError as exc:
        return await _refused(request, repo, exc)
    raise _back(request, "merge-h")


async def _merge_form(request: web.Request) -> tuple[MergeOption, Repository, str]:
    """A merge form's strategy, the repository once that merge is allowed on the
    destination, and the source commit the page showed."""
    form = await _form(request)
    try:
        option = MergeOption(form.get("strategy", ""))
    except ValueError:
        raise web.HTTPBadRequest(text="Choose a merge strategy.") from None
    repo = await changing(request, MERGE_ACTIONS[option], on_destination=True)
    source = form.get("source_commit", "")
    if not source:
        raise web.HTTPBadRequest(text="The form did not say which source commit you saw.")
    return option, repo, source


async def cancel_merge_when_green(request: web.Request) -> web.StreamResponse:
    """Disarm merge when green: decided as the armed merge would be."""
    await _form(request)
    armed = await deps_of(request).reviews.automerges.get(pull_id(request))
    option = MergeOption(armed.strategy) if armed else MergeOption.FAST_FORWARD
    repo = await changing(request, MERGE_ACTIONS[option], on_destination=True)
    try:
        await deps_of(request).reviews.automerges.disarm(
            viewer_of(request).principal, pull_id(request), repo.name
        )
    except categories.DomainError as exc:
        return await _refused(request, repo, exc)
    raise _back(request, "merge-h")
