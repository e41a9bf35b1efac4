"""What a notification says of approvals, overrides and comments (their operations land
separately; the events are built by details.py's builder)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from tests.unit.triggers.pr_events import BASE, context, event
from triggers.events import Event, EventType
from triggers.notifications import EVENT_TYPE_IDS, email, slack

PAGE = f"{BASE}/repositories/shop/pull-requests/7"


def _mail(item: Event, detail: str) -> dict[str, str]:
    full = dataclasses.replace(context(), subscription={"detailType": detail})
    payload = asyncio.run(email(item, full))
    assert payload is not None
    return payload.body


@pytest.mark.parametrize(
    ("kind", "extra", "said"),
    [
        (EventType.PULL_REQUEST_APPROVAL_STATE_CHANGED, {"approvalStatus": "APPROVE"}, "approved"),
        (
            EventType.PULL_REQUEST_APPROVAL_STATE_CHANGED,
            {"approvalStatus": "REVOKE"},
            "revoked approval of",
        ),
        (
            EventType.PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN,
            {"overrideStatus": "OVERRIDE"},
            "overrode the approval rules of",
        ),
        (EventType.PULL_REQUEST_MERGE_STATUS_UPDATED, {}, "merged"),
    ],
)
def test_reviews_are_told_in_one_sentence(
    kind: EventType, extra: dict[str, str], said: str
) -> None:
    body = _mail(event(kind, "bob", **extra), "BASIC")
    assert body["subject"] == f'[gitserver] bob {said} pull request 7 "Add the cart" in shop'
    assert PAGE in body["text"]


def test_a_comment_links_to_itself_and_full_detail_quotes_it() -> None:
    comment = event(
        EventType.COMMENT_ON_PULL_REQUEST_CREATED,
        "bob",
        commentId="c-1",
        inReplyTo="",
        content="Why a list here?",
        beforeCommitId="b" * 40,
        afterCommitId="a" * 40,
        filePath="cart.py",
        filePosition=4,
        relativeFileVersion="AFTER",
    )
    basic, full = _mail(comment, "BASIC"), _mail(comment, "FULL")
    assert basic["subject"] == '[gitserver] bob commented on pull request 7 "Add the cart" in shop'
    assert f"{PAGE}#comment-c-1" in basic["text"]
    assert "Why a list here?" not in basic["text"]
    assert "Why a list here?" in full["text"] and "cart.py" in full["text"]
    chat = asyncio.run(slack(comment, context()))
    assert chat is not None and chat.body["text"] == basic["subject"].removeprefix("[gitserver] ")


def test_comment_ids_hear_edits_too() -> None:
    assert EVENT_TYPE_IDS["codecommit-repository-comments-on-pull-requests"] == (
        EventType.COMMENT_ON_PULL_REQUEST_CREATED,
        EventType.COMMENT_ON_PULL_REQUEST_UPDATED,
    )
