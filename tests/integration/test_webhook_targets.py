"""Outbound targets end to end (issue 10): the URL rule where targets are made and again
where they are sent, IPv6 forms that carry a local IPv4 address, the deliveries table's
reasons, and recovering from a host that was not allowed."""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api_support import client_for, error_code
from tests.receivers import Receiver
from tests.support import GITSERVER, Server, run_sql, wait_until

NON_CANONICAL = ["2130706433", "127.1", "0", "0x7f.1", "0177.0.0.1"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver().start()
    yield instance
    instance.stop()


def _text(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a person runs it: the human output, not --json."""
    argv = [GITSERVER, *args, "--data", str(server.data), "--database-url", server.database_url]
    return subprocess.run(
        argv, capture_output=True, text=True, env=server.cli_env(), timeout=120, check=False
    )


def _repo(server: Server, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    server.cli("repo", "create", name)
    return name


def _ping(server: Server, hook: str) -> str:
    """The id of the hook's ping, found the way an operator finds it: in its deliveries."""
    log = server.cli("webhook", "deliveries", hook)["deliveries"]
    return str(next(d["deliveryId"] for d in log if d["event"] == "ping"))


def _settled(server: Server, hook: str, delivery: str, state: str) -> dict[str, Any]:
    """The delivery once it reached `state` (or as it stands at the deadline)."""

    def find() -> dict[str, Any] | None:
        for item in server.cli("webhook", "deliveries", hook)["deliveries"]:
            if item["deliveryId"] == delivery and item["state"] == state:
                return dict(item)
        return None

    found = wait_until(find, timeout=30, interval=0.2)
    if found is None:
        log = server.cli("webhook", "deliveries", hook)["deliveries"]
        raise AssertionError(f"{delivery} never became {state}: {log}")
    return dict(found)


def test_non_canonical_ipv4_hosts_are_refused_where_targets_are_made(server: Server) -> None:
    name = _repo(server, "canon")
    for host in NON_CANONICAL:
        result = server.cli(
            "webhook", "create", "--repo", name, "--url", f"http://{host}/hook", check=False
        )
        assert result.returncode == 1, (host, result.stdout)
        assert "not a canonical IPv4 address" in result.stderr, result.stderr
    assert server.cli("webhook", "list", "--repo", name)["webhooks"] == []

    result = server.cli(
        "notification-rule",
        "create",
        "--repo",
        name,
        "--name",
        "chat",
        "--events",
        "codecommit-repository-branches-and-tags-created",
        "--chat-url",
        "http://2130706433/hook",
        check=False,
    )
    assert result.returncode == 1 and "not a canonical IPv4 address" in result.stderr

    cc = client_for(server, "canon-admin", admin=True)
    for host in NON_CANONICAL:
        trigger = {
            "name": "t",
            "destinationArn": f"http://{host}/",
            "branches": [],
            "events": ["all"],
        }
        with pytest.raises(ClientError) as raised:
            cc.put_repository_triggers(repositoryName=name, triggers=[trigger])
        assert error_code(raised.value) == "InvalidRepositoryTriggerDestinationArnException"
        assert "not a canonical IPv4 address" in str(raised.value)
    assert cc.get_repository_triggers(repositoryName=name)["triggers"] == []


def test_a_stored_non_canonical_target_fails_once_and_is_not_retried(
    server: Server, receiver: Receiver
) -> None:
    """A target stored before the rule (here: edited in the database) meets it at send time."""
    name = _repo(server, "stored")
    created = server.cli("webhook", "create", "--repo", name, "--url", receiver.url)
    hook = created["webhookId"]
    _settled(server, hook, _ping(server, hook), "succeeded")
    run_sql(
        server,
        "UPDATE subscriptions SET url = :url WHERE id = :id",
        params={"url": f"http://127.1:{receiver.port}/hook", "id": hook},
    )
    test = server.cli("webhook", "test", hook)
    failed = _settled(server, hook, test["deliveryId"], "failed")
    assert len(failed["attempts"]) == 1, "a refusal is final"
    assert "'127.1' is not a canonical IPv4 address" in failed["lastError"]
    assert len(receiver.requests) == 1  # the ping only


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        pytest.param("[64:ff9b::a9fe:a9fe]", "NAT64 form of 169.254.169.254", id="nat64-metadata"),
        pytest.param("[64:ff9b::7f00:1]", "NAT64 form of 127.0.0.1", id="nat64-loopback"),
        pytest.param("[64:ff9b:1::7f00:1]", "local-use NAT64", id="nat64-local-use"),
        pytest.param("[::7f00:1]", "IPv4-compatible", id="ipv4-compatible"),
        pytest.param("[::ffff:0:7f00:1]", "SIIT", id="siit"),
    ],
)
def test_ipv6_forms_of_local_addresses_are_refused_for_good(
    server: Server, receiver: Receiver, host: str, reason: str
) -> None:
    """127.0.0.1 is allowed on this server: its IPv6 disguises are not."""
    name = _repo(server, "nat64")
    url = f"http://{host}:{receiver.port}/hook"
    created = server.cli("webhook", "create", "--repo", name, "--url", url)
    hook = created["webhookId"]
    failed = _settled(server, hook, _ping(server, hook), "failed")
    assert len(failed["attempts"]) == 1, "a refusal is final"
    assert reason in failed["lastError"] and "private or local address" in failed["lastError"]
    assert receiver.requests == []
    assert reason in created["warning"], "webhook create said so at once"


