"""Secret scanning of added lines: which kinds of credential a line holds.

Pure functions over text, no git and no I/O: `gitserver.protection.inspect` feeds them
the lines a push or an API write adds. Each kind is a pattern with a distinctive shape
(a fixed prefix, a PEM header) or, for the two shapeless ones (an AWS secret access key
and a generic `password = "..."`), a keyword nearby plus a Shannon entropy threshold.

Conservative by design: a refused push costs a developer time, so a value that looks
like a placeholder is never reported: AWS's documented examples (`...EXAMPLE...`),
`changeme`, `${VAR}`, `{{ var }}`, `<token>`, `xxxx`, `your_token_here`, `dummy`, ...
(`is_placeholder`). A finding never carries the secret itself, only `mask()`ed.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

__all__ = ["KINDS", "Match", "entropy", "is_placeholder", "mask", "may_hold_secret", "scan_line"]

# The longest line scanned: minified files put megabytes on one line; a credential sits
# near the start of its line in every format that matters (assignments, PEM, URLs).
MAX_LINE = 4096
# Generic assignments: a random 16-character value over 62 symbols has ~4 bits a
# character; English words and repeated characters stay far below 3.5.
GENERIC_MIN_LENGTH = 12
GENERIC_MIN_ENTROPY = 3.5
AWS_SECRET_MIN_ENTROPY = 4.0

_PREFIXED: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("aws_access_key_id", re.compile(r"(?<![A-Z0-9])((?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Z0-9])")),
    (
        "private_key",
        re.compile(r"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)"),
    ),
    (
        "github_token",
        re.compile(r"(?<![A-Za-z0-9_])((?:gh[pousr]_[A-Za-z0-9]{36,255})|github_pat_\w{60,255})"),
    ),
    ("gitlab_token", re.compile(r"(?<![A-Za-z0-9_-])(glpat-[A-Za-z0-9_-]{20,})")),
    ("slack_token", re.compile(r"(?<![A-Za-z0-9])(xox[abposr]-[A-Za-z0-9-]{10,})")),
    (
        "slack_webhook",
        re.compile(
            r"(https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{20,})"
        ),
    ),
)
# 40 base64 characters after an `aws`/`secret` keyword and `=` or `:` on the same line.
_AWS_SECRET = re.compile(
    r"(?i)(?:aws|secret)[\w.-]{0,30}[\"']?\s*(?::=|=>|[:=])\s*[\"']?"
    r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
)
_GENERIC = re.compile(
    r"(?i)(?<![A-Za-z0-9])(?:[\w.-]*?[_.-])?"
    r"(password|passwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key)"
    r"[\"']?\s*(?::=|=>|[:=])\s*([\"'`])([^\"'`\s]{" + str(GENERIC_MIN_LENGTH) + r",256})\2"
)
_PLACEHOLDER = re.compile(
    r"(?i)example|changeme|change_me|placeholder|dummy|sample|redacted|secret_here|"
    r"your[_-]|_here\b|\bfoo|\bbar\b|\btest|fake|\$\{|\$\(|\{\{|%\(|%s|<[^>]*>|(.)\1{3,}"
)

# Text that every kind's pattern needs (lower case): a file diff with none of them holds
# no secret, and is not read line by line. Keep in step with the patterns above.
TRIGGERS = (
    b"akia",  # aws_access_key_id (and ASIA, below)
    b"asia",
    b"private",  # PEM headers, private_key = ...
    b"ghp_",  # GitHub tokens
    b"gho_",
    b"ghu_",
    b"ghs_",
    b"ghr_",
    b"github_pat_",
    b"glpat-",
    b"xox",  # Slack tokens
    b"hooks.slack.com",
    b"aws",  # an AWS secret access key needs `aws` or `secret` nearby
    b"secret",
    b"passw",  # password, passwd
    b"token",
    b"api",  # api_key, apikey
    b"access",  # access_key
)

# Over lower-cased text, a case-sensitive alternation of literals runs 6x faster than
# `re.IGNORECASE` or one `in` test a trigger.
_TRIGGER = re.compile(b"|".join(re.escape(trigger) for trigger in TRIGGERS))

KINDS = (
    *(kind for kind, _ in _PREFIXED),
    "aws_secret_access_key",
    "generic_secret",
)


@dataclass(frozen=True, slots=True)
class Match:
    """One secret in a line: its kind and the secret masked (never in full)."""

    kind: str
    masked: str


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    counts = Counter(value)
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def is_placeholder(value: str) -> bool:
    """Whether a value is a documented example or a template rather than a credential."""
    return _PLACEHOLDER.search(value) is not None


def mask(value: str) -> str:
    """The first four characters and a fixed-width mask: enough to find the line."""
    if value.startswith("-----BEGIN"):
        return value  # the PEM header is not secret; the key follows on other lines
    if value.startswith("https://"):
        return value[: value.index("/", 8) + 1] + "********"  # the host only
    return value[:4] + "*" * 8


def scan_line(line: str) -> list[Match]:
    """The secrets in one added line, each kind at most once."""
    line = line[:MAX_LINE]
    found: dict[str, Match] = {}
    for kind, pattern in _PREFIXED:
        for match in pattern.finditer(line):
            value = match.group(1)
            # A PEM header is fixed text (its dashes would look like a placeholder).
            if kind not in found and (kind == "private_key" or not is_placeholder(value)):
                found[kind] = Match(kind, mask(value))
    for match in _AWS_SECRET.finditer(line):
        value = match.group(1)
        if entropy(value) >= AWS_SECRET_MIN_ENTROPY and not is_placeholder(value):
            found.setdefault("aws_secret_access_key", Match("aws_secret_access_key", mask(value)))
    if "aws_secret_access_key" not in found:
        for match in _GENERIC.finditer(line):
            value = match.group(3)
            if _generic_secret(value) and not _covered(value, found):
                found.setdefault("generic_secret", Match("generic_secret", mask(value)))
    return list(found.values())


def _generic_secret(value: str) -> bool:
    return entropy(value) >= GENERIC_MIN_ENTROPY and not is_placeholder(value)


def _covered(value: str, found: dict[str, Match]) -> bool:
    # A token of a known kind assigned to `token = "..."` is reported once, by its kind.
    return any(value.startswith(m.masked[:4]) for m in found.values())


def may_hold_secret(text: bytes) -> bool:
    """False only if no line of `text` can hold a secret `scan_line` reports."""
    return _TRIGGER.search(text.lower()) is not None
