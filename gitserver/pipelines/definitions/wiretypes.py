"""Reading untrusted JSON values by type, recording a `Problem` per mismatch.

Every reader returns None for a missing or broken value after recording why, so one
pass over a document reports all its problems instead of stopping at the first.
A JSON `null` counts as left out (YAML writes one for `key:` with no value).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, TypeVar

from gitserver.pipelines.definitions.errors import Kind, Problem

E = TypeVar("E", bound=StrEnum)


def at(path: str, key: str) -> str:
    """The path of `key` inside the object at `path` (`stages[0]` + `name`)."""
    return f"{path}.{key}" if path else key


def describe(value: object) -> str:
    """A JSON type name for a message: object, array, string, number, boolean, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


class Reader:
    """Typed reads of a parsed document that collect problems."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, kind: Kind, path: str, reason: str) -> None:
        """Record one problem."""
        self.problems.append(Problem(kind, path, reason))

    def mapping(
        self,
        value: object,
        path: str,
        kind: Kind,
        *,
        known: Iterable[str],
        unsupported: Iterable[str] = (),
    ) -> dict[str, Any] | None:
        """An object whose keys are all `known`; null members are dropped."""
        if not isinstance(value, dict):
            self.fail(kind, path, f"must be an object, not {describe(value)}")
            return None
        known, unsupported = set(known), set(unsupported)
        for key in value:
            if key in unsupported:
                self.fail(kind, at(path, str(key)), "is not supported by this server")
            elif key not in known:
                expected = ", ".join(sorted(known))
                self.fail(kind, at(path, str(key)), f"unknown field (expected one of {expected})")
        return {k: v for k, v in value.items() if k in known and v is not None}

    def required(self, m: dict[str, Any], key: str, path: str, kind: Kind) -> object:
        """`m[key]`, recording a problem when it is missing."""
        if key not in m:
            self.fail(kind, at(path, key), "is required")
        return m.get(key)

    def string(self, value: object, path: str, kind: Kind) -> str | None:
        """A string, or None when left out."""
        if value is None or isinstance(value, str):
            return value
        self.fail(kind, path, f"must be a string, not {describe(value)}")
        return None

    def scalar(self, value: object, path: str, kind: Kind) -> str | None:
        """A string, or a YAML number or boolean as its JSON-string spelling."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return self.string(value, path, kind)

    def integer(self, value: object, path: str, kind: Kind) -> int | None:
        """An integer (not a boolean), or None when left out."""
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        self.fail(kind, path, f"must be an integer, not {describe(value)}")
        return None

    def enum(self, value: object, cls: type[E], path: str, kind: Kind) -> E | None:
        """One of the enum's values, or None when left out."""
        if value is None:
            return None
        allowed = [e.value for e in cls]
        if value in allowed:
            return cls(value)
        shown = f'"{value}"' if isinstance(value, str) else describe(value)
        self.fail(kind, path, f"{shown} is not one of {', '.join(allowed)}")
        return None

    def array(self, value: object, path: str, kind: Kind) -> list[Any] | None:
        """A list, or None when left out."""
        if value is None or isinstance(value, list):
            return value
        self.fail(kind, path, f"must be an array, not {describe(value)}")
        return None

    def strings(self, value: object, path: str, kind: Kind) -> tuple[str, ...] | None:
        """A list of strings, or None when left out."""
        items = self.array(value, path, kind)
        if items is None:
            return None
        found = tuple(self.string(item, f"{path}[{i}]", kind) for i, item in enumerate(items))
        return tuple(s for s in found if s is not None)

    def configuration(self, value: object, path: str, kind: Kind) -> dict[str, str]:
        """An action's configuration: a string map (YAML scalars become their strings)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(kind, path, f"must be an object, not {describe(value)}")
            return {}
        found = {}
        for key, raw in value.items():
            if isinstance(raw, dict | list) or raw is None:
                self.fail(kind, at(path, str(key)), f"must be a string, not {describe(raw)}")
                continue
            text = self.scalar(raw, at(path, str(key)), kind)
            if text is not None:
                found[str(key)] = text
        return found
