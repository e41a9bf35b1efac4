"""Notification rules (CodeStar Notifications' shape): a resource (a repository or a
pipeline), event type ids, a detail level, and targets — email over SMTP, or a
Slack-compatible chat webhook.

Each target is a subscription (kind `notification`, format `email` or `slack`) sharing
the rule's id, so notifications ride the same queue, retries and log as webhooks.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from html import escape
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gitserver.db import Subscription
from gitserver.weburls import comment_anchor, commit_page, pull_request_page, repository_page
from triggers import pipeline_notices
from triggers.errors import InvalidSubscription, SubscriptionNotFound, TargetRefused
from triggers.eventids import PIPELINE_EVENT_IDS, REPOSITORY_EVENT_IDS, event_types
from triggers.events import Event, EventType
from triggers.formats.context import Payload, PayloadContext
from triggers.outcome import Outcome
from triggers.ssrf import check_url

# A repository's CodeStar event type ids (`triggers/eventids.py` has a pipeline's too).
EVENT_TYPE_IDS = REPOSITORY_EVENT_IDS
DETAILS = ("BASIC", "FULL")
MAX_NAME = 64  # CodeStar Notifications' limit on a rule's name


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int = 25
    security: str = "none"  # none, starttls, tls
    username: str = ""
    password: str = ""
    sender: str = "gitserver@localhost"
    timeout: float = 30.0


async def create_rule(
    session: AsyncSession,
    *,
    name: str,
    repository_id: str | None,
    event_type_ids: Sequence[str],
    detail: str,
    emails: Sequence[str],
    chat_urls: Sequence[str],
    pipeline: str | None = None,
) -> str:
    """Store a rule on a repository (`repository_id`) or on a pipeline (`pipeline`, by
    name), with one subscription per target; returns the rule id.

    Raises:
        InvalidSubscription: a blank or long name, an event type id unknown or not of
            the rule's resource, a bad detail level or target.
    """
    if not name.strip() or len(name) > MAX_NAME:
        raise InvalidSubscription(f"a rule's name must be 1-{MAX_NAME} characters, not all blank")
    ids = PIPELINE_EVENT_IDS if pipeline is not None else REPOSITORY_EVENT_IDS
    unknown = [e for e in event_type_ids if e not in ids]
    if unknown or not event_type_ids:
        resource = "a pipeline" if pipeline is not None else "a repository"
        raise InvalidSubscription(
            f"event type ids of {resource} must be among: " + ", ".join(sorted(ids))
        )
    if detail not in DETAILS:
        raise InvalidSubscription("detail must be BASIC or FULL")
    if not emails and not chat_urls:
        raise InvalidSubscription(
            "a rule needs at least one target: an email address or a chat webhook URL"
        )
    if any("@" not in e for e in emails):
        raise InvalidSubscription("an email target must be an address")
    for url in chat_urls:
        try:
            check_url(url)
        except TargetRefused as exc:
            raise InvalidSubscription(f"chat target: {exc}") from None
    rule_id = str(uuid.uuid4())
    targets = [("email", f"mailto:{e}") for e in emails] + [("slack", u) for u in chat_urls]
    for kind, url in targets:
        session.add(
            Subscription(
                id=str(uuid.uuid4()),
                kind="notification",
                repository_id=None if pipeline is not None else repository_id,
                name=name,
                url=url,
                secret_ciphertext=b"",
                events=event_types(event_type_ids),
                branches=[],
                format=kind,
                active=True,
                timeout=10.0,
                config={
                    "ruleId": rule_id,
                    "detailType": detail,
                    "eventTypeIds": list(event_type_ids),
                    **({"pipeline": pipeline} if pipeline is not None else {}),
                },
            )
        )
    return rule_id


async def list_rules(
    session: AsyncSession, repository_id: str | None = None
) -> list[dict[str, Any]]:
    """Every rule, or with `repository_id` only that repository's (a front end that
    authorized one repository sees no other's rules)."""
    query = select(Subscription).where(Subscription.kind == "notification")
    if repository_id is not None:
        query = query.where(Subscription.repository_id == repository_id)
    rows = await session.scalars(query.order_by(Subscription.created_at))
    rules: dict[str, dict[str, Any]] = {}
    for row in rows:
        rule = rules.setdefault(
            row.config["ruleId"],
            {
                "ruleId": row.config["ruleId"],
                "name": row.name,
                "repositoryId": row.repository_id,
                "pipeline": row.config.get("pipeline"),
                "eventTypeIds": row.config["eventTypeIds"],
                "detailType": row.config["detailType"],
                "targets": [],
            },
        )
        rule["targets"].append(
            {
                "type": "email" if row.format == "email" else "chat",
                "address": row.url.removeprefix("mailto:"),
            }
        )
    return list(rules.values())


