"""Signatures a receiver checks: ours, GitHub's, and Standard Webhooks' (replay-safe)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_webhook_signature(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` (standardwebhooks.com). A
    `whsec_`-prefixed secret is base64 as the spec has it; any other is used as bytes."""
    key = (
        base64.b64decode(secret.removeprefix("whsec_"))
        if secret.startswith("whsec_")
        else secret.encode()
    )
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_headers(
    secret: str, delivery_id: str, timestamp: int, body: bytes, *, github: bool
) -> dict[str, str]:
    digest = "sha256=" + hmac_sha256_hex(secret, body)
    headers = {
        "X-GitServer-Signature-256": digest,
        "webhook-signature": standard_webhook_signature(secret, delivery_id, timestamp, body),
    }
    if github:
        headers["X-Hub-Signature-256"] = digest
    return headers


SECRET_HEADERS = frozenset(
    {"x-gitserver-signature-256", "x-hub-signature-256", "webhook-signature", "authorization"}
)


def masked(headers: dict[str, str]) -> dict[str, str]:
    """Headers as recorded: signatures and credentials replaced, so the log leaks nothing."""
    return {k: ("***" if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}
