"""The cached principal (issue 15): a signed API caller's groups and policies are read
once and reused, yet every change made from another process (the CLI) applies to the
very next request — attachments, inline policies, groups, a managed policy's default
version, the user's tags, its access key's status, a deleted user. SQLite and PostgreSQL
move the auth epoch with different triggers, so both run."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import client_for, codecommit, error_code
from tests.support import Server

pytestmark = pytest.mark.database

READ = {"Effect": "Allow", "Action": "codecommit:GetRepository", "Resource": "*"}
DENY = {"Effect": "Deny", "Action": "codecommit:GetRepository", "Resource": "*"}


def _document(tmp_path: Path, statement: Mapping[str, object]) -> str:
    path = tmp_path / f"policy-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    return str(path)


def _hits(server: Server) -> int:
    text = urllib.request.urlopen(f"{server.base_url}/metrics", timeout=10).read().decode()
    found = re.search(r"^gitserver_principal_cache_hits_total (\d+)", text, re.M)
    assert found, text[-500:]
    return int(found.group(1))


def _reads(client: BaseClient, name: str) -> bool:
    try:
        client.get_repository(repositoryName=name)
    except ClientError as exc:
        assert error_code(exc) == "AccessDeniedException", exc
        return False
    return True


def test_every_change_applies_to_the_next_request(
    server: Server, repo: Callable[..., str], tmp_path: Path
) -> None:
    name = repo("cached")
    user = f"cached-{uuid.uuid4().hex[:6]}"
    client = client_for(server, user)
    assert not _reads(client, name)
    server.cli("policy", "attach-user-policy", user, "GitServerReadOnly")
    before = _hits(server)
    assert all(_reads(client, name) for _ in range(5))
    assert _hits(server) >= before + 4, "the unchanged principal comes from the cache"

    server.cli("policy", "detach-user-policy", user, "GitServerReadOnly")
    assert not _reads(client, name)
    server.cli("policy", "put-user-policy", user, "inline", "--document", _document(tmp_path, READ))
    assert _reads(client, name)
    server.cli("policy", "delete-user-policy", user, "inline")
    assert not _reads(client, name)

    group = f"readers-{uuid.uuid4().hex[:6]}"
    server.cli("group", "create", group)
    server.cli("policy", "attach-group-policy", group, "GitServerReadOnly")
    server.cli("group", "add-user", group, user)
    assert _reads(client, name)
    server.cli("policy", "put-group-policy", group, "no", "--document", _document(tmp_path, DENY))
    assert not _reads(client, name), "a deny added to the group"
    server.cli("policy", "delete-group-policy", group, "no")
    assert _reads(client, name)
    server.cli("group", "remove-user", group, user)
    assert not _reads(client, name)

    managed = f"Cached-{user}"
    server.cli("policy", "create", managed, "--document", _document(tmp_path, READ))
    server.cli("policy", "attach-user-policy", user, managed)
    assert _reads(client, name)
    server.cli("policy", "create-version", managed, "--document", _document(tmp_path, DENY))
    assert _reads(client, name), "a new version is not in force until it is the default"
    server.cli("policy", "set-default-version", managed, "v2")
    assert not _reads(client, name)

    server.cli("user", "delete", user)
    with pytest.raises(ClientError) as gone:
        client.get_repository(repositoryName=name)
    assert error_code(gone.value) in ("UnrecognizedClientException", "InvalidClientTokenId")


def test_tag_and_key_changes_apply_to_the_next_request(
    server: Server, repo: Callable[..., str], tmp_path: Path
) -> None:
    """`aws:PrincipalTag/*` and the key's status come with every request, cache or not."""
    name = repo("tagged")
    server.cli("repo", "tag", name, "team=red")
    user = f"tagged-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", user)
    key = server.cli("access-key", "create", user)
    client = codecommit(server, key)
    same_team = {
        "Effect": "Allow",
        "Action": "codecommit:GetRepository",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
    }
    server.cli(
        "policy", "put-user-policy", user, "team", "--document", _document(tmp_path, same_team)
    )
    assert not _reads(client, name), "no team tag yet"
    server.cli("user", "tag", user, "team=red")
    before = _hits(server)
    assert all(_reads(client, name) for _ in range(3))
    assert _hits(server) >= before + 2, "the unchanged principal comes from the cache"
    server.cli("user", "tag", user, "team=blue")
    assert not _reads(client, name), "a changed tag"
    server.cli("user", "tag", user, "team=red")
    assert _reads(client, name)
    server.cli("user", "untag", user, "team")
    assert not _reads(client, name), "a removed tag"
    server.cli("user", "tag", user, "team=red")
    assert _reads(client, name)

    server.cli("access-key", "deactivate", key["AccessKeyId"])
    with pytest.raises(ClientError) as inactive:
        client.get_repository(repositoryName=name)
    assert error_code(inactive.value) in ("UnrecognizedClientException", "InvalidClientTokenId")
    server.cli("access-key", "activate", key["AccessKeyId"])
    assert _reads(client, name)
    server.cli("access-key", "delete", key["AccessKeyId"])
    with pytest.raises(ClientError) as deleted:
        client.get_repository(repositoryName=name)
    assert error_code(deleted.value) in ("UnrecognizedClientException", "InvalidClientTokenId")
