"""Invoke `Webhook`: POST the execution's particulars as JSON; a 2xx answer succeeds.

Sent through the webhook machinery's sender: the SSRF guard applies (loopback and
private targets only where `webhook_allowed_hosts` allows them), no redirects. With
`Secret`, the body is signed as webhook deliveries are (`X-GitServer-Signature-256`).
"""

from __future__ import annotations

import json
import time

from gitserver.pipelines.actions.context import Job, RunnerServices
from gitserver.pipelines.jobs import Outcome
from gitserver.pipelines.states import ActionStatus
from triggers.signing import signature_headers

TIMEOUT = 30.0


async def run_webhook(services: RunnerServices, job: Job) -> Outcome:
    """POST to the action's Url."""
    config, p = job.configuration, job.payload
    body = json.dumps(
        {
            "pipeline": p["pipeline"],
            "executionId": p["executionId"],
            "stage": p["stage"],
            "action": p["action"],
            "source": {k: v for k, v in job.source.items() if k != "webhook"},
            "variables": p.get("variables") or {},
            "trigger": p.get("trigger") or {},
        },
        separators=(",", ":"),
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitServer-Event": "pipelineActionInvoke",
        "X-GitServer-Delivery": job.id,
    }
    if config.get("Secret"):
        headers |= signature_headers(config["Secret"], job.id, int(time.time()), body, github=False)
    job.log(f"POST {config['Url']}")
    outcome = await services.sender.post(config["Url"], body, headers, TIMEOUT)
    if outcome.ok:
        job.log(f"Answered {outcome.status}")
        return Outcome(ActionStatus.SUCCEEDED, f"The webhook answered {outcome.status}")
    reason = outcome.error or f"the webhook answered {outcome.status}"
    job.log(f"Failed: {reason}")
    return Outcome(ActionStatus.FAILED, f"Webhook failed: {reason}"[:1000])
