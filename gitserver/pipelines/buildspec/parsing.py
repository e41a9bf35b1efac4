"""Parse and validate a buildspec (version 0.2) into `spec.Buildspec`.

Keys CodeBuild accepts that this runner does not act on (`proxy`, `batch`,
`runtime-versions`, `git-credential-helper`, `run-as`) are accepted and ignored, so an
existing buildspec parses unchanged; `run-as` is kept on the values for the caller to
note. Unknown keys are errors, which catches typos such as `phase:` early.
"""

from __future__ import annotations

import re

from gitserver.pipelines.buildspec.spec import (
    ArtifactSpec,
    Buildspec,
    CacheSpec,
    Env,
    FailureAction,
    OnFailure,
    Phase,
    PhaseName,
    ReportGroup,
)
from gitserver.pipelines.buildspec.yamlnodes import Node, compose

_TOP = frozenset(
    {"version", "run-as", "env", "proxy", "batch", "phases", "artifacts", "cache", "reports"}
)
_ENV = frozenset(
    {
        "shell",
        "variables",
        "parameter-store",
        "secrets-manager",
        "secrets",
        "exported-variables",
        "git-credential-helper",
    }
)
_PHASE = frozenset({"run-as", "on-failure", "runtime-versions", "commands", "finally"})
_ARTIFACTS = frozenset(
    {
        "files",
        "name",
        "discard-paths",
        "base-directory",
        "exclude-paths",
        "enable-symlinks",
        "s3-prefix",
        "secondary-artifacts",
    }
)
_CACHE = frozenset({"paths", "key", "fallback-keys", "action"})
_REPORT = frozenset({"files", "base-directory", "discard-paths", "file-format"})
_SHELLS = {"bash": "bash", "/bin/bash": "bash", "sh": "sh", "/bin/sh": "sh"}
REPORT_FORMATS = frozenset(
    {
        "JUNITXML",
        "CUCUMBERJSON",
        "NUNITXML",
        "NUNIT3XML",
        "TESTNGXML",
        "VISUALSTUDIOTRX",
        "CLOVERXML",
        "COBERTURAXML",
        "JACOCOXML",
        "SIMPLECOV",
    }
)
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IDENTIFIER = re.compile(r"[A-Za-z0-9_]{1,128}")
_RETRY = re.compile(r"RETRY(?:-(?P<count>\d+))?(?:-(?P<pattern>.+))?", re.DOTALL)
MAX_RETRIES = 100


def parse_buildspec(text: str) -> Buildspec:
    """Parse a buildspec's YAML text.

    Raises:
        InvalidBuildspec: the first rule it breaks, with the YAML path and line.
    """
    root = compose(text)
    sections = dict(root.items(_TOP))
    if "version" not in sections:
        raise root.fail("version is required (0.2)")
    version = sections["version"].text()
    if version != "0.2":
        raise sections["version"].fail(f"version {version} is not supported; use 0.2")
    env = _env(sections["env"]) if "env" in sections else Env()
    phases = _phases(sections["phases"]) if "phases" in sections else ()
    artifacts: ArtifactSpec | None = None
    secondary: tuple[ArtifactSpec, ...] = ()
    if "artifacts" in sections and not sections["artifacts"].is_null():
        artifacts, secondary = _artifacts(sections["artifacts"])
    cache = _cache(sections["cache"]) if "cache" in sections else None
    reports = _reports(sections["reports"]) if "reports" in sections else ()
    run_as = sections["run-as"].string() if "run-as" in sections else None
    return Buildspec(version, env, phases, artifacts, secondary, cache, reports, run_as)


def _variable_name(node: Node, name: str) -> str:
    if not _VARIABLE.fullmatch(name):
        raise node.fail("is not a valid environment variable name")
    if name.startswith("CODEBUILD_"):
        raise node.fail("the CODEBUILD_ prefix is reserved")
    return name


def _env(node: Node) -> Env:
    if node.is_null():
        return Env()
    shell, variables, secrets = "bash", [], []
    exported: list[tuple[str, Node]] = []
    for key, value in node.items(_ENV):
        if key == "shell":
            shell = _SHELLS.get(value.string(), "")
            if not shell:
                raise value.fail("must be bash or sh")
        elif key == "variables" and not value.is_null():
            for name, item in value.items():
                variables.append((_variable_name(item, name), item.text()))
        elif key in {"parameter-store", "secrets-manager", "secrets"} and not value.is_null():
            for name, item in value.items():
                secrets.append((_variable_name(item, name), item.string()))
        elif key == "exported-variables" and not value.is_null():
            for item in value.sequence():
                exported.append((_variable_name(item, item.string()), item))
    secret_names = {name for name, _ in secrets}
    for name, item in exported:
        if name in secret_names:
            raise item.fail("a secret cannot be exported")
    return Env(shell, tuple(variables), tuple(secrets), tuple(name for name, _ in exported))


