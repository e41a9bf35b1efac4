"""The SigV4 Git password, checked against botocore's own signer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from auth.sigv4 import verify_git_password

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def botocore_password(path: str, host: str, region: str, when: datetime) -> str:
    """What `aws codecommit credential-helper` computes (awscli customizations/codecommit)."""
    signer = SigV4Auth(Credentials("AKIDEXAMPLE", SECRET), "codecommit", region)
    request = AWSRequest()
    request.url = f"https://{host}{path}"
    request.method = "GIT"
    request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%S")
    canonical = f"GIT\n{path}\n\nhost:{host}\n\nhost\n"
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    return f"{request.context['timestamp']}Z{signature}"


def _verify(password: str, now: datetime, **overrides: object) -> bool:
    args: dict[str, object] = {
        "paths": ["/v1/repos/demo"],
        "hosts": ["git.example.com"],
        "regions": ["us-east-1"],
        "now": now,
    }
    args.update(overrides)
    return verify_git_password(SECRET, password, **args)  # type: ignore[arg-type]


def test_password_from_botocore_verifies() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    password = botocore_password("/v1/repos/demo", "git.example.com", "us-east-1", now)
    assert _verify(password, now)
    assert _verify(password, now + timedelta(minutes=14))


def test_wrong_path_host_region_or_secret_fail() -> None:
    now = datetime.now(UTC)
    password = botocore_password("/v1/repos/demo", "git.example.com", "us-east-1", now)
    assert not _verify(password, now, paths=["/v1/repos/other"])
    assert not _verify(password, now, hosts=["evil.example.com"])
    assert not _verify(password, now, regions=["eu-west-1"])
    assert not verify_git_password(
        SECRET[:-1] + "X",
        password,
        paths=["/v1/repos/demo"],
        hosts=["git.example.com"],
        regions=["us-east-1"],
        now=now,
    )


def test_stale_and_future_passwords_fail() -> None:
    now = datetime.now(UTC)
    old = botocore_password(
        "/v1/repos/demo", "git.example.com", "us-east-1", now - timedelta(minutes=25)
    )
    future = botocore_password(
        "/v1/repos/demo", "git.example.com", "us-east-1", now + timedelta(minutes=10)
    )
    assert not _verify(old, now)
    assert not _verify(future, now)


def test_malformed_passwords_fail() -> None:
    now = datetime.now(UTC)
    for password in ["", "hunter2", "20240101T120000Z" + "g" * 64, "20241399T999999Z" + "a" * 64]:
        assert not _verify(password, now)
