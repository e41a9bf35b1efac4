"""The authorization matrix (issue 14 §1.5): every API operation, web route and git
service, for six principals, against a table derived from AWS's published managed
policies (`tests/authz_table.py`), never from the server's evaluator or answers.

A decision is read as the user sees it: denied is AccessDeniedException (API; for the
unsigned caller, AWS's missing-authentication answers), a 403, a "not found" page or a
redirect to sign in (web: a denial renders as "not found", docs/architecture.md "Web
UI"), git's 403 or "not authorized" (git); allowed is anything else, and a 5xx is never
right. Every mismatch is listed at once, so one run shows the whole matrix's state.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gitserver.api.ops import operation_table
from gitserver.api.pipeline_ops import pipeline_operation_table
from gitserver.transport.engine import SERVICES
from gitserver.web.site import WebUI
from tests.authz_requests import (
    REGION,
    UNREACHABLE,
    Actor,
    WebRequest,
    World,
    api_rows,
    unique,
    web_requests,
)
from tests.authz_table import (
    ANONYMOUS,
    DENIED_REPO,
    FULL_ACCESS,
    GIT,
    MANAGED,
    PRINCIPALS,
    WEB,
    Need,
    api_need,
    expected_allowed,
)
from tests.support import Git, Server, SshIdentity, wait_until
from tests.web_support import CSRF, Browser, Page, signed_in

TARGETS = {"codecommit": "CodeCommit_20150413", "codepipeline": "CodePipeline_20150709"}
# How an unsigned API request is refused (AWS's words for "who are you?").
UNAUTHENTICATED = {
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "UnrecognizedClientException",
    "IncompleteSignatureException",
    "InvalidSignatureException",
}
GIT_DENIALS = ("403", "not authorized", "denied", "Authentication failed", "could not read")
BUILD = (
    "version: 0.2\nphases:\n  build:\n    commands:\n      - echo matrix-build\n"
    "      - mkdir -p out && echo built > out/a.txt\nartifacts:\n  files:\n    - out/**/*\n"
)


# -- the CLI: the session server's, through the suite's CLI zygote (tests/cli_zygote.py)


def cli(server: Server, *args: str, stdin: str | None = None) -> Any:
    return server.cli(*args, input=stdin)


# -- raw requests -------------------------------------------------------------------------


def api(
    server: Server, key: dict[str, str] | None, service: str, operation: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """One API request, signed with `key` as botocore signs (unsigned without one)."""
    request = AWSRequest(
        method="POST",
        url=server.base_url + "/",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"{TARGETS[service]}.{operation}",
        },
    )
    if key is not None:
        credentials = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
        SigV4Auth(credentials, service, REGION).add_auth(request)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("POST", "/", body=request.body, headers=dict(request.headers))
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        answer = {"raw": raw[:200].decode("utf-8", "replace")}
    return response.status, answer


def admin_api(
    world: World,
    service: str,
    operation: str,
    body: dict[str, Any],
    key: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A request that must succeed: as admin, or as the holder of `key`."""
    status, answer = api(world.server, key or world.admin_key, service, operation, body)
    assert status == 200, (operation, status, answer)
    return answer


def _deny_document(world: World) -> str:
    path = world.tmp / "deny.json"
    deny = {"Effect": "Deny", "Action": "*", "Resource": [world.arn(), world.arn(world.doomed)]}
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
    return str(path)


