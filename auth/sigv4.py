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
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

SERVICE = "codecommit"
_GIT_PASSWORD = re.compile(r"(\d{8}T\d{6})Z([0-9a-f]{64})")
# The password is reused for a whole git command; AWS says it works for about 15 minutes.
GIT_PASSWORD_WINDOW = timedelta(minutes=15)
CLOCK_SKEW = timedelta(minutes=5)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str = SERVICE) -> bytes:
    k_date = _hmac(("AWS4" + secret).encode(), date)
    return _hmac(_hmac(_hmac(k_date, region), service), "aws4_request")


def string_to_sign(timestamp: str, region: str, canonical_request: str) -> str:
    return "\n".join(
        [
            "AWS4-HMAC-SHA256",
            timestamp,
            f"{timestamp[:8]}/{region}/{SERVICE}/aws4_request",
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )


def git_signature(secret: str, timestamp: str, path: str, host: str, region: str) -> str:
    canonical = f"GIT\n{path}\n\nhost:{host}\n\nhost\n"
    key = signing_key(secret, timestamp[:8], region)
    return hmac.new(
        key, string_to_sign(timestamp, region, canonical).encode(), "sha256"
    ).hexdigest()


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
