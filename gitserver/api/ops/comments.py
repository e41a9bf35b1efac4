"""Comment and reaction operations: the CodeCommit JSON around `gitserver.pulls.comments`
and `gitserver.pulls.reactions` (no rule lives here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gitserver.access import Target
from gitserver.api.errors import ApiError
from gitserver.api.ops.paging import page
from gitserver.api.ops.pulls import max_results, on_pull_request
from gitserver.api.registry import (
    ApiServices,
    Call,
    Operation,
    Params,
    Result,
    on_all_repositories,
    on_repository,
)
from gitserver.pulls.comment_model import (
    AFTER,
    CommentThread,
    CommentView,
    Location,
    Place,
    ReactionUsers,
)
from gitserver.pulls.comments import Comments
from gitserver.pulls.reactions import MAX_RESULTS as MAX_REACTIONS
from gitserver.pulls.reactions import Reactions

# GetCommentsFor*: 100 by default, up to 500 (the CodeCommit API reference).
MAX_THREADS = 500


def comments(call: Call) -> Comments:
    found = call.services.comments
    if found is None:  # a server always has one; a bare ApiServices in a unit test may not
        raise ApiError("InternalFailure", "comments are not configured", 500)
    return found


def reactions(call: Call) -> Reactions:
    found = call.services.reactions
    if found is None:
        raise ApiError("InternalFailure", "reactions are not configured", 500)
    return found


def comment_json(comment: CommentView) -> dict[str, Any]:
    result: dict[str, Any] = {
        "commentId": comment.id,
        "content": comment.content,
        "creationDate": comment.created_at,
        "lastModifiedDate": comment.updated_at,
        "authorArn": comment.author_arn,
        "deleted": comment.deleted,
        "callerReactions": list(comment.caller_reactions),
        "reactionCounts": dict(comment.reaction_counts),
    }
    if comment.in_reply_to:
        result["inReplyTo"] = comment.in_reply_to
    if comment.client_request_token is not None:
        result["clientRequestToken"] = comment.client_request_token
    return result


def location_json(location: Location) -> dict[str, Any]:
    result: dict[str, Any] = {
        "filePath": location.file_path,
        "relativeFileVersion": location.relative_file_version,
    }
    if location.file_position is not None:
        result["filePosition"] = location.file_position
    return result


def place_json(place: Place) -> dict[str, Any]:
    """The members every comment answer and thread share."""
    result: dict[str, Any] = {"repositoryName": place.repository_name}
    if place.pull_request_id is not None:
        result["pullRequestId"] = place.pull_request_id
    if place.before_commit:
        result["beforeCommitId"] = place.before_commit
    result["afterCommitId"] = place.after_commit
    if place.before_blob:
        result["beforeBlobId"] = place.before_blob
    if place.after_blob:
        result["afterBlobId"] = place.after_blob
    if place.location is not None:
        result["location"] = location_json(place.location)
    return result


def thread_json(thread: CommentThread) -> dict[str, Any]:
    result = place_json(thread.place)
    result["comments"] = [comment_json(c) for c in thread.comments]
    return result


def reaction_json(found: ReactionUsers) -> dict[str, Any]:
    return {
        "reaction": {
            "emoji": found.reaction.emoji,
            "shortCode": found.reaction.short_code,
            "unicode": found.reaction.unicode,
        },
        "reactionUsers": list(found.users),
        "reactionsFromDeletedUsersCount": found.from_deleted_users,
    }


def _location(params: Params) -> Location | None:
    raw = params.get("location")
    if raw is None:
        return None
    if not raw.get("filePath"):
        raise ApiError("PathRequiredException", "location needs a filePath")
    return Location(
        raw["filePath"], raw.get("filePosition"), raw.get("relativeFileVersion") or AFTER
    )


def _posted(comment: CommentView) -> Result:
    result = place_json(comment.place)
    result["comment"] = comment_json(comment)
    return result


# -- access-check targets --------------------------------------------------------------


async def on_comment(services: ApiServices, params: Params) -> Sequence[Target]:
    """The comment's repository; an unknown or malformed id: every repository."""
    found = services.comments
    name = await found.repository_of(str(params.get(_id_member(params), ""))) if found else None
    if name is None:
        return on_all_repositories(services.endpoints, params)
    return [Target(services.endpoints.arn(name), name)]


def _id_member(params: Params) -> str:
    return "inReplyTo" if "inReplyTo" in params else "commentId"


# -- operations ------------------------------------------------------------------------