def _make_actor(world: World, label: str, known_hosts: Path) -> Actor:
    server = world.server
    actor = Actor(label, user=unique(label.replace("-", "")), password=unique("pw-matrix"))
    cli(server, "user", "create", actor.user, "--password-stdin", stdin=actor.password + "\n")
    if label in MANAGED:
        cli(server, "policy", "attach-user-policy", actor.user, MANAGED[label])
    if label == DENIED_REPO:
        doc = _deny_document(world)
        cli(server, "policy", "put-user-policy", actor.user, "DenyRepo", "--document", doc)
    actor.key = cli(server, "access-key", "create", actor.user)
    credential = cli(server, "credential", "create", actor.user)
    actor.git_user, actor.git_password = credential["username"], credential["password"]
    # The web rows that change or delete a credential act on the actor's own: they run
    # after the API and git rows that use them.
    actor.spare["credential"] = credential["ServiceSpecificCredentialId"]
    actor.spare["access_key"] = actor.key["AccessKeyId"]
    actor.ssh = SshIdentity.generate(world.tmp / "keys" / label, known_hosts)
    added = cli(server, "ssh-key", "add", actor.user, "--key-file", str(actor.ssh.public_key))
    actor.spare["ssh_key"] = actor.ssh.key_id = added["SSHPublicKeyId"]
    # Its own webhook, notification rule and comment where the table expects it may
    # delete one (so each such delete finds its target); the others try the shared ones.
    if expected_allowed(label, WEB["web-webhook-delete"]):
        actor.spare["webhook"] = _webhook(world)
    if expected_allowed(label, WEB["web-notification-delete"]):
        actor.spare["rule"] = _rule(world, label)
    if expected_allowed(label, WEB["web-pull-delete"]):
        actor.spare["comment"] = _comment(world, f"for {label} to delete")
    # Only a comment's author may edit it (CommentNotCreatedByCallerException otherwise):
    # its own comment, where it may post one, so an allowed edit is a real success.
    if expected_allowed(label, api_need("codecommit", "PostCommentForPullRequest")):
        actor.spare["own_comment"] = _comment(world, f"by {label}", actor.key)
    return actor


def _webhook(world: World) -> str:
    made = cli(world.server, "webhook", "create", "--repo", world.repo, "--url", UNREACHABLE)
    return str(made["webhookId"])


def _rule(world: World, label: str) -> str:
    made = cli(
        world.server,
        "notification-rule",
        "create",
        "--repo",
        world.repo,
        "--name",
        unique(label),
        "--events",
        "codecommit-repository-branches-and-tags-created",
        "--email",
        "matrix@example.com",
    )
    return str(made["ruleId"])


def _comment(world: World, content: str, key: dict[str, str] | None = None) -> str:
    posted = admin_api(
        world,
        "codecommit",
        "PostCommentForPullRequest",
        {
            "pullRequestId": world.pull,
            "repositoryName": world.repo,
            "beforeCommitId": world.main,
            "afterCommitId": world.feature,
            "content": content,
        },
        key,
    )
    return str(posted["comment"]["commentId"])


def _seed_repository(world: World) -> None:
    """main (README.md, docs/a.txt), feature (+feature.txt), and two branches for the rows
    that move one (scratch: PutFile and friends; base: MergeBranchesBy*)."""
    git, work = world.git, world.tmp / "work"
    git.init(work)
    git.commit(work, "README.md", "# matrix\n")
    world.main = git.commit(work, "docs/a.txt", "a\n")
    git("checkout", "-q", "-b", "feature", cwd=work)
    world.feature = git.commit(work, "feature.txt", "feature\n")
    url = world.server.url(world.repo)
    refspecs = ["main:main", "feature:feature", "main:scratch", "main:base"]
    git("push", "-q", url, *refspecs, cwd=work)
    world.readme_blob = git("rev-parse", f"{world.main}:README.md", cwd=work).stdout.strip()


def _seed_reviews(world: World) -> None:
    created = admin_api(
        world,
        "codecommit",
        "CreatePullRequest",
        {
            "title": "matrix",
            "targets": [
                {
                    "repositoryName": world.repo,
                    "sourceReference": "feature",
                    "destinationReference": "main",
                }
            ],
        },
    )["pullRequest"]
    world.pull = created["pullRequestId"]
    world.revision = created["revisionId"]
    world.comment = _comment(world, "the matrix's comment")
    world.doomed_comment = _comment(world, "a comment to delete")
    world.template = unique("template")
    content = {
        "Version": "2018-11-08",
        "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": 1}],
    }
    admin_api(
        world,
        "codecommit",
        "CreateApprovalRuleTemplate",
        {
            "approvalRuleTemplateName": world.template,
            "approvalRuleTemplateContent": json.dumps(content),
        },
    )


