"""AWS-shaped identifiers: prefix + upper-case alphanumerics, from the system CSPRNG."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_uppercase + string.digits


def aws_id(prefix: str, length: int = 17) -> str:
    """`prefix` followed by `length` random upper-case letters and digits."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def user_id() -> str:
    return aws_id("AIDA")


def group_id() -> str:
    return aws_id("AGPA")


def access_key_id() -> str:
    return aws_id("AKIA", 16)


def credential_id() -> str:
    return aws_id("ACCA")


def ssh_key_id() -> str:
    return aws_id("APKA", 16)


def generate_password(nbytes: int = 33) -> str:
    """A random password in CodeCommit's shape (base64 text, 44 characters by default)."""
    import base64

    return base64.b64encode(secrets.token_bytes(nbytes)).decode()


def generate_secret_key() -> str:
    """A 40-character secret access key, like AWS's."""
    import base64

    return base64.b64encode(secrets.token_bytes(30)).decode()


def policy_id() -> str:
    return aws_id("ANPA")
