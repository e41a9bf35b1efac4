"""AWS Signature Version 4 pieces shared by the API and the Git password scheme.

The Git password that `aws codecommit credential-helper` and git-remote-codecommit send
is `<YYYYMMDDTHHMMSS>Z<hex signature>` over a fake `GIT` request (reference/codecommit.md
section 5.2): canonical request `GIT\\n<path>\\n\\nhost:<host>\\n\\nhost\\n`, with an empty
payload hash, signed for service `codecommit`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

SERVICE = "codecommit"
# ASCII only: `\d` alone also matches other scripts' digits ("٢٠٢٦..."), which no
# signer writes.
_GIT_PASSWORD = re.compile(r"(\d{8}T\d{6})Z([0-9a-f]{64})", re.ASCII)
# The password is reused for a whole git command; AWS says it works for about 15 minutes.
GIT_PASSWORD_WINDOW = timedelta(minutes=15)
CLOCK_SKEW = timedelta(minutes=5)


def _utf8(text: str) -> bytes:
    """`text` as the bytes that came over the wire.

    aiohttp decodes headers and paths with `surrogateescape`, so bytes that are not
    UTF-8 arrive as lone surrogates: they are signed as the bytes they stand for (what
    the client signed), and any other surrogate as UTF-8 would carry it. Either way the
    signature is computed and compared, never a UnicodeEncodeError."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, _utf8(message), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str = SERVICE) -> bytes:
    k_date = _hmac(_utf8("AWS4" + secret), date)
    return _hmac(_hmac(_hmac(k_date, region), service), "aws4_request")


def string_to_sign(timestamp: str, region: str, canonical_request: str) -> str:
    return "\n".join(
        [
            "AWS4-HMAC-SHA256",
            timestamp,
            f"{timestamp[:8]}/{region}/{SERVICE}/aws4_request",
            hashlib.sha256(_utf8(canonical_request)).hexdigest(),
        ]
    )


def git_signature(secret: str, timestamp: str, path: str, host: str, region: str) -> str:
    canonical = f"GIT\n{path}\n\nhost:{host}\n\nhost\n"
    key = signing_key(secret, timestamp[:8], region)
    return hmac.new(key, _utf8(string_to_sign(timestamp, region, canonical)), "sha256").hexdigest()


def looks_like_git_password(password: str) -> bool:
    return _GIT_PASSWORD.fullmatch(password) is not None


def verify_git_password(
    secret: str,
    password: str,
    *,
    paths: Iterable[str],
    hosts: Iterable[str],
    regions: Iterable[str],
    now: datetime | None = None,
) -> bool:
    """True if `password` signs one of the path/host/region combinations and is fresh."""
    match = _GIT_PASSWORD.fullmatch(password)
    if match is None:
        return False
    timestamp, signature = match.groups()
    try:
        signed_at = datetime.strptime(timestamp, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return False
    now = now or datetime.now(UTC)
    if not (now - GIT_PASSWORD_WINDOW - CLOCK_SKEW <= signed_at <= now + CLOCK_SKEW):
        return False
    ok = False
    for region in regions:
        for host in hosts:
            for path in paths:
                expected = git_signature(secret, timestamp, path, host, region)
                # Keep comparing after a match: the work done does not depend on which matched.
                ok |= hmac.compare_digest(expected, signature)
    return ok


# --- Signed API requests (reference/codecommit.md section 1.4) -----------------------------

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+"
    r"Credential=(?P<key>[^/\s,]+)/(?P<date>\d{8})/(?P<region>[^/\s,]+)/(?P<service>[^/\s,]+)"
    r"/aws4_request\s*,\s*SignedHeaders=(?P<headers>[a-z0-9;_.-]+)\s*,\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*",
    re.ASCII,  # `\d` and `\s` as AWS means them, not every script's digits and spaces
)
_SPACES = re.compile(r"\s+")
# AWS refuses requests signed more than 15 minutes from its clock, either way.
REQUEST_SKEW = timedelta(minutes=15)


class SignatureError(Exception):
    """A signed request AWS would refuse; `code` is AWS's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What the `Authorization` header claims: who, when, where, and the signature."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(header: str | None) -> SignedRequest:
    """Split an `AWS4-HMAC-SHA256` header into its parts.

    Raises:
        SignatureError: `MissingAuthenticationToken` without a header,
            `IncompleteSignature` when it is malformed.
    """
    if not header:
        raise SignatureError(
            "MissingAuthenticationToken", "Request is missing Authentication Token"
        )
    match = _AUTHORIZATION.fullmatch(header.strip())
    if match is None:
        raise SignatureError(
            "IncompleteSignature",
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' "
            "parameters of an AWS4-HMAC-SHA256 signature",
        )
    headers = tuple(match["headers"].split(";"))
    if "host" not in headers:
        raise SignatureError("IncompleteSignature", "The host header must be signed")
    return SignedRequest(
        match["key"],
        match["date"],
        match["region"],
        match["service"],
        headers,
        match["signature"],
    )


def check_freshness(signed: SignedRequest, amz_date: str | None, now: datetime) -> None:
    """The request's `X-Amz-Date` must match the scope and be within the skew window.

    Raises:
        SignatureError: `IncompleteSignature` or `RequestExpired`.
    """
    if not amz_date:
        raise SignatureError("IncompleteSignature", "X-Amz-Date header is required")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError("IncompleteSignature", "X-Amz-Date is malformed") from None
    if amz_date[:8] != signed.date:
        raise SignatureError(
            "InvalidSignatureException", "The credential scope date does not match X-Amz-Date"
        )
    if abs(now - signed_at) > REQUEST_SKEW:
        raise SignatureError(
            "RequestExpired",
            f"Request has expired: signed at {amz_date}, server time "
            f"{now.strftime('%Y%m%dT%H%M%SZ')} (allowed skew 15 minutes)",
        )


def canonical_request(
    method: str,
    raw_path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, Sequence[str]],
    signed_headers: Sequence[str],
    payload_hash: str,
) -> str:
    """SigV4's canonical request from what arrived on the wire (raw path, raw query)."""
    path = quote(_utf8(raw_path or "/"), safe="/~")
    pairs = sorted((quote(_utf8(k), safe="-_.~"), quote(_utf8(v), safe="-_.~")) for k, v in query)
    lines = [method.upper(), path, "&".join(f"{k}={v}" for k, v in pairs)]
    for name in signed_headers:
        values = headers.get(name, ())
        lines.append(f"{name}:" + ",".join(_SPACES.sub(" ", v).strip() for v in values))
    return "\n".join([*lines, "", ";".join(signed_headers), payload_hash])


def request_signature(secret: str, signed: SignedRequest, amz_date: str, canonical: str) -> str:
    key = signing_key(secret, signed.date, signed.region, signed.service)
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            f"{signed.date}/{signed.region}/{signed.service}/aws4_request",
            hashlib.sha256(_utf8(canonical)).hexdigest(),
        ]
    )
    return hmac.new(key, _utf8(to_sign), hashlib.sha256).hexdigest()


def signature_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected, given)
