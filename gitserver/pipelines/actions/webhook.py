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
from triggers.errors import HostNotAllowed
from triggers.signing import signature_headers

TIMEOUT = 30.0
HINT = (
    "if it is meant, add it to webhook_allowed_hosts (--webhook-allowed-hosts) of the "
    "runners, restart them, then retry the stage"
)


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
    # A refusal (the SSRF guard, a URL the client cannot use) sent nothing: say so. The
    # guard's advice ends in a delivery's redelivery; here it is a retry of the stage.
    if reason.endswith(f"; {HostNotAllowed.HINT}"):
        reason = f"{reason.removesuffix(HostNotAllowed.HINT)}{HINT}"
    verdict = "Webhook not sent" if outcome.refused else "Webhook failed"
    job.log(f"{verdict}: {reason}")
    return Outcome(ActionStatus.FAILED, f"{verdict}: {reason}"[:1000])