def _stage(name: str, category: str, provider: str, **fields: Any) -> dict[str, Any]:
    owner = "AWS"
    type_id = {"category": category, "owner": owner, "provider": provider, "version": "1"}
    return {"name": name, "actions": [{"name": name, "actionTypeId": type_id, **fields}]}


def _seed_pipelines(world: World) -> None:
    """One pipeline that builds (logs, an artifact) and one that waits for approval."""
    source = _stage(
        "Source",
        "Source",
        "CodeCommit",
        configuration={"RepositoryName": world.repo, "BranchName": "main"},
        outputArtifacts=[{"name": "SourceOut"}],
    )
    build = _stage(
        "Build",
        "Build",
        "CodeBuild",
        configuration={"BuildSpec": BUILD},
        inputArtifacts=[{"name": "SourceOut"}],
        outputArtifacts=[{"name": "BuildOut"}],
    )
    gate = _stage("Gate", "Approval", "Manual", configuration={"TimeoutInMinutes": "10"})
    world.pipeline, world.gate_pipeline = unique("matrix-build"), unique("matrix-gate")
    for name, stages in ((world.pipeline, [source, build]), (world.gate_pipeline, [source, gate])):
        path = world.tmp / f"{name}.json"
        path.write_text(json.dumps({"name": name, "stages": stages}))
        cli(world.server, "pipeline", "create", "--file", str(path))
    world.execution = cli(world.server, "pipeline", "start", world.pipeline)["pipelineExecutionId"]
    started = cli(world.server, "pipeline", "start", world.gate_pipeline)
    world.gate_execution = started["pipelineExecutionId"]


def _wait_for_pipelines(world: World) -> None:
    """Until the build has run (its log and artifact exist) and the gate waits."""

    def action_status(pipeline: str, execution: str, action: str) -> str:
        found = admin_api(
            world,
            "codepipeline",
            "ListActionExecutions",
            {"pipelineName": pipeline, "filter": {"pipelineExecutionId": execution}},
        )
        for detail in found.get("actionExecutionDetails", []):
            if detail.get("actionName") == action:
                return str(detail.get("status"))
        return ""

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        built = action_status(world.pipeline, world.execution, "Build")
        gate = action_status(world.gate_pipeline, world.gate_execution, "Gate")
        if built in {"Succeeded", "Failed"} and gate == "InProgress":
            assert built == "Succeeded", "the matrix's build failed"
            return
        time.sleep(0.2)
    raise AssertionError("the matrix's pipelines did not reach their states")


@pytest.fixture(scope="module")
def world(server: Server, tmp_path_factory: pytest.TempPathFactory) -> World:
    tmp = tmp_path_factory.mktemp("matrix")
    admin_key = cli(server, "access-key", "create", "admin")
    repo, doomed = unique("matrix"), unique("matrix-doomed")
    world = World(server, tmp, Git(tmp / "home"), admin_key, repo, doomed)
    for name in (repo, doomed):
        cli(server, "repo", "create", name)
    world.webhook = _webhook(world)  # before the push: the push is its first delivery
    world.rule = _rule(world, "shared")
    _seed_repository(world)
    _seed_reviews(world)
    _seed_pipelines(world)
    hosts = cli(server, "ssh-key", "host-fingerprints")["hostKeys"]
    known_hosts = tmp / "known_hosts"
    lines = (f"[127.0.0.1]:{server.ssh_port} {k['publicKey']}\n" for k in hosts)
    known_hosts.write_text("".join(lines))
    world.actors[ANONYMOUS] = Actor(ANONYMOUS)
    for label in PRINCIPALS[1:]:
        world.actors[label] = _make_actor(world, label, known_hosts)
    # Anonymous SSH: a key the server does not know.
    world.actors[ANONYMOUS].ssh = SshIdentity.generate(tmp / "keys" / ANONYMOUS, known_hosts)
    deliveries = wait_until(
        lambda: cli(server, "webhook", "deliveries", world.webhook)["deliveries"]
    )
    assert deliveries, "the webhook has no delivery to redeliver"
    world.delivery = str(deliveries[0]["deliveryId"])
    return world


