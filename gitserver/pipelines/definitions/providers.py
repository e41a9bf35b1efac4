"""The action providers this server runs, and the rules of their configuration.

Any other (category, provider) is refused, naming the supported ones. All are version 1.

==========  ============  ==========  =========================================================
Category    Provider      Owner       Configuration (* required)
==========  ============  ==========  =========================================================
Source      CodeCommit    AWS         RepositoryName*, BranchName*, PollForSourceChanges
                                      (true|false, accepted), OutputArtifactFormat (CODE_ZIP|
                                      CODEBUILD_CLONE_REF, accepted). No inputs, one output.
                                      Exports AuthorDate, BranchName, CommitId, CommitMessage,
                                      CommitterDate, RepositoryName.
Build,Test  CodeBuild     AWS         ProjectName (a label), BuildSpec (a path in the primary
                                      source, or inline YAML when it spans lines; default the
                                      source's buildspec.yml), EnvironmentVariables (JSON list
                                      of {name, value, type PLAINTEXT|SECRETS_MANAGER|
                                      PARAMETER_STORE}), PrimarySource (an input artifact;
                                      required with more than one), Network (none|host, ours),
                                      TimeoutInMinutes (5-2160, ours). 1-5 inputs, 0-5 outputs.
Approval    Manual        AWS         CustomData (<= 500 chars), ExternalEntityLink (a URL),
                                      NotificationArn (kept), TimeoutInMinutes (1-10080,
                                      default 10080 = 7 days; ours). No artifacts.
Invoke      Webhook       Custom      Url* (http or https), Secret, Method (POST). Ours; no
                                      output artifacts.
Deploy      Script        Custom      Commands (one per line) or BuildSpec (a hooks document,
                                      inline or a path: hooks BeforeInstall, Install,
                                      AfterInstall, ValidateService), exactly one of them;
                                      RollbackOnFailure (true|false), TimeoutInMinutes
                                      (5-2160). Ours; one input, no outputs.
==========  ============  ==========  =========================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gitserver.pipelines.definitions import settings
from gitserver.pipelines.definitions.errors import Kind, Problem
from gitserver.pipelines.definitions.model import Action, Category, Owner, PipelineDefinition

VERSION = "1"
APPROVAL_TIMEOUT_MINUTES = 7 * 24 * 60
CODECOMMIT_VARIABLES = (
    "AuthorDate", "BranchName", "CommitId", "CommitMessage", "CommitterDate", "RepositoryName",
)  # fmt: skip
NETWORKS = ("none", "host")
REPOSITORY_NAME = re.compile(r"[\w.-]{1,100}")
_BAD_BRANCH = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|^[-/.]|[/.]$|\.lock$")

Check = Callable[[Action, Mapping[str, str]], list[tuple[str, str]]]
"""A provider's own rules: (configuration key or "", reason) per problem."""


@dataclass(frozen=True, slots=True)
class Provider:
    """One supported action type and the shape of its configuration and artifacts."""

    categories: tuple[Category, ...]
    name: str
    owner: Owner
    keys: tuple[str, ...]
    required: tuple[str, ...]
    inputs: tuple[int, int]
    outputs: tuple[int, int]
    check: Check


def _source(action: Action, config: Mapping[str, str]) -> list[tuple[str, str]]:
    out = []
    repository = config.get("RepositoryName")
    if repository is not None and not REPOSITORY_NAME.fullmatch(repository):
        out.append(("RepositoryName", f'"{repository}" is not a repository name'))
    branch = config.get("BranchName")
    if branch is not None and _BAD_BRANCH.search(branch):
        out.append(("BranchName", f'"{branch}" is not a valid branch name'))
    out += _read(config, "PollForSourceChanges", settings.boolean)
    fmt = config.get("OutputArtifactFormat")
    if fmt is not None and fmt not in {"CODE_ZIP", "CODEBUILD_CLONE_REF"}:
        out.append(("OutputArtifactFormat", "must be CODE_ZIP or CODEBUILD_CLONE_REF"))
    return out


def _codebuild(action: Action, config: Mapping[str, str]) -> list[tuple[str, str]]:
    out = _read(config, "BuildSpec", settings.buildspec)
    out += _read(config, "EnvironmentVariables", settings.environment_variables)
    out += _read(config, "TimeoutInMinutes", lambda t: settings.minutes(t, 5, 2160))
    primary = config.get("PrimarySource")
    if primary is not None and primary not in action.input_artifacts:
        out.append(("PrimarySource", f'"{primary}" is not an input artifact of this action'))
    if primary is None and len(action.input_artifacts) > 1:
        out.append(("PrimarySource", "is required with more than one input artifact"))
    network = config.get("Network")
    if network is not None and network not in NETWORKS:
        out.append(("Network", f'"{network}" must be one of {", ".join(NETWORKS)}'))
    return out


def _manual(action: Action, config: Mapping[str, str]) -> list[tuple[str, str]]:
    out = _read(config, "TimeoutInMinutes", approval_minutes)
    out += _read(config, "ExternalEntityLink", settings.url)
    if len(config.get("CustomData", "")) > 500:
        out.append(("CustomData", "must be at most 500 characters long"))
    return out


def _webhook(action: Action, config: Mapping[str, str]) -> list[tuple[str, str]]:
    out = _read(config, "Url", settings.url)
    if config.get("Method", "POST") != "POST":
        out.append(("Method", "must be POST"))
    return out


