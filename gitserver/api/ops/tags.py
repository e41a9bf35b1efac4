"""Tag operations on repositories (by ARN); the tags feed `aws:ResourceTag/*`."""

from __future__ import annotations

from gitserver.api.ops.paging import page
from gitserver.api.registry import Call, Operation, Params, Result, on_resource_arn
from gitserver.store import repositories as store


def _name(call: Call, params: Params) -> str:
    (target,) = on_resource_arn(call.services.endpoints, params)
    assert target.repository is not None
    return target.repository


async def tag_resource(call: Call, params: Params) -> Result:
    async with call.services.db.session() as session:
        await store.tag_repository(session, _name(call, params), params["tags"])
    return {}


async def untag_resource(call: Call, params: Params) -> Result:
    async with call.services.db.session() as session:
        await store.untag_repository(session, _name(call, params), params["tagKeys"])
    return {}


async def list_tags_for_resource(call: Call, params: Params) -> Result:
    async with call.services.db.reader() as session:
        tags = await store.list_tags(session, _name(call, params))
    keys, token = page(sorted(tags), params.get("nextToken"), call.services.page_size, "tags")
    result: Result = {"tags": {key: tags[key] for key in keys}}
    if token:
        result["nextToken"] = token
    return result


OPERATIONS = [
    Operation("TagResource", tag_resource, on_resource_arn),
    Operation("UntagResource", untag_resource, on_resource_arn),
    Operation("ListTagsForResource", list_tags_for_resource, on_resource_arn),
]