async def post_comment_for_pull_request(call: Call, params: Params) -> Result:
    comment = await comments(call).post_for_pull_request(
        call.principal,
        pull_request_id=params["pullRequestId"],
        repository_name=params["repositoryName"],
        before_commit_id=params["beforeCommitId"],
        after_commit_id=params["afterCommitId"],
        content=params["content"],
        location=_location(params),
        client_request_token=params.get("clientRequestToken"),
    )
    return _posted(comment)


async def post_comment_for_compared_commit(call: Call, params: Params) -> Result:
    comment = await comments(call).post_for_compared_commit(
        call.principal,
        repository_name=params["repositoryName"],
        before_commit_id=params.get("beforeCommitId"),
        after_commit_id=params["afterCommitId"],
        content=params["content"],
        location=_location(params),
        client_request_token=params.get("clientRequestToken"),
    )
    return _posted(comment)


async def post_comment_reply(call: Call, params: Params) -> Result:
    comment = await comments(call).post_reply(
        call.principal,
        in_reply_to=params["inReplyTo"],
        content=params["content"],
        client_request_token=params.get("clientRequestToken"),
    )
    return {"comment": comment_json(comment)}


async def get_comment(call: Call, params: Params) -> Result:
    return {"comment": comment_json(await comments(call).get(call.principal, params["commentId"]))}


async def get_comments_for_pull_request(call: Call, params: Params) -> Result:
    threads = await comments(call).for_pull_request(
        call.principal,
        params["pullRequestId"],
        repository_name=params.get("repositoryName"),
        before_commit_id=params.get("beforeCommitId"),
        after_commit_id=params.get("afterCommitId"),
    )
    size = max_results(params, ceiling=MAX_THREADS)
    chunk, token = page(threads, params.get("nextToken"), size, "prComments")
    result: Result = {"commentsForPullRequestData": [thread_json(t) for t in chunk]}
    if token:
        result["nextToken"] = token
    return result


async def get_comments_for_compared_commit(call: Call, params: Params) -> Result:
    threads = await comments(call).for_compared_commit(
        call.principal,
        params["repositoryName"],
        before_commit_id=params.get("beforeCommitId"),
        after_commit_id=params["afterCommitId"],
    )
    size = max_results(params, ceiling=MAX_THREADS)
    chunk, token = page(threads, params.get("nextToken"), size, "commitComments")
    result: Result = {"commentsForComparedCommitData": [thread_json(t) for t in chunk]}
    if token:
        result["nextToken"] = token
    return result


async def update_comment(call: Call, params: Params) -> Result:
    comment = await comments(call).update(call.principal, params["commentId"], params["content"])
    return {"comment": comment_json(comment)}


async def delete_comment_content(call: Call, params: Params) -> Result:
    comment = await comments(call).delete_content(call.principal, params["commentId"])
    return {"comment": comment_json(comment)}


async def put_comment_reaction(call: Call, params: Params) -> Result:
    await reactions(call).put(call.principal, params["commentId"], params.get("reactionValue"))
    return {}


async def get_comment_reactions(call: Call, params: Params) -> Result:
    found = await reactions(call).get(params["commentId"], user_arn=params.get("reactionUserArn"))
    size = max_results(params, MAX_REACTIONS, MAX_REACTIONS)
    chunk, token = page(found, params.get("nextToken"), size, "reactions")
    result: Result = {"reactionsForComment": [reaction_json(r) for r in chunk]}
    if token:
        result["nextToken"] = token
    return result


def _on_comment(name: str, handler: Any) -> Operation:
    return Operation(name, handler, on_all_repositories, on_comment)


OPERATIONS = [
    Operation(
        "PostCommentForPullRequest",
        post_comment_for_pull_request,
        on_all_repositories,
        on_pull_request,
    ),
    Operation("PostCommentForComparedCommit", post_comment_for_compared_commit, on_repository),
    _on_comment("PostCommentReply", post_comment_reply),
    _on_comment("GetComment", get_comment),
    Operation(
        "GetCommentsForPullRequest",
        get_comments_for_pull_request,
        on_all_repositories,
        on_pull_request,
    ),
    Operation("GetCommentsForComparedCommit", get_comments_for_compared_commit, on_repository),
    _on_comment("UpdateComment", update_comment),
    _on_comment("DeleteCommentContent", delete_comment_content),
    _on_comment("PutCommentReaction", put_comment_reaction),
    _on_comment("GetCommentReactions", get_comment_reactions),
]
