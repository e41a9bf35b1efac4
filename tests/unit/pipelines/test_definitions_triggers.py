"""Triggers: which pushes and pull requests start a pipeline, by CodePipeline's rules."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitserver.pipelines.definitions import (
    PipelineDefinition,
    PullRequestEvent,
    from_wire,
    pull_request_matches,
    push_matches,
    source_actions_for_repository,
    validate,
)
from tests.unit.pipelines.definition_examples import V2_PIPELINE, base


def _pipeline(git: dict[str, Any] | None = None) -> PipelineDefinition:
    wire = base()
    if git is not None:
        wire["triggers"] = [
            {
                "providerType": "CodeStarSourceConnection",
                "gitConfiguration": {"sourceActionName": "Source", **git},
            }
        ]
    return validate(from_wire(wire))


def test_without_triggers_a_push_to_the_source_branch_starts_it() -> None:
    d = _pipeline()
    assert push_matches(d, "Source", branch="main")
    assert not push_matches(d, "Source", branch="dev")
    assert not push_matches(d, "Source", tag="main")
    assert not push_matches(d, "Nope", branch="main")
    assert not pull_request_matches(d, event="OPEN", destination_branch="main")


V2 = from_wire(V2_PIPELINE)


@pytest.mark.parametrize(
    ("branch", "tag", "paths", "starts"),
    [
        pytest.param("main", None, ["src/app.py"], True, id="branch-and-path"),
        pytest.param("release/2024/1", None, ["src/a/b.c"], True, id="globstar-branch"),
        pytest.param("main", None, ["src/docs/x.md"], False, id="excluded-path-wins"),
        pytest.param("main", None, ["src/docs/x.md", "src/a.py"], True, id="one-path-left"),
        pytest.param("main", None, ["README.md"], False, id="path-not-included"),
        pytest.param("main", None, [], False, id="no-changed-paths"),
        pytest.param("dev", None, ["src/a.py"], False, id="branch-not-included"),
        pytest.param("mainline", None, ["src/a.py"], False, id="no-prefix-match"),
        pytest.param(None, "v1.2", [], True, id="tag"),
        pytest.param(None, "v1-beta2", [], False, id="tag-excluded"),
        pytest.param(None, "main", ["src/a.py"], False, id="tag-never-a-branch-filter"),
        pytest.param("v1.2", None, ["src/a.py"], False, id="branch-never-a-tag-filter"),
    ],
)
def test_push_filters(branch: str | None, tag: str | None, paths: list[str], starts: bool) -> None:
    assert push_matches(V2, "Source", branch=branch, tag=tag, changed_paths=paths) is starts


@pytest.mark.parametrize(
    ("event", "branch", "paths", "starts"),
    [
        pytest.param("OPEN", "main", ["src/x"], True, id="open"),
        pytest.param(PullRequestEvent.UPDATED, "main-2", ["src/x"], True, id="updated-glob"),
        pytest.param("CLOSED", "main", ["src/x"], False, id="event-not-listed"),
        pytest.param("OPEN", "dev", ["src/x"], False, id="branch"),
        pytest.param("OPEN", "main", ["docs/x"], False, id="paths"),
    ],
)
def test_pull_request_filters(event: str, branch: str, paths: list[str], starts: bool) -> None:
    got = pull_request_matches(V2, event=event, destination_branch=branch, changed_paths=paths)
    assert got is starts
    assert (
        pull_request_matches(
            V2, "Other", event=event, destination_branch=branch, changed_paths=paths
        )
        is False
    )


def test_any_filter_of_the_list_starts_it() -> None:
    d = _pipeline(
        {
            "push": [
                {"branches": {"includes": ["main"]}},
                {"branches": {"excludes": ["main", "wip/**"]}, "filePaths": {"includes": ["*.md"]}},
            ]
        }
    )
    assert push_matches(d, "Source", branch="main", changed_paths=["src/a.py"])
    assert push_matches(d, "Source", branch="feature", changed_paths=["README.md"])
    assert not push_matches(d, "Source", branch="feature", changed_paths=["docs/README.md"])
    assert not push_matches(d, "Source", branch="wip/x", changed_paths=["README.md"])


def test_a_trigger_replaces_the_default_for_its_source_only() -> None:
    d = _pipeline({"pullRequest": [{"events": ["CLOSED"]}]})
    assert not push_matches(d, "Source", branch="main"), "no push filter, no push start"
    assert pull_request_matches(d, event="CLOSED", destination_branch="anything")
    assert not pull_request_matches(d, event="OPEN", destination_branch="anything")


def test_globs_braces_classes_and_dot_files() -> None:
    d = _pipeline(
        {
            "push": [
                {
                    "branches": {"includes": ["{main,release-[0-9]}"]},
                    "filePaths": {"includes": ["**/*.py"], "excludes": ["**/test_?.py"]},
                }
            ]
        }
    )
    assert push_matches(d, "Source", branch="release-3", changed_paths=[".ci/run.py"])
    assert push_matches(d, "Source", branch="main", changed_paths=["a.py"])
    assert not push_matches(d, "Source", branch="release-x", changed_paths=["a.py"])
    assert not push_matches(d, "Source", branch="main", changed_paths=["t/test_1.py"])


def test_push_needs_a_branch_or_a_tag() -> None:
    with pytest.raises(ValueError, match="exactly one of branch and tag"):
        push_matches(V2, "Source", branch="main", tag="v1")


def test_source_actions_for_repository() -> None:
    wire = base()
    wire["stages"][0]["actions"].append(
        {
            "name": "Other",
            "actionTypeId": {
                "category": "Source",
                "owner": "AWS",
                "provider": "CodeCommit",
                "version": "1",
            },
            "configuration": {"RepositoryName": "other", "BranchName": "main"},
            "outputArtifacts": [{"name": "OtherOut"}],
        }
    )
    d = validate(from_wire(wire))
    assert [a.name for a in source_actions_for_repository(d, "demo")] == ["Source"]
    assert [a.name for a in source_actions_for_repository(d, "other")] == ["Other"]
    assert source_actions_for_repository(d, "none") == ()


_NAMES = st.text(alphabet="ab/-.", min_size=1, max_size=12)


@given(branch=_NAMES, include=_NAMES, exclude=_NAMES)
def test_excludes_win(branch: str, include: str, exclude: str) -> None:
    d = _pipeline(
        {"push": [{"branches": {"includes": [include, branch], "excludes": [exclude, branch]}}]}
    )
    assert not push_matches(d, "Source", branch=branch)
