"""Approval operations: states, overrides, evaluation and a pull request's approval rules."""

from __future__ import annotations

from typing import Any

from gitserver.api.ops.pulls import approval_rule_json, on_pull_request
from gitserver.api.registry import Call, Operation, Params, Result, configured, on_all_repositories
from gitserver.pulls.approvals import Approvals


def service(call: Call) -> Approvals:
    return configured(call.services.approvals, "approvals")


async def update_approval_state(call: Call, params: Params) -> Result:
    await service(call).set_state(
        call.principal, params["pullRequestId"], params["revisionId"], params["approvalState"]
    )
    return {}


async def get_approval_states(call: Call, params: Params) -> Result:
    approvals = await service(call).states(params["pullRequestId"], params["revisionId"])
    return {"approvals": [{"userArn": a.user_arn, "approvalState": a.state} for a in approvals]}


async def evaluate_rules(call: Call, params: Params) -> Result:
    result = await service(call).evaluate(params["pullRequestId"], params["revisionId"])
    return {
        "evaluation": {
            "approved": result.approved,
            "overridden": result.overridden,
            "approvalRulesSatisfied": list(result.satisfied),
            "approvalRulesNotSatisfied": list(result.not_satisfied),
        }
    }


async def override_rules(call: Call, params: Params) -> Result:
    await service(call).override(
        call.principal, params["pullRequestId"], params["revisionId"], params["overrideStatus"]
    )
    return {}


async def get_override_state(call: Call, params: Params) -> Result:
    state = await service(call).override_state(params["pullRequestId"], params["revisionId"])
    result: dict[str, Any] = {"overridden": state.overridden}
    if state.overrider:
        result["overrider"] = state.overrider
    return result


async def create_rule(call: Call, params: Params) -> Result:
    rule = await service(call).create_rule(
        call.principal,
        params["pullRequestId"],
        params["approvalRuleName"],
        params["approvalRuleContent"],
    )
    return {"approvalRule": approval_rule_json(rule)}


async def update_rule(call: Call, params: Params) -> Result:
    rule = await service(call).update_rule(
        call.principal,
        params["pullRequestId"],
        params["approvalRuleName"],
        params["newRuleContent"],
        params.get("existingRuleContentSha256"),
    )
    return {"approvalRule": approval_rule_json(rule)}


async def delete_rule(call: Call, params: Params) -> Result:
    rule_id = await service(call).delete_rule(
        call.principal, params["pullRequestId"], params["approvalRuleName"]
    )
    return {"approvalRuleId": rule_id}


def _on_pr(name: str, handler: Any) -> Operation:
    return Operation(name, handler, on_all_repositories, on_pull_request)


OPERATIONS = [
    _on_pr("UpdatePullRequestApprovalState", update_approval_state),
    _on_pr("GetPullRequestApprovalStates", get_approval_states),
    _on_pr("EvaluatePullRequestApprovalRules", evaluate_rules),
    _on_pr("OverridePullRequestApprovalRules", override_rules),
    _on_pr("GetPullRequestOverrideState", get_override_state),
    _on_pr("CreatePullRequestApprovalRule", create_rule),
    _on_pr("UpdatePullRequestApprovalRuleContent", update_rule),
    _on_pr("DeletePullRequestApprovalRule", delete_rule),
]
