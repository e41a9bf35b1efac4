"""Parse and validate an IAM identity-policy document (on write, never on the hot path).

Grammar (IAM UG "IAM JSON policy element reference"): ``Version`` (``2012-10-17``, or
``2008-10-17`` where ``${...}`` is literal text; a missing Version means 2008-10-17, as
on AWS), optional ``Id``, ``Statement`` (one object or a non-empty list). A statement has
an optional alphanumeric ``Sid`` unique in the document, ``Effect`` (``Allow``/``Deny``),
exactly one of ``Action``/``NotAction``, exactly one of ``Resource``/``NotResource`` and
an optional ``Condition``. Every other element is refused, ``Principal`` included:
identity policies have none. Element names and values such as ``Allow`` are
case-sensitive; JSON objects with duplicate keys are refused.

Size limits (IAM quotas; whitespace is not counted, as on AWS): an inline user policy
2,048 characters, an inline group policy 5,120, an inline role policy 10,240, a managed
policy 6,144. ``parse_policy(doc)`` without a kind checks no size: stored documents were
checked when written.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from auth.policy.errors import MalformedPolicyDocument, PolicySizeExceeded
from auth.policy.locate import locate
from auth.policy.operators import VALIDATORS, Operator, parse_operator
from auth.policy.validation import (
    check_action,
    check_resource,
    closed,
    condition_values,
    string_list,
    template,
)
from auth.policy.variables import Template

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"
_ELEMENTS = frozenset({"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource"})
_SID = re.compile(r"[A-Za-z0-9]+")
_CONDITION_KEY = re.compile(r"[A-Za-z0-9-]+:.+")  # tag keys may hold spaces


class PolicyKind(StrEnum):
    """Where a document is attached; decides its size limit."""

    USER_INLINE = "user-inline"
    GROUP_INLINE = "group-inline"
    ROLE_INLINE = "role-inline"
    MANAGED = "managed"


SIZE_LIMITS: Mapping[PolicyKind, int] = {
    PolicyKind.USER_INLINE: 2048,
    PolicyKind.GROUP_INLINE: 5120,
    PolicyKind.ROLE_INLINE: 10240,
    PolicyKind.MANAGED: 6144,
}


class Effect(StrEnum):
    """A statement's ``Effect``."""

    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True, slots=True)
class ConditionEntry:
    """One key under one operator: ``{"StringLike": {"aws:username": ["a*", "b"]}}``."""

    operator: Operator
    key: str
    values: tuple[Template, ...]


@dataclass(frozen=True, slots=True)
class Statement:
    """A validated statement; ``index`` is its position in the document."""

    index: int
    sid: str | None
    effect: Effect
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[Template, ...]
    not_resource: bool
    conditions: tuple[ConditionEntry, ...]


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """A validated document; ``digest`` is the sha256 of its canonical JSON."""

    version: str | None
    id: str | None
    statements: tuple[Statement, ...]
    canonical: str
    digest: str


