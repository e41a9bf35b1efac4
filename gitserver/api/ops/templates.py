"""Approval rule template operations: the CodeCommit JSON around `gitserver.pulls.templates`.

Authorization follows the Service Authorization Reference: a template is not a resource
of its own, so the template's own operations are checked on `*` (AWS's policies grant
them with `Resource: "*"`), and the operations that touch a repository's associations
are checked on that repository (a policy naming only `*` still allows them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gitserver.access import Target
from gitserver.api.errors import ApiError
from gitserver.api.ops.paging import page
from gitserver.api.ops.pulls import max_results
from gitserver.api.registry import (
    Call,
    Operation,
    Params,
    Result,
    on_any,
    on_repositories,
    on_repository,
)
from gitserver.pulls.templates import BatchResult, Templates, TemplateView
from gitserver.store.repositories import Endpoints

MAX_BATCH = 25


def service(call: Call) -> Templates:
    templates = call.services.templates
    if templates is None:
        raise ApiError("InternalFailure", "approval rule templates are not configured", 500)
    return templates


def template_json(template: TemplateView) -> dict[str, Any]:
    return {
        "approvalRuleTemplateId": template.id,
        "approvalRuleTemplateName": template.name,
        "approvalRuleTemplateDescription": template.description,
        "approvalRuleTemplateContent": template.content,
        "ruleContentSha256": template.content_sha256,
        "lastModifiedDate": template.updated_at,
        "creationDate": template.created_at,
        "lastModifiedUser": template.last_modified_user,
    }


def _names(params: Params, names: list[str], member: str, scope: str) -> Result:
    chunk, token = page(names, params.get("nextToken"), max_results(params), scope)
    result: Result = {member: list(chunk)}
    if token:
        result["nextToken"] = token
    return result


async def create_template(call: Call, params: Params) -> Result:
    template = await service(call).create(
        call.principal,
        params["approvalRuleTemplateName"],
        params["approvalRuleTemplateContent"],
        params.get("approvalRuleTemplateDescription", ""),
    )
    return {"approvalRuleTemplate": template_json(template)}


async def get_template(call: Call, params: Params) -> Result:
    template = await service(call).get(params["approvalRuleTemplateName"])
    return {"approvalRuleTemplate": template_json(template)}


async def list_templates(call: Call, params: Params) -> Result:
    names = await service(call).names()
    return _names(params, names, "approvalRuleTemplateNames", "templates")


async def delete_template(call: Call, params: Params) -> Result:
    template_id = await service(call).delete(params["approvalRuleTemplateName"])
    return {"approvalRuleTemplateId": template_id}


async def update_name(call: Call, params: Params) -> Result:
    template = await service(call).rename(
        call.principal,
        params["oldApprovalRuleTemplateName"],
        params["newApprovalRuleTemplateName"],
    )
    return {"approvalRuleTemplate": template_json(template)}


async def update_description(call: Call, params: Params) -> Result:
    template = await service(call).describe(
        call.principal,
        params["approvalRuleTemplateName"],
        params["approvalRuleTemplateDescription"],
    )
    return {"approvalRuleTemplate": template_json(template)}


async def update_content(call: Call, params: Params) -> Result:
    template = await service(call).update_content(
        call.principal,
        params["approvalRuleTemplateName"],
        params["newRuleContent"],
        params.get("existingRuleContentSha256"),
    )
    return {"approvalRuleTemplate": template_json(template)}


async def associate(call: Call, params: Params) -> Result:
    await service(call).associate(params["approvalRuleTemplateName"], params["repositoryName"])
    return {}


async def disassociate(call: Call, params: Params) -> Result:
    await service(call).disassociate(params["approvalRuleTemplateName"], params["repositoryName"])
    return {}


def on_batch(endpoints: Endpoints, params: Params) -> Sequence[Target]:
    """Every named repository (an empty list names none, so it is refused here)."""
    if not params.get("repositoryNames"):
        raise ApiError("RepositoryNamesRequiredException", "repositoryNames is required")
    return on_repositories(endpoints, params)


def _batch_names(params: Params) -> list[str]:
    names = list(params["repositoryNames"])
    if len(names) > MAX_BATCH:
        raise ApiError(
            "MaximumRepositoryNamesExceededException", f"At most {MAX_BATCH} names per call"
        )
    return names


def _batch_json(result: BatchResult, member: str) -> Result:
    return {
        member: list(result.done),
        "errors": [
            {
                "repositoryName": e.repository_name,
                "errorCode": e.error_code,
                "errorMessage": e.error_message,
            }
            for e in result.errors
        ],
    }


async def batch_associate(call: Call, params: Params) -> Result:
    names = _batch_names(params)
    result = await service(call).batch_associate(params["approvalRuleTemplateName"], names)
    return _batch_json(result, "associatedRepositoryNames")


async def batch_disassociate(call: Call, params: Params) -> Result:
    names = _batch_names(params)
    result = await service(call).batch_disassociate(params["approvalRuleTemplateName"], names)
    return _batch_json(result, "disassociatedRepositoryNames")


async def list_for_repository(call: Call, params: Params) -> Result:
    names = await service(call).for_repository(params["repositoryName"])
    return _names(params, names, "approvalRuleTemplateNames", "repoTemplates")


async def list_repositories(call: Call, params: Params) -> Result:
    names = await service(call).repositories(params["approvalRuleTemplateName"])
    return _names(params, names, "repositoryNames", "templateRepos")


OPERATIONS = [
    Operation("CreateApprovalRuleTemplate", create_template, on_any),
    Operation("GetApprovalRuleTemplate", get_template, on_any),
    Operation("ListApprovalRuleTemplates", list_templates, on_any),
    Operation("DeleteApprovalRuleTemplate", delete_template, on_any),
    Operation("UpdateApprovalRuleTemplateName", update_name, on_any),
    Operation("UpdateApprovalRuleTemplateDescription", update_description, on_any),
    Operation("UpdateApprovalRuleTemplateContent", update_content, on_any),
    Operation("ListRepositoriesForApprovalRuleTemplate", list_repositories, on_any),
    Operation("AssociateApprovalRuleTemplateWithRepository", associate, on_repository),
    Operation("DisassociateApprovalRuleTemplateFromRepository", disassociate, on_repository),
    Operation("BatchAssociateApprovalRuleTemplateWithRepositories", batch_associate, on_batch),
    Operation(
        "BatchDisassociateApprovalRuleTemplateFromRepositories", batch_disassociate, on_batch
    ),
    Operation(
        "ListAssociatedApprovalRuleTemplatesForRepository", list_for_repository, on_repository
    ),
]
