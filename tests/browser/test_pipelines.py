"""A pipeline in the browser: a push runs it, its page shows the build succeed, the
build's log streams in while it runs, a Manual approval is approved with a comment, and
the pipeline and log pages pass axe in light and dark at laptop and phone width."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.layout import survey
from tests.browser.support import PASSWORD, Account, PageFactory
from tests.pipeline_support import (
    approval_action,
    build_action,
    create_pipeline,
    executions,
    push_files,
    source_stage,
    status_of,
)
from tests.support import Git, Server, wait_until

BUILD = """version: 0.2
phases:
  build:
    commands:
      - echo "starting the build"
      - sleep 6
      - echo "hello-from-build"
"""


def _operator(server: Server, tmp: pytest.TempPathFactory) -> Account:
    name = f"pipe-op-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", name, "--password-stdin", input=PASSWORD + "\n")
    everything = {"Effect": "Allow", "Action": ["codepipeline:*", "codecommit:*"], "Resource": "*"}
    policy = tmp.mktemp("op") / "policy.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [everything]}))
    server.cli("policy", "put-user-policy", name, "Operator", "--document", str(policy))
    return Account(name, PASSWORD)


def _wait(server: Server, name: str, stage: str, action: str | None, status: str) -> str:
    """The newest execution's id once its action (or itself) has `status`, read with the
    CLI (SQL from the test would need an event loop, and Playwright's is running)."""

    def check() -> str | None:
        found = executions(server, name)
        if not found:
            return None
        newest = found[0]
        now = newest["status"] if stage == "" else status_of(newest, stage, action)
        return str(newest["pipelineExecutionId"]) if now == status else None

    found = wait_until(check, 40, 0.3)
    assert found, f"{stage}.{action} never became {status}"
    return str(found)


def test_a_push_runs_the_pipeline_its_log_streams_and_it_is_approved(
    new_page: PageFactory,
    server: Server,
    tmp_path_factory: pytest.TempPathFactory,
    snap: Callable[[Page, str], None],
) -> None:
    operator = _operator(server, tmp_path_factory)
    work = tmp_path_factory.mktemp("pipe-work")
    git = Git(work / "home")
    repo = f"piped-{uuid.uuid4().hex[:8]}"
    server.cli("repo", "create", repo)
    push_files(git, server, repo, work / "tree", {"README.md": "# piped\n"})
    definition = {
        "name": f"ship-{uuid.uuid4().hex[:8]}",
        "stages": [
            source_stage(repo),
            {"name": "Build", "actions": [build_action(configuration={"BuildSpec": BUILD})]},
            {
                "name": "Gate",
                "actions": [approval_action(configuration={"TimeoutInMinutes": "10"})],
            },
        ],
    }
    name = create_pipeline(server, work, definition)
    push_files(git, server, repo, work / "tree", {"a.txt": "change\n"})
    page = new_page(operator)
    page.goto(f"/repositories/{repo}")
    page.get_by_role("link", name="Pipelines", exact=True).last.click()
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    # site.js reads the graph again while something runs: the build shows up running.
    build = page.locator(".action", has_text="CodeBuild")
    expect(build).to_contain_text("In progress", timeout=20_000)
    link = build.get_by_role("link", name="Log of Build Build")
    execution = (link.get_attribute("href") or "").split("/executions/")[1].split("/")[0]
    link.click()
    # The lines after the sleep arrive by server-sent events.
    log = page.locator("pre.log")
    expect(log).to_contain_text("starting the build")
    expect(log).to_contain_text("hello-from-build", timeout=20_000)
    expect(page.locator("#log-live")).to_contain_text("ended", timeout=10_000)
    snap(page, "log")

    page.goto(f"/pipelines/{name}")
    expect(page.get_by_role("button", name="Approve")).to_be_visible(timeout=20_000)
    expect(build).to_contain_text("Succeeded")
    snap(page, "waiting")

    pages = [
        ("pipeline", f"/pipelines/{name}"),
        ("pipeline-log", f"/pipelines/{name}/executions/{execution}/log/Build/Build"),
    ]
    survey(page, "light", pages)
    dark = new_page(operator, color_scheme="dark")
    survey(dark, "dark", pages)

    page.goto(f"/pipelines/{name}")
    page.get_by_label("Comment").fill("looks good to me")
    with page.expect_navigation():
        page.get_by_role("button", name="Approve").click()
    assert _wait(server, name, "", None, "Succeeded") == execution
    page.reload()
    expect(page.locator("h1 .st")).to_contain_text("Succeeded")
    expect(page.locator(".action", has_text="Manual")).to_contain_text("Succeeded")
    snap(page, "approved")
    survey(page, "light", [("pipeline-execution", page.url)])