async def delete_rule(
    session: AsyncSession, rule_id: str, repository_id: str | None = None
) -> None:
    """Delete a rule's targets; with `repository_id`, only if the rule is that
    repository's (another's id is "not found", as `get_subscription`).

    Raises:
        SubscriptionNotFound: no such rule (here).
    """
    query = select(Subscription).where(Subscription.kind == "notification")
    if repository_id is not None:
        query = query.where(Subscription.repository_id == repository_id)
    rows = list(await session.scalars(query))
    ids = [r.id for r in rows if r.config.get("ruleId") == rule_id]
    if not ids:
        raise SubscriptionNotFound(f"no notification rule with id {rule_id}")
    await session.execute(delete(Subscription).where(Subscription.id.in_(ids)))


# --- what a notification says ------------------------------------------------------------


def summary(event: Event) -> str:
    """One sentence: what happened, where, who did it."""
    if pipeline_notices.is_pipeline_event(event):
        return pipeline_notices.summary(event)
    detail = event.detail
    if detail.get("pullRequestId"):
        return _pull_request_summary(event)
    ref = detail.get("referenceName") or detail.get("referenceFullName") or ""
    kind = detail.get("referenceType", "reference")
    pushed = "force-pushed" if detail.get("forced") else "pushed to"
    what = {
        EventType.REFERENCE_CREATED: f"created {kind} {ref}",
        EventType.REFERENCE_DELETED: f"deleted {kind} {ref}",
        EventType.REFERENCE_UPDATED: f"{pushed} {kind} {ref}",
        EventType.COMMENT_ON_COMMIT_CREATED: f"commented on commit {_short(detail)}",
        EventType.COMMENT_ON_COMMIT_UPDATED: f"edited a comment on commit {_short(detail)}",
    }.get(event.type, str(event.type))
    return f"{event.actor} {what} in {event.repository}"


def _short(detail: dict[str, Any]) -> str:
    return str(detail.get("afterCommitId", ""))[:12]


def _pull_request_summary(event: Event) -> str:
    detail = event.detail
    number = detail["pullRequestId"]
    approval = "approved" if detail.get("approvalStatus") == "APPROVE" else "revoked approval of"
    override = (
        "overrode the approval rules of"
        if detail.get("overrideStatus") == "OVERRIDE"
        else "revoked the approval-rule override of"
    )
    rule = detail.get("approvalRuleName", "")
    status = "closed" if detail.get("pullRequestStatus") == "CLOSED" else "reopened"
    what = {
        EventType.PULL_REQUEST_CREATED: "opened",
        EventType.PULL_REQUEST_SOURCE_BRANCH_UPDATED: "pushed new commits to",
        EventType.PULL_REQUEST_STATUS_CHANGED: status,
        EventType.PULL_REQUEST_MERGE_STATUS_UPDATED: "merged",
        EventType.PULL_REQUEST_EDITED: "edited",
        EventType.PULL_REQUEST_APPROVAL_STATE_CHANGED: approval,
        EventType.PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN: override,
        EventType.PULL_REQUEST_APPROVAL_RULE_CREATED: f"added approval rule {rule} to",
        EventType.PULL_REQUEST_APPROVAL_RULE_UPDATED: f"changed approval rule {rule} of",
        EventType.PULL_REQUEST_APPROVAL_RULE_DELETED: f"deleted approval rule {rule} of",
        EventType.COMMENT_ON_PULL_REQUEST_CREATED: "commented on",
        EventType.COMMENT_ON_PULL_REQUEST_UPDATED: (
            "deleted a comment on" if detail.get("deleted") else "edited a comment on"
        ),
    }.get(event.type, str(event.type))
    title = detail.get("title", "")
    return f'{event.actor} {what} pull request {number} "{title}" in {event.repository}'


