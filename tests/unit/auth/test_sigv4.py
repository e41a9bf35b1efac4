"""The SigV4 Git password, checked against botocore's own signer."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from auth.sigv4 import (
    SignatureError,
    canonical_request,
    check_freshness,
    parse_authorization,
    request_signature,
    signature_matches,
    verify_git_password,
)

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


# --- Signed API requests -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://127.0.0.1:8080/", id="root-with-port"),
        pytest.param("https://git.example.com/codecommit", id="path-prefix"),
        pytest.param("http://h:1/a%20b?x=1&a=2", id="encoded-path-and-query"),
    ],
)
def test_request_signature_matches_botocore(url: str) -> None:
    """What botocore signs, our verifier recomputes from the request as it arrives."""
    body = b'{"repositoryName":"demo"}'
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "CodeCommit_20150413.GetRepository",
        },
    )
    SigV4Auth(Credentials("AKIDEXAMPLE", SECRET), "codecommit", "eu-west-1").add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = url.split("/")[2]
    signed = parse_authorization(headers["authorization"])
    assert (signed.region, signed.service) == ("eu-west-1", "codecommit")
    raw_path, _, query = url.split("/", 3)[3].partition("?")
    pairs = [tuple(p.split("=", 1)) for p in query.split("&")] if query else []
    canonical = canonical_request(
        "POST",
        "/" + raw_path,
        pairs,  # type: ignore[arg-type]
        {name: [headers[name]] for name in signed.signed_headers},
        signed.signed_headers,
        hashlib.sha256(body).hexdigest(),
    )
    expected = request_signature(SECRET, signed, headers["x-amz-date"], canonical)
    assert signature_matches(expected, signed.signature)
    assert not signature_matches(
        request_signature("wrong", signed, headers["x-amz-date"], canonical), signed.signature
    )


@pytest.mark.parametrize(
    ("header", "code"),
    [
        pytest.param(None, "MissingAuthenticationToken", id="absent"),
        pytest.param("Basic abc", "IncompleteSignature", id="other-scheme"),
        pytest.param(
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/codecommit/aws4_request, "
            "SignedHeaders=x-amz-date, Signature=" + "0" * 64,
            "IncompleteSignature",
            id="host-not-signed",
        ),
    ],
)
def test_malformed_authorization(header: str | None, code: str) -> None:
    with pytest.raises(SignatureError) as raised:
        parse_authorization(header)
    assert raised.value.code == code


def test_freshness_window() -> None:
    signed = parse_authorization(
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/codecommit/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
    )
    at = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    check_freshness(signed, "20260101T120000Z", at + timedelta(minutes=15))
    with pytest.raises(SignatureError) as late:
        check_freshness(signed, "20260101T120000Z", at + timedelta(minutes=15, seconds=1))
    assert late.value.code == "RequestExpired"
    with pytest.raises(SignatureError) as mismatch:
        check_freshness(signed, "20260102T000000Z", datetime(2026, 1, 2, tzinfo=UTC))
    assert mismatch.value.code == "InvalidSignatureException"
