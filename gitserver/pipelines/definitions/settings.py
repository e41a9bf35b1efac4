"""Typed readings of provider configuration values, for the checks and for the engine.

Configuration values are strings on the wire; these read the ones with structure: the
CodeBuild `EnvironmentVariables` JSON list, a `BuildSpec` (a path or inline YAML), the
Script provider's `Commands` and hooks document, booleans and timeouts. Each raises
`ValueError` with a reason; `providers.py` turns that into a `Problem` with its path.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

import yaml

from gitserver.pipelines.yamltext import SAFE_LOADER


class VariableType(StrEnum):
    """The type of a CodeBuild environment variable."""

    PLAINTEXT = "PLAINTEXT"
    SECRETS_MANAGER = "SECRETS_MANAGER"
    PARAMETER_STORE = "PARAMETER_STORE"


@dataclass(frozen=True, slots=True)
class EnvironmentVariable:
    """One entry of CodeBuild's `EnvironmentVariables`."""

    name: str
    value: str
    type: VariableType = VariableType.PLAINTEXT


@dataclass(frozen=True, slots=True)
class BuildSpecRef:
    """Where a buildspec comes from: a path in the input artifact, or the text itself."""

    inline: bool
    text: str


DEPLOY_HOOKS = ("BeforeInstall", "Install", "AfterInstall", "ValidateService")
"""The Script provider's hooks, in the order they run (AppSpec's, for EC2/on-premises)."""

_RESERVED_PREFIX = "CODEBUILD_"


def environment_variables(text: str) -> tuple[EnvironmentVariable, ...]:
    """CodeBuild's `EnvironmentVariables`: a JSON list of {name, value, type}."""
    try:
        items = json.loads(text)
    except ValueError as e:
        raise ValueError(f"is not JSON: {e.args[0]}") from None
    if not isinstance(items, list):
        raise ValueError("must be a JSON array of {name, value, type} objects")
    found = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or set(item) - {"name", "value", "type"}:
            raise ValueError(f"[{i}] must be an object with name, value and type only")
        name, value, kind = item.get("name"), item.get("value"), item.get("type", "PLAINTEXT")
        if not isinstance(name, str) or not name:
            raise ValueError(f"[{i}].name must be a non-empty string")
        if name.startswith(_RESERVED_PREFIX):
            raise ValueError(f"[{i}].name: names starting with {_RESERVED_PREFIX} are reserved")
        if not isinstance(value, str):
            raise ValueError(f"[{i}].value must be a string")
        if kind not in {t.value for t in VariableType}:
            allowed = ", ".join(t.value for t in VariableType)
            raise ValueError(f"[{i}].type must be one of {allowed}")
        found.append(EnvironmentVariable(name, value, VariableType(kind)))
    names = [v.name for v in found]
    if len(set(names)) != len(names):
        raise ValueError("names a variable twice")
    return tuple(found)


def buildspec(text: str) -> BuildSpecRef:
    """A `BuildSpec` value: inline YAML if it spans lines or starts with `{`, else a path."""
    if "\n" in text or text.lstrip().startswith("{"):
        document = _yaml(text)
        if not isinstance(document, dict) or "version" not in document:
            raise ValueError("an inline buildspec must be a YAML mapping with a version")
        return BuildSpecRef(inline=True, text=text)
    return BuildSpecRef(inline=False, text=relative_path(text))


def relative_path(text: str) -> str:
    """A path inside an artifact: relative, normalized, not leaving it."""
    path = posixpath.normpath(text.strip())
    if not text.strip() or path.startswith(("/", "../")) or path in {"..", "."}:
        raise ValueError(f'"{text}" must be a relative path inside the source')
    return path


def commands(text: str) -> tuple[str, ...]:
    """The Script provider's `Commands`: one shell command per non-blank line."""
    found = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not found:
        raise ValueError("must hold at least one command")
    return found


def hooks(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A hooks document (`hooks: {BeforeInstall: [commands], ...}`), in run order."""
    document = _yaml(text)
    if not isinstance(document, dict) or not isinstance(document.get("hooks"), dict):
        raise ValueError("a deploy document must be a YAML mapping with a hooks mapping")
    declared = document["hooks"]
    unknown = set(declared) - set(DEPLOY_HOOKS)
    if unknown:
        names = ", ".join(sorted(map(str, unknown)))
        raise ValueError(f"unknown hooks {names} (known: {', '.join(DEPLOY_HOOKS)})")
    found = []
    for name in DEPLOY_HOOKS:
        listed = declared.get(name)
        if listed is None:
            continue
        if not isinstance(listed, list) or not all(isinstance(c, str) for c in listed):
            raise ValueError(f"hooks.{name} must be a list of commands")
        found.append((name, tuple(listed)))
    return tuple(found)


def boolean(text: str) -> bool:
    """`true` or `false` (any case), as CodePipeline spells configuration booleans."""
    if text.lower() not in {"true", "false"}:
        raise ValueError(f'"{text}" must be true or false')
    return text.lower() == "true"


def minutes(text: str, low: int, high: int) -> int:
    """A whole number of minutes in [low, high]."""
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f'"{text}" must be a whole number of minutes from {low} to {high}')
    return int(text)


def url(text: str) -> str:
    """An absolute http or https URL with a host."""
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f'"{text}" must be an http or https URL')
    return text


def _yaml(text: str) -> object:
    try:
        return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as e:
        raise ValueError(f"is not valid YAML: {str(e).splitlines()[0]}") from None
    except RecursionError:
        raise ValueError("is nested too deeply") from None
