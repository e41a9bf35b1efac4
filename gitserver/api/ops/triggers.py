"""Repository triggers: PutRepositoryTriggers, GetRepositoryTriggers, TestRepositoryTriggers."""

from __future__ import annotations

import json

from gitserver.api.ops.content import repository_row
from gitserver.api.registry import Call, Operation, Params, Result, on_repository
from gitserver.delivery import repository_info
from gitserver.store.commits import CommitLog
from triggers import repotriggers
from triggers.events import Event, EventType
from triggers.formats import PayloadContext
from triggers.formats.codecommit import records


def _checked(call: Call, params: Params) -> list[repotriggers.Trigger]:
    return repotriggers.check(
        params["triggers"], call.services.endpoints.region, call.services.trigger_targets
    )


async def put_repository_triggers(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    triggers = _checked(call, params)
    async with call.services.db.session() as session:
        configuration = await repotriggers.put_triggers(session, repo.id, triggers)
    return {"configurationId": configuration}


async def get_repository_triggers(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    async with call.services.db.reader() as session:
        configuration, triggers = await repotriggers.get_triggers(session, repo.id)
    result: Result = {"triggers": [t.shape() for t in triggers]}
    if configuration:
        result["configurationId"] = configuration
    return result


async def test_repository_triggers(call: Call, params: Params) -> Result:
    """Send each trigger a `TriggerEventTest` record now, and say which ones took it."""
    repo = await repository_row(call, params)
    triggers = _checked(call, params)
    branch = repo.default_branch or "main"
    commit = await call.services.branches.tip(repo, branch) if repo.default_branch else None
    detail = {"referenceFullName": f"refs/heads/{branch}", "commitId": commit or "0" * 40}
    event = Event(EventType.REFERENCE_UPDATED, repo.name, call.actor, detail, repo.id)
    sender = call.services.sender
    assert sender is not None
    succeeded, failed = [], []
    for trigger in triggers:
        context = PayloadContext(
            base_url=call.services.endpoints.http_base,
            region=call.services.endpoints.region,
            account_id=call.services.endpoints.account_id,
            repository=repository_info(call.services.store, repo),
            commits=CommitLog(call.services.git, call.services.store),
            subscription={"name": trigger.name, "customData": trigger.custom_data},
        )
        body = json.dumps(records(event, context, test=True)).encode()
        outcome = await sender.post(
            trigger.url, body, {"Content-Type": "application/json"}, timeout=10.0
        )
        if outcome.ok:
            succeeded.append(trigger.name)
        else:
            reason = outcome.error or f"HTTP {outcome.status}"
            failed.append({"trigger": trigger.name, "failureMessage": reason})
    return {"successfulExecutions": succeeded, "failedExecutions": failed}


OPERATIONS = [
    Operation("PutRepositoryTriggers", put_repository_triggers, on_repository),
    Operation("GetRepositoryTriggers", get_repository_triggers, on_repository),
    Operation("TestRepositoryTriggers", test_repository_triggers, on_repository),
]
