"""Branch merges through real boto3, checked with a real `git` clone of the result."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import client_for, codecommit, error_code
from tests.receivers import Receiver
from tests.support import Git, Server


@pytest.fixture(scope="session")
def cc(server: Server) -> BaseClient:
    return client_for(server, "merge-admin", admin=True)


def _code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return error_code(caught.value)


def _diverged(git: Git, tmp_path: Path, url: str, dest: str, src: str) -> Path:
    """main: f.txt "1\\n2\\n3\\n"; then main changes line 1 to `dest`, feature line 3 to `src`."""
    work = git.init(tmp_path / "work")
    git.commit(work, "f.txt", "1\n2\n3\n", "base")
    git("checkout", "-q", "-b", "feature", cwd=work)
    git.commit(work, "f.txt", f"1\n2\n{src}\n", "feature")
    git("checkout", "-q", "main", cwd=work)
    git.commit(work, "f.txt", f"{dest}\n2\n3\n", "main")
    git("push", "-q", url, "main", "feature", cwd=work)
    return work


def _fetched(git: Git, work: Path, url: str) -> None:
    git("fetch", "-q", url, "+refs/heads/*:refs/remotes/server/*", cwd=work)


_MERGE_FIELDS = (
    "baseCommitId",
    "sourceCommitId",
    "destinationCommitId",
    "mergeOption",
    "conflictDetailsLevel",
    "conflictResolutionStrategy",
)


def test_three_way_and_squash_move_the_branch_to_what_git_merge_makes(
    cc: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("merge")
    url = server.url(name)
    work = _diverged(git, tmp_path, url, "one", "three")
    main, feature = git.rev_parse(work, "main"), git.rev_parse(work, "feature")
    options = cc.get_merge_options(
        conflictDetailLevel="LINE_LEVEL",  # the sides changed one file
        repositoryName=name,
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
    )
    assert options["mergeOptions"] == ["SQUASH_MERGE", "THREE_WAY_MERGE"]
    # AWS's default level is FILE_LEVEL: one file changed on both sides needs a decision.
    strict = cc.get_merge_options(
        repositoryName=name, sourceCommitSpecifier="feature", destinationCommitSpecifier="main"
    )
    assert strict["mergeOptions"] == []
    refused = _code(
        lambda: cc.merge_branches_by_three_way(
            repositoryName=name, sourceCommitSpecifier="feature", destinationCommitSpecifier="main"
        )
    )
    assert refused == "ManualMergeRequiredException"
    assert options["baseCommitId"] == git.rev_parse(work, "main~1")
    assert (options["sourceCommitId"], options["destinationCommitId"]) == (feature, main)
    git("merge", "-q", "--no-edit", "feature", cwd=work)
    expected_tree = git.rev_parse(work, "HEAD^{tree}")

    merged = cc.merge_branches_by_three_way(
        conflictDetailLevel="LINE_LEVEL",  # the sides changed one file
        repositoryName=name,
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
        commitMessage="Merge feature",
        authorName="Ada",
        email="ada@example.com",
    )
    assert merged["treeId"] == expected_tree
    _fetched(git, work, url)
    assert git.rev_parse(work, "server/main") == merged["commitId"]
    assert git("log", "-1", "--format=%P|%an|%ae|%s", "server/main", cwd=work).stdout.strip() == (
        f"{main} {feature}|Ada|ada@example.com|Merge feature"
    )
    assert git("fsck", "--strict", cwd=work).returncode == 0
    # The branch's event says it was a merge, with AWS's fields for one.
    (moved,) = [
        e
        for e in server.events(name)
        if e["type"] == "referenceUpdated" and e["detail"]["commitId"] == merged["commitId"]
    ]
    assert {k: moved["detail"].get(k) for k in _MERGE_FIELDS} == {
        "baseCommitId": options["baseCommitId"],
        "sourceCommitId": feature,
        "destinationCommitId": main,
        "mergeOption": "THREE_WAY_MERGE",
        "conflictDetailsLevel": "LINE_LEVEL",
        "conflictResolutionStrategy": "NONE",
    }
    info = cc.get_merge_commit(
        conflictDetailLevel="LINE_LEVEL",  # the sides changed one file
        repositoryName=name,
        sourceCommitSpecifier="feature",
        destinationCommitSpecifier="main",
    )
    assert info["mergedCommitId"] == merged["commitId"]
    assert info["baseCommitId"] == feature

    # Squash onto another branch: one parent, the same tree; main does not move.
    cc.create_branch(repositoryName=name, branchName="release", commitId=main)
    squashed = cc.merge_branches_by_squash(
        conflictDetailLevel="LINE_LEVEL",  # the sides changed one file
        repositoryName=name,
        sourceCommitSpecifier=feature,
        destinationCommitSpecifier="release",
    )
    assert squashed["treeId"] == expected_tree
    _fetched(git, work, url)
    assert git.rev_parse(work, "server/release") == squashed["commitId"]
    assert git("log", "-1", "--format=%P", "server/release", cwd=work).stdout.split() == [main]
    assert git.rev_parse(work, "server/main") == merged["commitId"]


def test_fast_forward_and_its_refusal(
    cc: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("ff")
    url = server.url(name)
    work = _diverged(git, tmp_path, url, "one", "three")
    git("push", "-q", url, "main~1:refs/heads/old", cwd=work)
    assert (
        _code(
            lambda: cc.merge_branches_by_fast_forward(
                repositoryName=name,
                sourceCommitSpecifier="feature",
                destinationCommitSpecifier="main",
            )
        )
        == "ManualMergeRequiredException"
    )
    options = cc.get_merge_options(
        repositoryName=name, sourceCommitSpecifier="feature", destinationCommitSpecifier="old"
    )
    assert options["mergeOptions"] == ["FAST_FORWARD_MERGE", "SQUASH_MERGE", "THREE_WAY_MERGE"]
    done = cc.merge_branches_by_fast_forward(
        repositoryName=name, sourceCommitSpecifier="feature", destinationCommitSpecifier="old"
    )
    assert done["commitId"] == git.rev_parse(work, "feature")
    _fetched(git, work, url)
    assert git.rev_parse(work, "server/old") == git.rev_parse(work, "feature")
    # A fast-forward has no merge commit.
    info = cc.get_merge_commit(
        repositoryName=name, sourceCommitSpecifier="feature", destinationCommitSpecifier="old"
    )
    assert "mergedCommitId" not in info


def test_conflicts_need_a_strategy_or_a_resolution(
    cc: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("conflict")
    url = server.url(name)
    work = _diverged(git, tmp_path, url, "destination", "source")
    # The same line on both sides: git cannot merge it.
    git("checkout", "-q", "feature", cwd=work)
    git.commit(work, "f.txt", "source\n2\n3\n", "feature again")
    git("push", "-q", url, "feature", cwd=work)
    main = git.rev_parse(work, "main")
    spec = {
        "repositoryName": name,
        "sourceCommitSpecifier": "feature",
        "destinationCommitSpecifier": "main",
    }
    assert cc.get_merge_options(**spec)["mergeOptions"] == []
    assert cc.get_merge_options(**spec, conflictResolutionStrategy="ACCEPT_SOURCE")[
        "mergeOptions"
    ] == ["SQUASH_MERGE", "THREE_WAY_MERGE"]
    assert _code(lambda: cc.merge_branches_by_three_way(**spec)) == ("ManualMergeRequiredException")
    assert _code(
        lambda: cc.merge_branches_by_squash(**spec, conflictResolutionStrategy="AUTOMERGE")
    ) == ("ManualMergeRequiredException")
    _fetched(git, work, url)
    assert git.rev_parse(work, "server/main") == main

    unreferenced = cc.create_unreferenced_merge_commit(
        **spec, mergeOption="THREE_WAY_MERGE", conflictResolutionStrategy="ACCEPT_DESTINATION"
    )
    _fetched(git, work, url)
    assert git.rev_parse(work, "server/main") == main
    blob = cc.get_file(
        repositoryName=name, commitSpecifier=unreferenced["commitId"], filePath="f.txt"
    )
    assert blob["fileContent"] == b"destination\n2\n3\n"

    resolved = cc.merge_branches_by_three_way(
        **spec,
        conflictResolution={
            "replaceContents": [
                {
                    "filePath": "f.txt",
                    "replacementType": "USE_NEW_CONTENT",
                    "content": b"both\n2\n3\n",
                    "fileMode": "EXECUTABLE",
                }
            ]
        },
    )
    got = cc.get_file(repositoryName=name, commitSpecifier="main", filePath="f.txt")
    assert (got["fileContent"], got["fileMode"]) == (b"both\n2\n3\n", "EXECUTABLE")
    assert got["commitId"] == resolved["commitId"]


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"conflictDetailLevel": "WORD_LEVEL"}, "InvalidConflictDetailLevelException"),
        ({"conflictResolutionStrategy": "MAGIC"}, "InvalidConflictResolutionStrategyException"),
        (
            {
                "conflictResolution": {
                    "replaceContents": [{"filePath": "f.txt", "replacementType": "USE_NEW_CONTENT"}]
                }
            },
            "ReplacementContentRequiredException",
        ),
        (
            {"conflictResolution": {"deleteFiles": [{"filePath": "elsewhere.txt"}]}},
            "InvalidConflictResolutionException",
        ),
        (
            {"conflictResolution": {"deleteFiles": [{"filePath": "f.txt"}, {"filePath": "f.txt"}]}},
            "MultipleConflictResolutionEntriesException",
        ),
        ({"email": "not an email"}, "InvalidEmailException"),
        ({"destinationCommitSpecifier": "nope"}, "CommitDoesNotExistException"),
        ({"targetBranch": "nope"}, "BranchDoesNotExistException"),
        ({"targetBranch": "v1"}, "BranchNameIsTagNameException"),
    ],
)
def test_request_errors(
    cc: BaseClient,
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
    extra: dict[str, Any],
    code: str,
) -> None:
    name = repo("bad")
    work = _diverged(git, tmp_path, server.url(name), "destination", "source")
    git("checkout", "-q", "feature", cwd=work)
    git.commit(work, "f.txt", "source\n2\n3\n", "feature again")
    git("tag", "v1", "main", cwd=work)
    git("push", "-q", server.url(name), "feature", "v1", cwd=work)
    params = {
        "repositoryName": name,
        "sourceCommitSpecifier": "feature",
        "destinationCommitSpecifier": "main",
        **extra,
    }
    assert _code(lambda: cc.merge_branches_by_three_way(**params)) == code


def test_destination_that_is_no_branch_needs_a_target_and_the_target_is_authorized(
    cc: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("target")
    url = server.url(name)
    work = _diverged(git, tmp_path, url, "one", "three")
    main = git.rev_parse(work, "main")
    spec = {"repositoryName": name, "sourceCommitSpecifier": "feature"}
    assert _code(
        lambda: cc.merge_branches_by_three_way(
            conflictDetailLevel="LINE_LEVEL", **spec, destinationCommitSpecifier=main
        )
    ) == ("InvalidTargetBranchException")
    # AWS's documented branch protection denies merges into main, not into other branches.
    dev = f"dev-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", dev)
    server.cli("policy", "attach-user-policy", dev, "GitServerPowerUser")
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": ["codecommit:MergeBranchesByThreeWay"],
                "Resource": "*",
                "Condition": {
                    "StringEqualsIfExists": {"codecommit:References": ["refs/heads/main"]}
                },
            }
        ],
    }
    document = tmp_path / "deny.json"
    document.write_text(json.dumps(deny))
    server.cli("policy", "put-user-policy", dev, "ProtectMain", "--document", str(document))
    limited = codecommit(server, server.cli("access-key", "create", dev))
    assert _code(
        lambda: limited.merge_branches_by_three_way(
            conflictDetailLevel="LINE_LEVEL", **spec, destinationCommitSpecifier="main"
        )
    ) == ("AccessDeniedException")
    assert _code(
        lambda: limited.merge_branches_by_three_way(
            conflictDetailLevel="LINE_LEVEL",  # the sides changed one file
            **spec,
            destinationCommitSpecifier="feature",
            targetBranch="main",
        )
    ) == ("AccessDeniedException")
    cc.create_branch(repositoryName=name, branchName="staging", commitId=main)
    merged = limited.merge_branches_by_three_way(
        conflictDetailLevel="LINE_LEVEL",  # the sides changed one file
        **spec,
        destinationCommitSpecifier=main,
        targetBranch="staging",
    )
    _fetched(git, work, url)
    assert git.rev_parse(work, "server/staging") == merged["commitId"]
    assert git.rev_parse(work, "server/main") == main


@pytest.mark.database
def test_two_merges_into_one_branch_at_once_one_wins(
    cc: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("race")
    url = server.url(name)
    work = _diverged(git, tmp_path, url, "one", "three")
    git("checkout", "-q", "-b", "other", "main~1", cwd=work)
    git.commit(work, "g.txt", "g\n", "other")
    git("push", "-q", url, "other", cwd=work)
    outcomes: list[str] = []

    def merge(source: str) -> None:
        try:
            cc.merge_branches_by_three_way(
                conflictDetailLevel="LINE_LEVEL",  # the sides changed one file
                repositoryName=name,
                sourceCommitSpecifier=source,
                destinationCommitSpecifier="main",
            )
            outcomes.append("merged")
        except ClientError as error:
            outcomes.append(error_code(error))

    threads = [threading.Thread(target=merge, args=(s,)) for s in ("feature", "other")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Both may succeed one after the other (each read the tip the other left); when they
    # overlap, the loser is told so and main holds the winner's merge, never a lost one.
    assert "merged" in outcomes
    assert set(outcomes) <= {"merged", "ConcurrentReferenceUpdateException"}
    _fetched(git, work, url)
    tip = git.rev_parse(work, "server/main")
    parents = git("log", "-1", "--format=%P", tip, cwd=work).stdout.split()
    assert len(parents) == 2
    if outcomes == ["merged", "merged"]:
        merged_in = git("log", "--format=%H", "server/main", cwd=work).stdout.split()
        assert git.rev_parse(work, "feature") in merged_in
        assert git.rev_parse(work, "other") in merged_in


def test_an_unreferenced_merge_commit_is_announced(
    cc: BaseClient, server: Server, repo: Callable[..., str], git: Git, tmp_path: Path
) -> None:
    name = repo("unref")
    work = _diverged(git, tmp_path, server.url(name), "one", "three")
    receiver = Receiver().start()
    try:
        server.cli(
            "webhook",
            "create",
            "--repo",
            name,
            "--url",
            receiver.url,
            "--events",
            "unreferencedMergeCommitCreated",
        )
        made = cc.create_unreferenced_merge_commit(
            conflictDetailLevel="LINE_LEVEL",  # the sides changed one file
            repositoryName=name,
            sourceCommitSpecifier="feature",
            destinationCommitSpecifier="main",
            mergeOption="SQUASH_MERGE",
        )
        deadline = time.monotonic() + 30
        while not receiver.of("unreferencedMergeCommitCreated") and time.monotonic() < deadline:
            time.sleep(0.1)
        (event,) = receiver.of("unreferencedMergeCommitCreated")
    finally:
        receiver.stop()
    detail = event.json["detail"]
    assert detail["commitId"] == made["commitId"]
    assert detail["sourceCommitId"] == git.rev_parse(work, "feature")
    assert detail["destinationCommitId"] == git.rev_parse(work, "main")
    assert detail["baseCommitId"] == git.rev_parse(work, "main~1")
    assert detail["mergeOption"] == "SQUASH_MERGE"
    # No branch moved.
    assert cc.get_branch(repositoryName=name, branchName="main")["branch"]["commitId"] == (
        git.rev_parse(work, "main")
    )