def _script(action: Action, config: Mapping[str, str]) -> list[tuple[str, str]]:
    given = [key for key in ("Commands", "BuildSpec") if key in config]
    if len(given) != 1:
        return [("", "needs exactly one of Commands and BuildSpec in its configuration")]
    out = _read(config, "Commands", settings.commands)
    spec = config.get("BuildSpec")
    if spec is not None:
        inline = "\n" in spec or spec.lstrip().startswith("{")
        out += _read(config, "BuildSpec", settings.hooks if inline else settings.relative_path)
    out += _read(config, "RollbackOnFailure", settings.boolean)
    out += _read(config, "TimeoutInMinutes", lambda t: settings.minutes(t, 5, 2160))
    return out


def approval_minutes(text: str) -> int:
    """A Manual action's `TimeoutInMinutes`: 1 minute to 7 days."""
    return settings.minutes(text, 1, APPROVAL_TIMEOUT_MINUTES)


def approval_timeout(action: Action) -> int:
    """How long a Manual approval waits, in minutes (7 days unless configured)."""
    text = action.configuration.get("TimeoutInMinutes")
    return APPROVAL_TIMEOUT_MINUTES if text is None else approval_minutes(text)


def _read(
    config: Mapping[str, str], key: str, read: Callable[[str], object]
) -> list[tuple[str, str]]:
    if key not in config:
        return []
    try:
        read(config[key])
    except ValueError as e:
        return [(key, str(e))]
    return []


PROVIDERS: tuple[Provider, ...] = (
    Provider(
        (Category.SOURCE,), "CodeCommit", Owner.AWS,
        ("RepositoryName", "BranchName", "PollForSourceChanges", "OutputArtifactFormat"),
        ("RepositoryName", "BranchName"), (0, 0), (1, 1), _source,
    ),
    Provider(
        (Category.BUILD, Category.TEST), "CodeBuild", Owner.AWS,
        ("ProjectName", "BuildSpec", "EnvironmentVariables", "PrimarySource", "Network",
         "TimeoutInMinutes"),
        (), (1, 5), (0, 5), _codebuild,
    ),
    Provider(
        (Category.APPROVAL,), "Manual", Owner.AWS,
        ("CustomData", "ExternalEntityLink", "NotificationArn", "TimeoutInMinutes"),
        (), (0, 0), (0, 0), _manual,
    ),
    Provider(
        (Category.INVOKE,), "Webhook", Owner.CUSTOM, ("Url", "Secret", "Method"), ("Url",),
        (0, 5), (0, 0), _webhook,
    ),
    Provider(
        (Category.DEPLOY,), "Script", Owner.CUSTOM,
        ("Commands", "BuildSpec", "RollbackOnFailure", "TimeoutInMinutes"),
        (), (1, 1), (0, 0), _script,
    ),
)  # fmt: skip


def provider_of(action: Action) -> Provider | None:
    """The supported provider `action` declares, or None."""
    return next(
        (p for p in PROVIDERS if action.category in p.categories and p.name == action.provider),
        None,
    )


def supported(category: Category) -> tuple[str, ...]:
    """The providers supported for `category`."""
    return tuple(p.name for p in PROVIDERS if category in p.categories)


def output_variables(action: Action) -> tuple[str, ...] | None:
    """The variables `action` exports under its namespace, or None if only a run knows."""
    provider = provider_of(action)
    return CODECOMMIT_VARIABLES if provider is not None and provider.name == "CodeCommit" else None


def problems(definition: PipelineDefinition) -> list[Problem]:
    """Problems of every action's provider, configuration and artifact counts."""
    out: list[Problem] = []
    for s, a, _, action in definition.actions():
        out += _action_problems(action, f"stages[{s}].actions[{a}]")
    return out


def _action_problems(action: Action, path: str) -> list[Problem]:
    k = Kind.ACTION
    type_id = action.action_type_id
    provider = provider_of(action)
    if provider is None:
        names = ", ".join(supported(type_id.category))
        reason = f'"{type_id.provider}" is not a supported {type_id.category.value} provider'
        return [Problem(k, f"{path}.actionTypeId.provider", f"{reason} (supported: {names})")]
    out = []
    if type_id.owner is not provider.owner:
        reason = f"{provider.name} actions have owner {provider.owner.value}"
        out.append(Problem(k, f"{path}.actionTypeId.owner", reason))
    if type_id.version != VERSION:
        out.append(Problem(k, f"{path}.actionTypeId.version", f"{provider.name} is version 1"))
    config = action.configuration
    for key in config:
        if key not in provider.keys:
            reason = (
                f"unknown {provider.name} configuration key (known: {', '.join(provider.keys)})"
            )
            out.append(Problem(k, f"{path}.configuration.{key}", reason))
    for key in provider.required:
        if key not in config:
            out.append(Problem(k, f"{path}.configuration.{key}", "is required"))
    for field, count, (low, high) in (
        ("inputArtifacts", len(action.input_artifacts), provider.inputs),
        ("outputArtifacts", len(action.output_artifacts), provider.outputs),
    ):
        if not low <= count <= high:
            shown = str(low) if low == high else f"{low} to {high}"
            out.append(Problem(k, f"{path}.{field}", f"{provider.name} takes {shown}, not {count}"))
    for key, reason in provider.check(action, config):
        out.append(Problem(k, f"{path}.configuration{'.' + key if key else ''}", reason))
    return out