def _phases(node: Node) -> tuple[Phase, ...]:
    if node.is_null():
        return ()
    found: dict[PhaseName, Phase] = {}
    for key, value in node.items(frozenset(p.value for p in PhaseName)):
        found[PhaseName(key)] = _phase(PhaseName(key), value)
    return tuple(found[name] for name in PhaseName if name in found)


def _phase(name: PhaseName, node: Node) -> Phase:
    if node.is_null():
        return Phase(name)
    fields = dict(node.items(_PHASE))
    commands = _commands(fields["commands"]) if "commands" in fields else ()
    finally_ = _commands(fields["finally"]) if "finally" in fields else ()
    on_failure = _on_failure(fields["on-failure"]) if "on-failure" in fields else None
    run_as = fields["run-as"].string() if "run-as" in fields else None
    return Phase(name, commands, finally_, on_failure, run_as)


def _commands(node: Node) -> tuple[str, ...]:
    if node.is_null():
        return ()
    # The literal text: `- true` is the command `true`, not YAML's boolean.
    items = [node] if not node.sequence_like() else node.sequence()
    for item in items:
        if not item.text().strip():
            raise item.fail("a command cannot be empty")
    return tuple(item.text() for item in items)


def _on_failure(node: Node) -> OnFailure:
    value = node.string()
    if value in {"ABORT", "CONTINUE"}:
        return OnFailure(FailureAction(value))
    match = _RETRY.fullmatch(value)
    if match is None:
        raise node.fail("must be ABORT, CONTINUE, RETRY, RETRY-n or RETRY-regex")
    count, pattern = match["count"], match["pattern"]
    retries = int(count) if count is not None else 3
    if retries > MAX_RETRIES:
        raise node.fail(f"at most {MAX_RETRIES} retries")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as error:
            raise node.fail(f"not a valid regular expression: {error}") from None
    return OnFailure(FailureAction.RETRY, retries, pattern)


def _artifacts(node: Node) -> tuple[ArtifactSpec | None, tuple[ArtifactSpec, ...]]:
    fields = dict(node.items(_ARTIFACTS))
    secondary: list[ArtifactSpec] = []
    if "secondary-artifacts" in fields and not fields["secondary-artifacts"].is_null():
        for identifier, value in fields["secondary-artifacts"].items():
            if not _IDENTIFIER.fullmatch(identifier):
                raise value.fail("an artifact identifier is letters, digits and _")
            item = dict(value.items(_ARTIFACTS - {"secondary-artifacts"}))
            secondary.append(_artifact(value, item, identifier))
    if "files" not in fields:
        if secondary:
            return None, tuple(secondary)
        raise node.fail("files is required")
    return _artifact(node, fields, None), tuple(secondary)


def _artifact(node: Node, fields: dict[str, Node], identifier: str | None) -> ArtifactSpec:
    if "files" not in fields:
        raise node.fail("files is required")
    files = fields["files"].strings()
    if not files:
        raise fields["files"].fail("needs at least one path")
    name = fields["name"].text() if "name" in fields else None
    base = fields["base-directory"].string() if "base-directory" in fields else None
    if base is not None:
        _relative(fields["base-directory"], base)
    discard = fields["discard-paths"].boolean() if "discard-paths" in fields else False
    exclude = fields["exclude-paths"].strings() if "exclude-paths" in fields else ()
    symlinks = fields["enable-symlinks"].boolean() if "enable-symlinks" in fields else False
    return ArtifactSpec(files, identifier, name, base, discard, exclude, symlinks)


def _relative(node: Node, path: str) -> None:
    parts = path.replace("\\", "/").split("/")
    if path.startswith("/") or ".." in parts:
        raise node.fail("must be a path inside the source directory")


def _cache(node: Node) -> CacheSpec | None:
    if node.is_null():
        return None
    fields = dict(node.items(_CACHE))
    if "paths" not in fields:
        raise node.fail("paths is required")
    paths = fields["paths"].strings()
    for index, path in enumerate(paths):
        _relative(fields["paths"].child(fields["paths"].node, index), path)
    key = fields["key"].text() if "key" in fields else None
    return CacheSpec(paths, key)


def _reports(node: Node) -> tuple[ReportGroup, ...]:
    if node.is_null():
        return ()
    groups = []
    for name, value in node.items():
        fields = dict(value.items(_REPORT))
        if "files" not in fields:
            raise value.fail("files is required")
        base = fields["base-directory"].string() if "base-directory" in fields else None
        if base is not None:
            _relative(fields["base-directory"], base)
        discard = fields["discard-paths"].boolean() if "discard-paths" in fields else False
        file_format = fields["file-format"].string() if "file-format" in fields else "JUNITXML"
        if file_format not in REPORT_FORMATS:
            raise fields["file-format"].fail(f"unknown format {file_format}")
        groups.append(ReportGroup(name, fields["files"].strings(), base, discard, file_format))
    return tuple(groups)