def api_decision(label: str, status: int, answer: dict[str, Any]) -> str:
    kind = str(answer.get("__type", "")).rpartition("#")[2]
    if status >= 500:
        return f"error {status} {kind}"
    if kind == "AccessDeniedException" or (label == ANONYMOUS and kind in UNAUTHENTICATED):
        return "denied"
    return "allowed"


def web_decision(name: str, page: Page) -> str:
    if page.status >= 500:
        return f"error {page.status}"
    if page.status in {403, 404}:
        return "denied"
    to_sign_in = page.status in {302, 303} and page.location.startswith("/sign-in")
    # Signing out answers with the sign-in page: that is its success.
    if to_sign_in and name != "web-signout":
        return "denied"
    return "allowed"


def web_call(world: World, actor: Actor, name: str, request: WebRequest) -> Page:
    _, path, form = request
    browser = actor.browser or Browser(world.server)
    if form is None:
        return browser.get(path)
    token = actor.csrf
    if name == "web-signin":  # the sign-in form's own token, from its page (signed out)
        browser = Browser(world.server)
        found = CSRF.search(browser.get("/sign-in").body)
        token = found.group(1) if found else ""
    return browser.post(path, {"csrf": token, **form} if token else form)


# -- git: clone and push over HTTP and SSH, archive over SSH --------------------------------


def git_url(world: World, actor: Actor, transport: str) -> str:
    if transport == "ssh":
        user = actor.spare.get("ssh_key", "anonymous")
        return f"ssh://{user}@127.0.0.1:{world.server.ssh_port}/v1/repos/{world.repo}"
    if actor.label == ANONYMOUS:
        return f"{world.server.base_url}/v1/repos/{world.repo}"
    auth = ":".join(urllib.parse.quote(p, safe="") for p in (actor.git_user, actor.git_password))
    return f"http://{auth}@127.0.0.1:{world.server.port}/v1/repos/{world.repo}"


def git_call(world: World, actor: Actor, service: str, transport: str) -> tuple[str, str]:
    """Run the git command that uses `service`; its decision and stderr."""
    env = actor.ssh.git_env() if transport == "ssh" and actor.ssh else {}
    url = git_url(world, actor, transport)
    work = world.tmp / "work"
    if service == "git-upload-pack":
        target = world.tmp / "clones" / f"{actor.label}-{transport}"
        args = ["clone", "-q", "--bare", url, str(target)]
    elif service == "git-receive-pack":
        args = ["push", "-q", url, f"main:refs/heads/push-{actor.label}-{transport}"]
    else:
        args = ["archive", f"--remote={url}", "-o", str(world.tmp / "a.tar"), "main"]
    done = world.git(*args, cwd=work, check=False, env=env, timeout=60)
    if done.returncode == 0:
        return "allowed", ""
    if any(word in done.stderr for word in GIT_DENIALS):
        return "denied", done.stderr.strip()
    return "error", done.stderr.strip()


# -- the tests ----------------------------------------------------------------------------


def _mismatch(principal: str, row: str, need: Need, got: str, detail: str) -> str | None:
    want = "allowed" if expected_allowed(principal, need) else "denied"
    return None if got == want else f"{row} / {principal}: expected {want}, got {got} {detail}"


def test_every_operation_has_a_row(world: World) -> None:
    """A new operation without a row fails here."""
    actor = world.actors[ANONYMOUS]
    registered = {("codecommit", op) for op in operation_table()}
    registered |= {("codepipeline", op) for op in pipeline_operation_table()}
    assert set(api_rows(world, actor)) == registered


