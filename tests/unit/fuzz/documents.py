"""Fuzz properties of names, ref globs, buildspecs and pipeline definitions."""

from __future__ import annotations

import json
from typing import Any

import pygit2
import yaml
from hypothesis import strategies as st

from gitserver.errors import InvalidInput
from gitserver.pipelines.buildspec import InvalidBuildspec, parse_buildspec
from gitserver.pipelines.definitions import DefinitionError, parse_pipeline
from gitserver.pipelines.definitions.triggers import pull_request_matches, push_matches
from gitserver.pipelines.definitions.wire import to_wire
from gitserver.store.branches import validate_branch_name, validate_new_branch_name
from gitserver.store.errors import InvalidBranchName, InvalidRepositoryName
from gitserver.store.naming import validate_repository_name
from tests.unit.fuzz.mutations import any_text, deep, json_values, mutated_json, mutated_text
from tests.unit.pipelines.definition_examples import base
from tests.unit.pipelines.test_buildspec_parsing import FULL
from triggers.subscriptions import ref_matches

names = st.sampled_from(["repo", "my.repo-1_x", "a" * 100, "x.git", "..", "."]) | any_text


def check_repository_name(name: str) -> None:
    """A repository name is accepted exactly when CodeCommit's rule allows it."""
    try:
        validate_repository_name(name)
    except InvalidRepositoryName as exc:
        assert str(exc).startswith("The repository name is not valid")
        return
    assert name.isascii() and 1 <= len(name) <= 100 and name not in {".", ".."}
    assert not name.endswith(".git")
    assert all(c.isalnum() or c in "._-" for c in name)


branch_names = (
    st.sampled_from(["main", "feature/x", "heads/main", "a.lock", "@", "x/.y", "é"])
    | st.text(st.characters(codec="utf-8"), min_size=1, max_size=30)
    | any_text
)


def check_branch_name(name: str) -> None:
    """A branch name the store accepts is one git accepts too (libgit2's check)."""
    try:
        validate_branch_name(name)
        validate_new_branch_name(name)
    except InvalidBranchName as exc:
        assert str(exc).startswith("The branch name is not valid")
        return
    assert pygit2.reference_is_valid_name(f"refs/heads/{name}"), name


globs = (
    st.sampled_from(["main", "release/*", "refs/heads/*", "refs/tags/v[0-9]*", "[", "*", "[!"])
    | any_text
)
ref_names = st.sampled_from(["refs/heads/main", "refs/tags/v1", "refs/heads/release/1"])


def check_ref_matches(case: tuple[list[str], str]) -> None:
    """Subscription ref filters answer for any glob and ref."""
    patterns, ref = case
    assert ref_matches(patterns, ref) in (True, False)


patterns = st.lists(
    st.sampled_from(
        ["main", "release/**", "{a,b}", "[!x]*", "v{1..9}", "**/*.py", "\\", "{a,b}" * 5]
    )
    | st.text("{},ab*?[]!/\\.-", min_size=1, max_size=40)
    | any_text,
    min_size=1,
    max_size=3,
)


def _with_trigger(includes: list[str], excludes: list[str]) -> dict[str, Any]:
    wire = base()
    criteria = {"includes": includes, "excludes": excludes}
    wire["triggers"] = [
        {
            "providerType": "CodeStarSourceConnection",
            "gitConfiguration": {
                "sourceActionName": "Source",
                "push": [{"branches": criteria, "filePaths": criteria}],
                "pullRequest": [{"branches": criteria}],
            },
        }
    ]
    return wire


def check_trigger_globs(case: tuple[list[str], list[str], str]) -> None:
    """A pipeline whose trigger globs pass validation decides any push or pull request."""
    includes, excludes, value = case
    try:
        definition = parse_pipeline(json.dumps(_with_trigger(includes, excludes)))
    except DefinitionError as exc:
        assert exc.problems and all(p.path.startswith("triggers[0]") for p in exc.problems)
        return
    assert push_matches(definition, "Source", branch=value, changed_paths=[value]) in (True, False)
    assert push_matches(definition, "Source", tag=value) in (True, False)
    matched = pull_request_matches(
        definition, event="OPEN", destination_branch=value, changed_paths=[value]
    )
    assert matched in (True, False)


@st.composite
def buildspec_texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["mutated-text", "mutated-yaml", "deep", "text"]))
    if kind == "mutated-text":
        return draw(mutated_text(FULL, max_edits=4))
    if kind == "mutated-yaml":
        document = draw(mutated_json(yaml.safe_load(FULL)))
        return yaml.safe_dump(document, allow_unicode=draw(st.booleans()))
    if kind == "deep":
        return "version: 0.2\nphases: " + deep(draw(st.sampled_from([50, 999, 1001, 20_000])))
    return draw(any_text)


def check_buildspec(text: str) -> None:
    """A buildspec parses, or is an InvalidBuildspec naming where (path or line) and why."""
    try:
        parse_buildspec(text)
    except InvalidBuildspec as exc:
        assert exc.reason and str(exc)
        assert isinstance(exc, InvalidInput)


@st.composite
def pipeline_texts(draw: st.DrawFn) -> tuple[str, str | None]:
    filename = draw(st.sampled_from([None, "pipeline.json", "pipeline.yml", "p.txt"]))
    kind = draw(st.sampled_from(["mutated-json", "mutated-yaml", "mutated-text", "deep", "any"]))
    document = draw(mutated_json(base(), max_edits=3))
    if kind == "mutated-json":
        return json.dumps(document), filename
    if kind == "mutated-yaml":
        return yaml.safe_dump(document), filename
    if kind == "mutated-text":
        return draw(mutated_text(json.dumps(base()), max_edits=4)), filename
    if kind == "deep":
        depth = draw(st.sampled_from([50, 999, 1001, 20_000]))
        nested = deep(depth, draw(st.sampled_from(["list", "object"])))
        return '{"pipeline": ' + nested + "}", filename
    return json.dumps(draw(json_values)), filename


def check_pipeline(case: tuple[str, str | None]) -> None:
    """A pipeline file parses to a definition that writes back to itself, or is a
    DefinitionError listing each problem at its JSON path."""
    text, filename = case
    try:
        definition = parse_pipeline(text, filename=filename)
    except DefinitionError as exc:
        assert exc.problems and str(exc)
        assert all(isinstance(p.path, str) and p.reason for p in exc.problems)
        return
    assert parse_pipeline(json.dumps(to_wire(definition))) == definition
