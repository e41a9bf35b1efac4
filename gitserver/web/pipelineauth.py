"""How a pipeline page or form is authorized: the API's `codepipeline:*` action on the
pipeline's ARN (`arn:aws:codepipeline:REGION:ACCOUNT:NAME`), ListPipelines on `*`.

Someone who may not read a pipeline gets the "not found" page a missing one gets; a
reader who may not take an action gets 403 for it (the page showed them no control).
"""

from __future__ import annotations

from aiohttp import web

from auth.actions import Action
from gitserver.access import AccessDenied, Target
from gitserver.pipelines.service import pipeline_arn
from gitserver.web.context import deps_of, viewer_of


def arn(request: web.Request, name: str) -> str:
    endpoints = deps_of(request).endpoints
    return pipeline_arn(endpoints.region, endpoints.account_id, name)


def pipeline_name(request: web.Request) -> str:
    return request.match_info["pipeline"]


async def reading(request: web.Request, action: Action, *more: Action) -> str:
    """The address's pipeline name once `action` (and each of `more`) on it is allowed.

    Raises:
        AccessDenied: shown as the "not found" page.
    """
    name = pipeline_name(request)
    viewer = viewer_of(request)
    access = deps_of(request).access
    await access.authorize(
        viewer.principal, (action, *more), [Target(arn(request, name))], viewer.info
    )
    return name


async def changing(request: web.Request, action: Action) -> str:
    """`reading` for a form: a denial is 403 for a reader of the pipeline (nothing
    changed), "not found" for anyone else."""
    try:
        return await reading(request, action)
    except AccessDenied:
        await reading(request, Action.CODEPIPELINE_GET_PIPELINE)
        raise web.HTTPForbidden(
            text="Your policies do not allow this action on this pipeline."
        ) from None


def may(request: web.Request, action: Action, name: str) -> bool:
    """Whether to offer a control or a part: a preview (not audited)."""
    viewer = viewer_of(request)
    access = deps_of(request).access
    decision = access.preview(viewer.principal, action, Target(arn(request, name)), viewer.info)
    return decision.allowed


async def optional(request: web.Request, action: Action, name: str) -> bool:
    """Whether a page may include a part that needs `action`: previewed first (no denial
    recorded for a part the viewer may not see), then decided and audited."""
    if not may(request, action, name):
        return False
    await reading(request, action)
    return True


async def listing(request: web.Request) -> None:
    """ListPipelines, decided on `*` as the API does.

    Raises:
        AccessDenied: a 403 page (as the repository list's ListRepositories).
    """
    viewer = viewer_of(request)
    access = deps_of(request).access
    try:
        await access.authorize(
            viewer.principal, Action.CODEPIPELINE_LIST_PIPELINES, [Target("*")], viewer.info
        )
    except AccessDenied:
        raise web.HTTPForbidden(text="Your policies do not allow listing pipelines.") from None


def may_list(request: web.Request) -> bool:
    """Whether ListPipelines is allowed (a preview: the repository's Pipelines page)."""
    viewer = viewer_of(request)
    access = deps_of(request).access
    decision = access.preview(
        viewer.principal, Action.CODEPIPELINE_LIST_PIPELINES, Target("*"), viewer.info
    )
    return decision.allowed
