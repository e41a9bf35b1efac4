"""Notification rules: a real SMTP server (aiosmtpd) and a chat receiver, real pushes."""

from __future__ import annotations

import email
import time
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.receivers import Receiver
from tests.support import Git, Server

# Delivery, locking, ordering or crash recovery: SQL semantics decide the outcome.
pytestmark = pytest.mark.database


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 30) -> list[Message]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"{len(self.messages)} mails"
        return self.messages


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


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