def canonical_json(document: str | Mapping[str, object]) -> tuple[object, str]:
    """The decoded document and its canonical text (sorted keys, no whitespace).

    Raises:
        MalformedPolicyDocument: not JSON, or an object with duplicate keys.
    """
    text = document if isinstance(document, str) else json.dumps(document)
    try:
        decoded = json.loads(text, object_pairs_hook=closed, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        error = MalformedPolicyDocument("", f"Syntax errors in policy: {exc}")
        error.offset = exc.pos
        raise error from None
    except (ValueError, TypeError) as exc:
        raise MalformedPolicyDocument("", f"Syntax errors in policy: {exc}") from None
    except RecursionError:
        raise MalformedPolicyDocument("", "Syntax errors in policy: nested too deeply") from None
    canonical = json.dumps(decoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return decoded, canonical


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def parse_policy(
    document: str | Mapping[str, object], kind: PolicyKind | None = None
) -> PolicyDocument:
    """Parse and validate a policy document given as JSON text or a decoded object.

    Raises:
        MalformedPolicyDocument: the document breaks the grammar; ``path`` says where,
            and ``offset`` where in the text (when the document is text).
        PolicySizeExceeded: longer than the limit of ``kind``.
    """
    try:
        return _parse(document, kind)
    except MalformedPolicyDocument as exc:
        if exc.offset is None and isinstance(document, str):
            exc.offset = locate(document, exc.path)
        raise


def _parse(document: str | Mapping[str, object], kind: PolicyKind | None) -> PolicyDocument:
    decoded, canonical = canonical_json(document)
    if kind is not None:
        text = document if isinstance(document, str) else canonical
        size = sum(1 for char in text if not char.isspace())
        if size > SIZE_LIMITS[kind]:
            raise PolicySizeExceeded(size, SIZE_LIMITS[kind])
    if not isinstance(decoded, dict):
        raise MalformedPolicyDocument("", "Policy document must be a JSON object.")
    for name in decoded:
        if name not in ("Version", "Id", "Statement"):
            raise MalformedPolicyDocument(name, f"Policy document has an unknown element {name}.")
    version = decoded.get("Version")
    if version is not None and version not in (VERSION_2012, VERSION_2008):
        raise MalformedPolicyDocument(
            "Version", "The policy must contain a valid version string: 2012-10-17 or 2008-10-17."
        )
    policy_id = decoded.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise MalformedPolicyDocument("Id", "Id must be a string.")
    raw = decoded.get("Statement")
    if raw is None:
        raise MalformedPolicyDocument("Statement", "Missing required field Statement.")
    if isinstance(raw, dict):
        items, paths = [raw], ["Statement"]
    elif isinstance(raw, list) and raw:
        items, paths = raw, [f"Statement[{i}]" for i in range(len(raw))]
    else:
        raise MalformedPolicyDocument(
            "Statement", "Statement must be an object or a non-empty list."
        )
    variables = version == VERSION_2012
    statements = tuple(
        _statement(item, path, index, variables)
        for index, (item, path) in enumerate(zip(items, paths, strict=True))
    )
    sids = [s.sid for s in statements if s.sid is not None]
    if len(sids) != len(set(sids)):
        raise MalformedPolicyDocument(
            "Statement", "Statement IDs (SID) in a single policy must be unique."
        )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return PolicyDocument(version, policy_id, statements, canonical, digest)


def _statement(raw: object, path: str, index: int, variables: bool) -> Statement:
    if not isinstance(raw, dict):
        raise MalformedPolicyDocument(path, "Statement must be a JSON object.")
    for name in raw:
        if name in ("Principal", "NotPrincipal"):
            raise MalformedPolicyDocument(
                f"{path}.{name}", "Policy document should not specify a principal."
            )
        if name not in _ELEMENTS and name != "Condition":
            raise MalformedPolicyDocument(
                f"{path}.{name}", f"Statement has an unknown element {name}."
            )
    sid = raw.get("Sid")
    if sid is not None and (not isinstance(sid, str) or not _SID.fullmatch(sid)):
        raise MalformedPolicyDocument(f"{path}.Sid", "Statement IDs (SID) must be alpha-numeric.")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        reason = (
            "Missing required field Effect." if effect is None else "Effect must be Allow or Deny."
        )
        raise MalformedPolicyDocument(f"{path}.Effect", reason)
    action_name = _exactly_one(raw, path, "Action", "NotAction")
    actions = string_list(raw[action_name], f"{path}.{action_name}")
    for i, action in enumerate(actions):
        check_action(action, f"{path}.{action_name}[{i}]")
    resource_name = _exactly_one(raw, path, "Resource", "NotResource")
    resources = string_list(raw[resource_name], f"{path}.{resource_name}")
    for i, resource in enumerate(resources):
        check_resource(resource, f"{path}.{resource_name}[{i}]")
    resource_templates = tuple(
        template(r, f"{path}.{resource_name}[{i}]", variables) for i, r in enumerate(resources)
    )
    conditions = _conditions(raw.get("Condition"), f"{path}.Condition", variables)
    return Statement(
        index=index,
        sid=sid,
        effect=Effect(effect),
        actions=actions,
        not_action=action_name == "NotAction",
        resources=resource_templates,
        not_resource=resource_name == "NotResource",
        conditions=conditions,
    )


def _exactly_one(raw: Mapping[str, object], path: str, name: str, negated: str) -> str:
    if (name in raw) == (negated in raw):
        raise MalformedPolicyDocument(
            path, f"Statement must contain exactly one of {name} or {negated}."
        )
    return name if name in raw else negated


def _conditions(raw: object, path: str, variables: bool) -> tuple[ConditionEntry, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise MalformedPolicyDocument(path, "Condition must be a JSON object.")
    entries: list[ConditionEntry] = []
    for name, block in raw.items():
        operator = parse_operator(name)
        block_path = f"{path}.{name}"
        if operator is None:
            raise MalformedPolicyDocument(block_path, f"Invalid Condition type : {name}.")
        if not isinstance(block, dict):
            raise MalformedPolicyDocument(block_path, "Condition operator must map keys to values.")
        seen: set[str] = set()
        for key, value in block.items():
            key_path = f"{block_path}.{key}"
            if not _CONDITION_KEY.fullmatch(key):
                raise MalformedPolicyDocument(
                    key_path,
                    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
                )
            if key.lower() in seen:  # IAM UG: condition key names are case-insensitive.
                raise MalformedPolicyDocument(key_path, f"Duplicate condition key {key}.")
            seen.add(key.lower())
            texts = condition_values(value, key_path)
            templates = tuple(
                template(t, f"{key_path}[{i}]", variables) for i, t in enumerate(texts)
            )
            _check_typed(operator, templates, key_path)
            entries.append(ConditionEntry(operator, key, templates))
    return tuple(entries)


def _check_typed(operator: Operator, templates: tuple[Template, ...], path: str) -> None:
    validate = VALIDATORS.get(operator.family)
    if validate is None:
        return
    for i, value in enumerate(templates):
        if value.has_variables:
            continue  # checked when the variable is resolved, at evaluation
        try:
            validate(value.render_text({}) or "")
        except ValueError as exc:
            raise MalformedPolicyDocument(
                f"{path}[{i}]", f"Invalid value for {operator.name}: {exc}."
            ) from None
