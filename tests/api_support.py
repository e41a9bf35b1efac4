"""boto3 clients for the CodeCommit API of a test server, and model-driven sample input."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from tests.support import Server

REGION = "us-east-1"


def codecommit(server: Server, key: dict[str, str], **config: Any) -> BaseClient:
    """A real boto3 CodeCommit client pointed at `server` (only the endpoint URL changes)."""
    return boto3.client(
        "codecommit",
        endpoint_url=server.base_url,
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, **config),
    )


def client_for(server: Server, user: str, *, admin: bool = False) -> BaseClient:
    """Create `user` (if new) with an access key, and return their client."""
    existing = {u["UserName"] for u in server.cli("user", "list")["users"]}
    if user not in existing:
        server.cli("user", "create", user, *(["--admin"] if admin else []))
    return codecommit(server, server.cli("access-key", "create", user))


def error_code(exc: BaseException) -> str:
    return str(exc.response["Error"]["Code"])  # type: ignore[attr-defined]