def test_every_web_route_has_a_row(world: World) -> None:
    """A new web route without a row (in the table and in the requests) fails here, and
    each row's request reaches the route it is the row of (a request that missed would
    be a "not found" page, which reads as a denial)."""
    app = web.Application()
    WebUI(cast(Any, None)).install(app)
    names = {resource.name for resource in app.router.resources() if resource.name}
    assert set(WEB) == names
    requests = web_requests(world, world.actors[FULL_ACCESS])
    assert set(requests) == names

    async def routed() -> dict[str, str | None]:
        found = {}
        for name, (method, path, _) in requests.items():
            match = await app.router.resolve(make_mocked_request(method, path))
            resource = match.route.resource
            found[name] = resource.name if resource is not None else None
        return found

    assert asyncio.run(routed()) == {name: name for name in requests}


def test_every_git_service_has_a_row() -> None:
    assert set(GIT) == set(SERVICES)


# A row, what it needs, the decision seen, its evidence, and whether it was a real success.
Cell = tuple[str, Need, str, str, bool]


def _run(world: World, kind: str, cells_of: Callable[[Actor], list[Cell]]) -> None:
    """Drive every principal's row at once (one thread each: the rows of one principal
    run in order, and no row's allowed answer depends on another principal's), then
    report every mismatch."""
    with ThreadPoolExecutor(len(PRINCIPALS)) as pool:
        results = dict(zip(PRINCIPALS, pool.map(cells_of, world.actors.values()), strict=True))
    mismatches = [
        found
        for label, cells in results.items()
        for row, row_need, got, detail, _ in cells
        if (found := _mismatch(label, row, row_need, got, detail))
    ]
    count = sum(len(cells) for cells in results.values())
    allowed = [c for cells in results.values() for c in cells if c[2] == "allowed"]
    succeeded = sum(1 for c in allowed if c[4])
    print(
        f"{kind}: {count} cells ({count // len(PRINCIPALS)} rows x {len(PRINCIPALS)}), "
        f"{len(allowed)} allowed ({succeeded} real successes), {len(mismatches)} mismatches"
    )
    assert not mismatches, f"{len(mismatches)} of {count} {kind} cells differ:\n" + "\n".join(
        sorted(mismatches)
    )


def test_api_matrix(world: World) -> None:
    def cells(actor: Actor) -> list[Cell]:
        found = []
        for (service, operation), body in api_rows(world, actor).items():
            status, answer = api(world.server, actor.key, service, operation, body)
            message = str(answer.get("message", ""))[:120]
            detail = f"({status} {answer.get('__type', '')}: {message})"
            row = f"{service}:{operation}"
            got = api_decision(actor.label, status, answer)
            found.append((row, api_need(service, operation), got, detail, status == 200))
        return found

    _run(world, "API", cells)


def test_git_matrix(world: World) -> None:
    def cells(actor: Actor) -> list[Cell]:
        found = []
        for service in SERVICES:
            # Smart HTTP serves upload-pack and receive-pack; SSH all three.
            transports = ("http", "ssh") if service != "git-upload-archive" else ("ssh",)
            for transport in transports:
                got, stderr = git_call(world, actor, service, transport)
                cell = (f"{service} ({transport})", GIT[service], got, stderr[-200:], not stderr)
                found.append(cell)
        return found

    _run(world, "git", cells)


def test_web_matrix(world: World) -> None:
    _wait_for_pipelines(world)

    def cells(actor: Actor) -> list[Cell]:
        if actor.label != ANONYMOUS:
            actor.browser = signed_in(world.server, actor.user, actor.password)
            actor.csrf = actor.browser.csrf()
        found = []
        for name, request in web_requests(world, actor).items():
            page = web_call(world, actor, name, request)
            detail = f"({page.status} {page.location} {_summary(page.body)})"
            success = page.status in {200, 302, 303}
            cell = (f"{name} {request[1]}", WEB[name], web_decision(name, page), detail, success)
            found.append(cell)
        return found

    _run(world, "web", cells)


def _summary(body: str) -> str:
    text = " ".join(body.split())
    start = text.find("<main")
    return text[start : start + 160] if start >= 0 else text[:160]
