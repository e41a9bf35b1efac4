"""Who asked and from where: the request facts every front end hands the authorizer."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from auth.principal import Principal


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Where a request came from, for policy conditions and the audit log."""

    source_ip: str
    secure: bool
    transport: str  # http, https, ssh, api
    user_agent: str = ""
    # Ties the audit records of one request together (a push makes several decisions).
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def authz_context(
    principal: Principal,
    request: RequestInfo,
    region: str,
    resource_tags: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """The global condition keys of one request (AWS's `aws:*` keys and ours)."""
    now = datetime.now(UTC)
    context: dict[str, object] = {
        "aws:username": principal.name,
        "aws:userid": principal.user_id,
        "aws:SourceIp": request.source_ip,
        "aws:SecureTransport": request.secure,
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": int(now.timestamp()),
        "aws:RequestedRegion": region,
        # Not AWS keys: they let the audit record say which front end and client asked.
        "gitserver:Transport": request.transport,
        "gitserver:UserAgent": request.user_agent,
        "gitserver:RequestId": request.request_id,
    }
    for key, value in (resource_tags or {}).items():
        context[f"aws:ResourceTag/{key}"] = value
    return context
