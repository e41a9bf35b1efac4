"""Notification rules: a real SMTP server (aiosmtpd) and a chat receiver, real pushes."""

from __future__ import annotations

import time
from collections.abc import Callable
from email.message import Message
from pathlib import Path

import pytest

from tests.receivers import Inbox, Receiver
from tests.support import Git, Server

# Delivery, locking, ordering or crash recovery: SQL semantics decide the outcome.
pytestmark = pytest.mark.database


def _part(message: Message, kind: str) -> str:
    for part in message.walk():
        if part.get_content_type() == kind:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError(f"no {kind} part")


def test_email_and_chat_notifications(
    make_server: Callable[..., Server], git: Git, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    chat = Receiver().start()
    try:
        private = make_server(
            "--no-ssh",
            "--webhook-allowed-hosts",
            "127.0.0.1",
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            str(port),
            "--smtp-from",
            "git@example.com",
        )
        private.cli("repo", "create", "noisy")
        created = private.cli(
            "notification-rule",
            "create",
            "--repo",
            "noisy",
            "--name",
            "branch-changes",
            "--events",
            "codecommit-repository-branches-and-tags-created,"
            "codecommit-repository-branches-and-tags-updated",
            "--detail",
            "FULL",
            "--email",
            "team@example.com",
            "--chat-url",
            chat.url,
        )
        rules = private.cli("notification-rule", "list")["rules"]
        assert [r["ruleId"] for r in rules] == [created["ruleId"]]
        assert sorted(t["type"] for t in rules[0]["targets"]) == ["chat", "email"]

        work = git.init(tmp_path / "work")
        git.commit(work, "a.txt", "one\n")
        git("push", "-q", private.url("noisy"), "main", cwd=work)
        head = git.rev_parse(work, "HEAD")

        mail = inbox.wait_for(1)[0]
        assert mail["To"] == "team@example.com" and mail["From"] == "git@example.com"
        assert "admin created branch main in noisy" in mail["Subject"]
        text, html = _part(mail, "text/plain"), _part(mail, "text/html")
        assert head in text and "/repositories/noisy" in text  # FULL detail, and the link
        assert "<table>" in html and "admin created branch main in noisy" in html

        message = chat.wait_for(1)[0].json
        assert message["text"] == "admin created branch main in noisy"
        assert message["blocks"][0]["type"] == "section"

        with pytest.raises(AssertionError):
            private.cli(
                "notification-rule",
                "create",
                "--repo",
                "noisy",
                "--name",
                "x",
                "--events",
                "codecommit-repository-nonsense",
                "--email",
                "a@b.c",
            )
        private.cli("notification-rule", "delete", created["ruleId"])
        assert private.cli("notification-rule", "list")["rules"] == []
    finally:
        chat.stop()


PULL_REQUEST_EVENT_IDS = (
    "codecommit-repository-pull-request-created,"
    "codecommit-repository-pull-request-source-updated,"
    "codecommit-repository-pull-request-status-changed,"
    "codecommit-repository-pull-request-merged,"
    "codecommit-repository-comments-on-pull-requests,"
    "codecommit-repository-approvals-status-changed,"
    "codecommit-repository-approvals-rule-override"
)


@pytest.mark.parametrize("detail", ["BASIC", "FULL"])
def test_pull_request_notifications(
    make_server: Callable[..., Server],
    git: Git,
    tmp_path: Path,
    smtp: tuple[Inbox, int],
    detail: str,
) -> None:
    from tests.api_support import client_for

    inbox, port = smtp
    chat = Receiver().start()
    try:
        private = make_server(
            "--no-ssh",
            "--webhook-allowed-hosts",
            "127.0.0.1",
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            str(port),
        )
        private.cli("repo", "create", "reviewed")
        private.cli(
            "notification-rule",
            "create",
            "--repo",
            "reviewed",
            "--name",
            "reviews",
            "--events",
            PULL_REQUEST_EVENT_IDS,
            "--detail",
            detail,
            "--email",
            "team@example.com",
            "--chat-url",
            chat.url,
        )
        url = private.url("reviewed")
        work = git.init(tmp_path / "work")
        git.commit(work, "a.txt", "one\n")
        git("push", "-q", url, "main", cwd=work)
        git("checkout", "-q", "-b", "feature", cwd=work)
        git.commit(work, "b.txt", "two\n")
        git("push", "-q", url, "feature", cwd=work)
        cc = client_for(private, "reviewer", admin=True)
        number = cc.create_pull_request(
            title="Add b",
            targets=[{"repositoryName": "reviewed", "sourceReference": "feature"}],
        )["pullRequest"]["pullRequestId"]
        chat.wait_for(1)  # in order: the push comes after the opening
        git.commit(work, "b.txt", "three\n")
        git("push", "-q", url, "feature", cwd=work)
        head = git.rev_parse(work, "feature")
        chat.wait_for(2)
        cc.update_pull_request_status(pullRequestId=number, pullRequestStatus="CLOSED")

        texts = [r.json["text"] for r in chat.wait_for(3)]
        assert texts == [
            f'reviewer opened pull request {number} "Add b" in reviewed',
            f'admin pushed new commits to pull request {number} "Add b" in reviewed',
            f'reviewer closed pull request {number} "Add b" in reviewed',
        ]
        mails = inbox.wait_for(3)
        # A long Subject arrives folded over lines: unfold it as a mail reader does.
        subjects = [" ".join(str(m["Subject"]).split()) for m in mails]
        assert subjects == [f"[gitserver] {t}" for t in texts]
        page = f"{private.base_url}/repositories/reviewed/pull-requests/{number}"
        pushed = _part(mails[1], "text/plain")
        assert page in pushed
        # FULL detail names the commits and refs; BASIC says what happened, and where.
        assert (head in pushed) is (detail == "FULL")
        assert ("refs/heads/feature" in pushed) is (detail == "FULL")
        time.sleep(1)
        assert len(chat.requests) == 3 and len(inbox.messages) == 3
    finally:
        chat.stop()