def _link(event: Event, context: PayloadContext) -> str:
    if pipeline_notices.is_pipeline_event(event):
        return pipeline_notices.link(event, context.base_url)
    repository = str(event.repository)
    detail = event.detail
    if detail.get("pullRequestId"):
        page = pull_request_page(context.base_url, repository, detail["pullRequestId"])
        if "commentId" in detail:
            return f"{page}#{comment_anchor(detail['commentId'])}"
        return page
    if "commentId" in detail and detail.get("afterCommitId"):
        return commit_page(context.base_url, repository, detail["afterCommitId"])
    return repository_page(context.base_url, repository)


# What FULL detail adds, in this order, when the event has it.
_FULL_FACTS = (
    "referenceFullName",
    "commitId",
    "oldCommitId",
    "forced",
    "pullRequestId",
    "title",
    "pullRequestStatus",
    "sourceReference",
    "destinationReference",
    "sourceCommit",
    "destinationCommit",
    "beforeCommitId",
    "afterCommitId",
    "mergeOption",
    "mergeCommitId",
    "approvalStatus",
    "overrideStatus",
    "approvalRuleName",
    "filePath",
    "filePosition",
    "content",
)


def _facts(event: Event, context: PayloadContext) -> list[tuple[str, str]]:
    if pipeline_notices.is_pipeline_event(event):
        return pipeline_notices.facts(event, context.subscription.get("detailType") == "FULL")
    facts = [
        ("Repository", str(event.repository)),
        ("By", event.actor),
        ("When", event.envelope()["time"]),
    ]
    if context.subscription.get("detailType") == "FULL":
        for key in _FULL_FACTS:
            if event.detail.get(key) not in (None, ""):
                facts.append((key, str(event.detail[key])))
    return facts


async def slack(event: Event, context: PayloadContext) -> Payload | None:
    text = summary(event)
    facts = "\n".join(f"*{k}:* {v}" for k, v in _facts(event, context))
    body = {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*\n{facts}"}},
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"<{_link(event, context)}|Open in gitserver>"}
                ],
            },
        ],
    }
    return Payload(body, str(event.type))


async def email(event: Event, context: PayloadContext) -> Payload | None:
    text = summary(event)
    facts = _facts(event, context)
    plain = "\n".join([text, "", *(f"{k}: {v}" for k, v in facts), "", _link(event, context)])
    rows = "".join(
        f"<tr><th align='left'>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts
    )
    html = (
        f"<p><strong>{escape(text)}</strong></p><table>{rows}</table>"
        f"<p><a href='{escape(_link(event, context))}'>Open in gitserver</a></p>"
    )
    subject = f"[gitserver] {text}"
    return Payload({"subject": subject, "text": plain, "html": html}, str(event.type))


class EmailSender:
    """Sends a prepared email delivery over SMTP (in a thread: smtplib blocks)."""

    def __init__(self, settings: SmtpSettings | None) -> None:
        self.settings = settings

    def _send(self, to: str, body: dict[str, Any]) -> None:
        settings = self.settings
        assert settings is not None
        message = EmailMessage()
        message["From"] = settings.sender
        message["To"] = to
        message["Subject"] = body["subject"]
        message.set_content(body["text"])
        message.add_alternative(body["html"], subtype="html")
        context = ssl.create_default_context()
        if settings.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=context)
            if settings.username:
                client.login(settings.username, settings.password)
            client.send_message(message)

    async def __call__(self, to: str, body: dict[str, Any]) -> Outcome:
        started = time.monotonic()
        if self.settings is None or not self.settings.host:
            return Outcome(None, "", "no SMTP server configured (smtp_host)", 0, refused=True)
        try:
            await asyncio.to_thread(self._send, to, body)
        except (OSError, smtplib.SMTPException) as exc:
            elapsed = int((time.monotonic() - started) * 1000)
            permanent = (
                isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600
            )
            return Outcome(
                None, "", f"{type(exc).__name__}: {exc}"[:500], elapsed, refused=permanent
            )
        return Outcome(250, "accepted", "", int((time.monotonic() - started) * 1000))
