"""Triggers: which pushes and pull requests start a pipeline, and their rules.

CodePipeline's semantics (pipelines-filter.html, GitConfiguration): a trigger belongs to
one source action; it starts the pipeline when any one of its filters matches, and a
filter matches when every criterion it has matches. A criterion matches a value that
matches one of its `includes` (all values when it has none) and none of its `excludes`
(excludes win). For `filePaths` the values are the changed paths, and the criterion
matches when at least one of them does. A push filter has `tags` or `branches` (with
optional `filePaths`): a tag push only ever matches `tags`, a branch push the others.

A source action that no trigger names keeps the default: a push to its `BranchName`
starts the pipeline, pull requests and tags do not.

Globs are wcmatch's with globstar and braces (`*` stays within a `/` segment, `**`
crosses them, `{a,b}`, `[a-z]`, `?`); names starting with `.` match too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from wcmatch import glob

from gitserver.pipelines.definitions.errors import Kind, Problem
from gitserver.pipelines.definitions.model import (
    TRIGGER_PROVIDER_TYPE,
    Action,
    Category,
    FilterCriteria,
    GitConfiguration,
    PipelineDefinition,
    PipelineType,
    PullRequestEvent,
)

MAX_TRIGGERS = 50
MAX_FILTERS = 3
MAX_PATTERNS = 8
_FLAGS = glob.GLOBSTAR | glob.BRACE | glob.DOTGLOB
# How many patterns one criterion's braces may expand to (wcmatch's own default).
_EXPANSIONS = 1000


def source_actions_for_repository(
    definition: PipelineDefinition, repository: str
) -> tuple[Action, ...]:
    """The CodeCommit source actions of `definition` that read `repository`."""
    return tuple(
        a
        for a in definition.source_actions()
        if a.provider == "CodeCommit" and a.configuration.get("RepositoryName") == repository
    )


def trigger_for(definition: PipelineDefinition, source_action: str) -> GitConfiguration | None:
    """The trigger configuration declared for a source action, or None (the default)."""
    return next(
        (
            t.git_configuration
            for t in definition.triggers
            if t.git_configuration.source_action_name == source_action
        ),
        None,
    )


def push_matches(
    definition: PipelineDefinition,
    source_action: str,
    *,
    branch: str | None = None,
    tag: str | None = None,
    changed_paths: Collection[str] = (),
) -> bool:
    """Whether a push of `branch` (or `tag`) to that source's repository starts the pipeline."""
    if (branch is None) == (tag is None):
        raise ValueError("push_matches needs exactly one of branch and tag")
    config = trigger_for(definition, source_action)
    if config is None:
        action = next((a for a in definition.source_actions() if a.name == source_action), None)
        return (
            branch is not None
            and action is not None
            and action.configuration.get("BranchName") == branch
        )
    for f in config.push or ():
        if tag is not None:
            if f.tags is not None and _matches(f.tags, tag):
                return True
        elif (
            f.tags is None
            and (f.branches or f.file_paths)
            and _matches(f.branches, branch or "")
            and _paths_match(f.file_paths, changed_paths)
        ):
            return True
    return False


def pull_request_matches(
    definition: PipelineDefinition,
    source_action: str | None = None,
    *,
    event: PullRequestEvent | str,
    destination_branch: str,
    changed_paths: Collection[str] = (),
) -> bool:
    """Whether a pull-request event starts the pipeline (no trigger, no start).

    `source_action` limits the check to that source's trigger; None checks them all.
    """
    kind = PullRequestEvent(event)
    for t in definition.triggers:
        config = t.git_configuration
        if source_action is not None and config.source_action_name != source_action:
            continue
        for f in config.pull_request or ():
            if (
                (f.events is None or kind in f.events)
                and _matches(f.branches, destination_branch)
                and _paths_match(f.file_paths, changed_paths)
            ):
                return True
    return False


def _matches(criteria: FilterCriteria | None, value: str) -> bool:
    if criteria is None:
        return True
    excludes, includes = list(criteria.excludes or ()), list(criteria.includes or ())
    if excludes and glob.globmatch(value, excludes, flags=_FLAGS, limit=_EXPANSIONS):
        return False
    return not includes or glob.globmatch(value, includes, flags=_FLAGS, limit=_EXPANSIONS)


def _paths_match(criteria: FilterCriteria | None, paths: Iterable[str]) -> bool:
    return criteria is None or any(_matches(criteria, p) for p in paths)


