"""Element-level checks shared by the grammar: value shapes, action names, ARNs.

Each check raises ``MalformedPolicyDocument`` with the JSON path it was given.
"""

from __future__ import annotations

import re

from auth.policy.errors import MalformedPolicyDocument
from auth.policy.variables import Template, TemplateSyntaxError, parse_template

# IAM UG "IAM JSON policy elements: Action": ``service:Action`` with wildcards, or ``*``.
_ACTION = re.compile(r"[A-Za-z0-9*?-]+:[A-Za-z0-9_*?-]+")
_VARIABLE = re.compile(r"\$\{[^}]*\}")


class DuplicateKey(ValueError):
    """A JSON object names the same key twice."""


def closed(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """``json.loads`` hook refusing duplicate keys: which one wins is undefined in JSON."""
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(f"duplicate key {key!r}")
        result[key] = value
    return result


def string_list(raw: object, path: str) -> tuple[str, ...]:
    """A string or a non-empty list of strings, as a tuple."""
    if isinstance(raw, str):
        return (raw,)
    if not isinstance(raw, list):
        raise MalformedPolicyDocument(path, "Value must be a string or a list of strings.")
    if not raw:
        raise MalformedPolicyDocument(path, "Value must not be an empty list.")
    for i, item in enumerate(raw):
        if not isinstance(item, str):
            raise MalformedPolicyDocument(f"{path}[{i}]", "List items must be strings.")
    return tuple(raw)


def _scalar(raw: object, path: str) -> str:
    # AWS accepts JSON booleans and numbers as condition values and compares their text.
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | float):
        return str(raw)
    raise MalformedPolicyDocument(path, "Condition values must be strings, numbers or booleans.")


def condition_values(raw: object, path: str) -> tuple[str, ...]:
    """A condition value or a non-empty list of them, as text."""
    if not isinstance(raw, list):
        return (_scalar(raw, path),)
    if not raw:
        raise MalformedPolicyDocument(path, "Value must not be an empty list.")
    return tuple(_scalar(item, f"{path}[{i}]") for i, item in enumerate(raw))


def check_action(action: str, path: str) -> None:
    """``*`` or ``vendor:Name`` with ``*``/``?`` wildcards."""
    if action == "*":
        return
    if ":" not in action:
        raise MalformedPolicyDocument(
            path, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        )
    if not _ACTION.fullmatch(action):
        raise MalformedPolicyDocument(path, f"Action {action} contains invalid characters.")


def check_resource(resource: str, path: str) -> None:
    """``*`` or ``arn:partition:service:region:account:resource`` (six parts at least)."""
    if resource == "*":
        return
    # A variable may hold a colon (``${aws:username}``); it is one character of the ARN.
    parts = _VARIABLE.sub("v", resource).split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[1] or not parts[2]:
        raise MalformedPolicyDocument(path, f'Resource {resource} must be in ARN format or "*".')


def template(text: str, path: str, variables: bool) -> Template:
    """Parse policy variables in ``text`` (only under Version 2012-10-17)."""
    try:
        return parse_template(text, variables=variables)
    except TemplateSyntaxError as exc:
        raise MalformedPolicyDocument(path, f"Invalid policy variable: {exc}.") from None