def test_deliveries_table_shows_why_a_delivery_failed(server: Server) -> None:
    """It printed `failed 1 None`: the reason was only in --json."""
    name = _repo(server, "table")
    created = server.cli("webhook", "create", "--repo", name, "--url", "http://169.254.169.254/")
    hook = created["webhookId"]
    ping = _ping(server, hook)
    _settled(server, hook, ping, "failed")
    shown = _text(server, "webhook", "deliveries", hook)
    assert shown.returncode == 0, shown.stderr
    header, row = shown.stdout.splitlines()[:2]
    assert header.split() == ["DELIVERY", "EVENT", "STATE", "ATTEMPTS", "STATUS", "ERROR"]
    assert row.split()[:5] == [ping, "ping", "failed", "1", "-"]
    assert "169.254.169.254 is a private or local address (cloud metadata)" in row
    assert "None" not in row


def test_a_ping_to_a_host_not_allowed_can_be_sent_again_once_it_is(
    make_server: Callable[..., Server], receiver: Receiver
) -> None:
    private = make_server("--no-ssh", "--webhook-retry-schedule", "0.2")
    name = _repo(private, "allow")

    made = _text(private, "webhook", "create", "--repo", name, "--url", receiver.url)
    assert made.returncode == 0, made.stderr
    match = re.search(r"created webhook (\S+) \(ping: delivery (\S+)\)", made.stdout)
    assert match, made.stdout
    hook, ping = match.groups()
    assert "127.0.0.1 is a private or local address (loopback)" in made.stdout
    assert "--webhook-allowed-hosts" in made.stdout
    assert f"gitserver webhook redeliver {ping}" in made.stdout
    assert f"gitserver webhook test {hook}" in made.stdout

    failed = _settled(private, hook, ping, "failed")
    assert len(failed["attempts"]) == 1 and failed["attempts"][0]["responseStatus"] is None
    assert "loopback" in failed["lastError"] and "webhook_allowed_hosts" in failed["lastError"]
    table = _text(private, "webhook", "deliveries", hook).stdout
    assert ping in table and "webhook_allowed_hosts" in table
    assert receiver.requests == []

    private.extra_args += ["--webhook-allowed-hosts", "127.0.0.1"]
    private.restart()
    again = private.cli("webhook", "redeliver", ping)
    assert again == {"deliveryId": ping, "state": "pending"}
    received = receiver.wait_for(1)[0]
    assert received.headers["X-GitServer-Delivery"] == ping
    assert received.headers["X-GitServer-Event"] == "ping"
    done = _settled(private, hook, ping, "succeeded")
    assert [a["responseStatus"] for a in done["attempts"]] == [None, 200]
    assert done["lastError"] == ""