def problems(definition: PipelineDefinition) -> list[Problem]:
    """Problems of the `triggers` declarations."""
    d = definition
    out: list[Problem] = []
    if d.triggers and d.effective_pipeline_type is not PipelineType.V2:
        out.append(Problem(Kind.STRUCTURE, "triggers", "triggers need pipelineType V2"))
    if len(d.triggers) > MAX_TRIGGERS:
        out.append(Problem(Kind.VALUE, "triggers", f"at most {MAX_TRIGGERS} triggers"))
    sources = {a.name for a in d.source_actions() if a.category is Category.SOURCE}
    named: set[str] = set()
    for i, t in enumerate(d.triggers):
        path = f"triggers[{i}]"
        if t.provider_type != TRIGGER_PROVIDER_TYPE:
            reason = f'"{t.provider_type}" must be {TRIGGER_PROVIDER_TYPE}'
            out.append(Problem(Kind.VALUE, f"{path}.providerType", reason))
        config = t.git_configuration
        here = f"{path}.gitConfiguration"
        name = config.source_action_name
        if name not in sources:
            reason = f'"{name}" is not the name of a source action'
            out.append(Problem(Kind.STRUCTURE, f"{here}.sourceActionName", reason))
        elif name in named:
            reason = f'"{name}" already has a trigger'
            out.append(Problem(Kind.STRUCTURE, f"{here}.sourceActionName", reason))
        named.add(name)
        out += _filters_problems(config, here)
    return out


def _filters_problems(config: GitConfiguration, path: str) -> list[Problem]:
    out: list[Problem] = []
    for key, filters in (("push", config.push), ("pullRequest", config.pull_request)):
        if filters is not None and not 1 <= len(filters) <= MAX_FILTERS:
            reason = f"must hold 1 to {MAX_FILTERS} filters, not {len(filters)}"
            out.append(Problem(Kind.STRUCTURE, f"{path}.{key}", reason))
    for i, p in enumerate(config.push or ()):
        here = f"{path}.push[{i}]"
        if p.tags is not None and (p.branches is not None or p.file_paths is not None):
            reason = "tags cannot be combined with branches or filePaths"
            out.append(Problem(Kind.STRUCTURE, here, reason))
        if p.tags is None and p.branches is None and p.file_paths is None:
            out.append(Problem(Kind.STRUCTURE, here, "needs tags, branches or filePaths"))
        out += _criteria_problems(here, tags=p.tags, branches=p.branches, filePaths=p.file_paths)
    for i, r in enumerate(config.pull_request or ()):
        here = f"{path}.pullRequest[{i}]"
        if r.events is not None and not 1 <= len(set(r.events)) == len(r.events) <= 3:
            reason = "must list 1 to 3 different events of OPEN, UPDATED, CLOSED"
            out.append(Problem(Kind.STRUCTURE, f"{here}.events", reason))
        out += _criteria_problems(here, branches=r.branches, filePaths=r.file_paths)
    return out


def _criteria_problems(path: str, **criteria: FilterCriteria | None) -> list[Problem]:
    out = []
    for key, c in criteria.items():
        if c is None:
            continue
        here = f"{path}.{key}"
        if c.includes is None and c.excludes is None:
            out.append(Problem(Kind.STRUCTURE, here, "needs includes or excludes"))
        for side, patterns in (("includes", c.includes), ("excludes", c.excludes)):
            if patterns is None:
                continue
            if not 1 <= len(patterns) <= MAX_PATTERNS:
                reason = f"must hold 1 to {MAX_PATTERNS} patterns, not {len(patterns)}"
                out.append(Problem(Kind.STRUCTURE, f"{here}.{side}", reason))
            for j, pattern in enumerate(patterns):
                if not 1 <= len(pattern) <= 255:
                    reason = "must be 1 to 255 characters long"
                    out.append(Problem(Kind.VALUE, f"{here}.{side}[{j}]", reason))
            if not _expandable(patterns):
                reason = f"the braces expand to more than {_EXPANSIONS} patterns"
                out.append(Problem(Kind.VALUE, f"{here}.{side}", reason))
    return out


def _expandable(patterns: tuple[str, ...]) -> bool:
    """Whether wcmatch can expand the patterns' braces within its limit: past it,
    matching raises (`{a,b}` eleven times is 2,048 patterns), so a pipeline holding
    them would fail every push it is asked about."""
    try:
        glob.compile(list(patterns), flags=_FLAGS, limit=_EXPANSIONS)
    except Exception:  # wcmatch's PatternLimitException lives in a private module
        return False
    return True
