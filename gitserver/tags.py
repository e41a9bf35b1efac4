"""AWS tag rules shared by user tags (IAM's TagUser) and repository tags (TagResource).

Both services allow at most 50 tags per resource, keys of 1-128 and values of 0-256
characters drawn from Unicode letters, digits and separators plus ``_.:/=+-@``, and
reserve the ``aws:`` prefix. They differ in two ways, so the caller says which:
IAM user tag keys are case-insensitive (``Team`` replaces ``team``, case preserved as
last written), CodeCommit's are case-sensitive.

Pure: no I/O. A broken rule raises `TagRuleError` with the reason; each caller maps its
`rule` to its own error type (IAM's InvalidInput/LimitExceeded, CodeCommit's
InvalidTagsMapException, ...).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from enum import StrEnum

MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
_PUNCTUATION = frozenset("_.:/=+-@")


class TagRule(StrEnum):
    TOO_MANY = "too-many"
    INVALID_TAG = "invalid-tag"
    SYSTEM_KEY = "system-key"
    KEYS_REQUIRED = "keys-required"
    INVALID_KEYS = "invalid-keys"


class TagRuleError(ValueError):
    def __init__(self, rule: TagRule, message: str) -> None:
        super().__init__(message)
        self.rule = rule


def _allowed(text: str) -> bool:
    # AWS's pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]* by Unicode category.
    return all(ch in _PUNCTUATION or unicodedata.category(ch)[0] in "LZN" for ch in text)


def _check_key(key: object, rule: TagRule) -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY or not _allowed(key):
        raise TagRuleError(
            rule,
            f"invalid tag key {key!r}: use 1-{MAX_KEY} letters, digits, spaces and _.:/=+-@",
        )
    return key


def _fold(key: str, case_sensitive: bool) -> str:
    return key if case_sensitive else key.lower()


def merge_tags(
    existing: Mapping[str, str], new: Mapping[str, object], *, case_sensitive: bool
) -> dict[str, str]:
    """`existing` with `new` added or replacing; the result obeys every rule.

    Raises:
        TagRuleError: a bad key or value, an ``aws:`` key, or more than 50 tags in all.
    """
    if not new:
        raise TagRuleError(TagRule.INVALID_TAG, "at least one tag is required")
    merged = dict(existing)
    seen: set[str] = set()
    for key, value in new.items():
        _check_key(key, TagRule.INVALID_TAG)
        if key.lower().startswith("aws:"):
            raise TagRuleError(TagRule.SYSTEM_KEY, f"tag key {key!r}: keys may not start with aws:")
        if not isinstance(value, str) or len(value) > MAX_VALUE or not _allowed(value):
            raise TagRuleError(
                TagRule.INVALID_TAG,
                f"invalid value for tag {key!r}: use 0-{MAX_VALUE} letters, digits, "
                "spaces and _.:/=+-@",
            )
        folded = _fold(key, case_sensitive)
        if folded in seen:
            raise TagRuleError(TagRule.INVALID_TAG, f"duplicate tag key {key!r}")
        seen.add(folded)
        for old in [k for k in merged if _fold(k, case_sensitive) == folded]:
            del merged[old]
        merged[key] = value
    if len(merged) > MAX_TAGS:
        raise TagRuleError(TagRule.TOO_MANY, f"{len(merged)} tags: at most {MAX_TAGS} are allowed")
    return merged


def remove_tags(
    existing: Mapping[str, str], keys: Iterable[object], *, case_sensitive: bool
) -> dict[str, str]:
    """`existing` without `keys`; a key that is not there is not an error (AWS's way).

    Raises:
        TagRuleError: no keys, or a key that could never be a tag key.
    """
    wanted = list(keys)
    if not wanted:
        raise TagRuleError(TagRule.KEYS_REQUIRED, "at least one tag key is required")
    if len(wanted) > MAX_TAGS:
        raise TagRuleError(TagRule.INVALID_KEYS, f"at most {MAX_TAGS} tag keys at a time")
    doomed = {_fold(_check_key(key, TagRule.INVALID_KEYS), case_sensitive) for key in wanted}
    return {k: v for k, v in existing.items() if _fold(k, case_sensitive) not in doomed}


def parse_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``KEY=VALUE`` arguments (the value may be empty or hold ``=``) as a mapping.

    Raises:
        TagRuleError: an argument without ``=`` or a key given twice.
    """
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise TagRuleError(TagRule.INVALID_TAG, f"{pair!r}: expected KEY=VALUE")
        if key in result:
            raise TagRuleError(TagRule.INVALID_TAG, f"duplicate tag key {key!r}")
        result[key] = value
    return result


def stored_tags(column: Mapping[str, object] | None) -> dict[str, str]:
    """A row's JSON `tags` column as text (what the database holds is trusted, not typed)."""
    return {str(k): str(v) for k, v in (column or {}).items()}
