"""The buildspec runner keeps CodeBuild's semantics: one shell, phase rules, env, artifacts.

Real builds in bubblewrap (the default executor); a few also through the shell executor.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest

from gitserver.gitcmd import Git
from gitserver.pipelines.buildspec import (
    ArtifactNotFound,
    BuildLimits,
    BuildStatus,
    ShellExecutor,
    WebhookInfo,
    export_commit,
    extract_artifact,
    parse_buildspec,
    run_build,
)
from tests.buildspec_support import Builds, output_lines, zip_contents

S = BuildStatus.SUCCEEDED
F = BuildStatus.FAILED


@pytest.fixture(params=["bwrap", "shell"])
def builds(request: pytest.FixtureRequest, tmp_path: Path) -> Builds:
    if request.param == "shell":
        return Builds(tmp_path, ShellExecutor())
    return Builds(tmp_path)


@pytest.fixture
def sandboxed(tmp_path: Path) -> Builds:
    return Builds(tmp_path)


def phases(result: object) -> list[tuple[str, BuildStatus]]:
    return [(p.name, p.status) for p in result.phases]  # type: ignore[attr-defined]


def test_cd_and_export_persist_between_commands_and_phases(builds: Builds) -> None:
    result, log = builds.run(
        """
version: 0.2
phases:
  install:
    commands:
      - mkdir -p a/b && cd a
      - export GREETING=hello
      - LOCAL=plain
  build:
    commands:
      - cd b
      - echo "$(basename "$PWD") $GREETING $LOCAL"
      - declare -x DECLARED=yes
  post_build:
    commands:
      - echo "$PWD" | sed "s|$CODEBUILD_SRC_DIR|SRC|"; echo $DECLARED
"""
    )
    assert result.status is S, log
    assert output_lines(log) == ["b hello plain", "SRC/a/b", "yes"]


def test_commands_do_not_read_the_next_command_from_stdin(builds: Builds) -> None:
    result, log = builds.run("version: 0.2\nphases:\n  build:\n    commands: [cat, echo next]\n")
    assert result.status is S
    assert output_lines(log) == ["next"]


def test_output_without_a_final_newline_and_empty_lines_are_kept(sandboxed: Builds) -> None:
    result, log = sandboxed.run(
        "version: 0.2\nphases:\n  build:\n    commands:\n"
        "      - printf 'no newline'\n      - printf 'x\\n\\n'\n      - printf ''\n      - echo z\n"
    )
    assert result.status is S
    assert output_lines(log) == ["no newline", "x", "", "z"]


def test_variables_are_literal_and_codebuild_variables_are_set(sandboxed: Builds) -> None:
    text = """
version: 0.2
env:
  variables:
    LITERAL: $HOME:$(id -u)
    OVERRIDDEN: from-buildspec
phases:
  build:
    commands:
      - echo "literal=$LITERAL overridden=$OVERRIDDEN"
      - echo "id=$CODEBUILD_BUILD_ID number=$CODEBUILD_BUILD_NUMBER ok=$CODEBUILD_BUILD_SUCCEEDING"
      - echo "initiator=$CODEBUILD_INITIATOR arn=$CODEBUILD_BUILD_ARN"
      - echo "resolved=$CODEBUILD_RESOLVED_SOURCE_VERSION version=$CODEBUILD_SOURCE_VERSION"
      - echo "repo=$CODEBUILD_SOURCE_REPO_URL src=$CODEBUILD_SRC_DIR pwd=$PWD"
      - echo "event=$CODEBUILD_WEBHOOK_EVENT trigger=$CODEBUILD_WEBHOOK_TRIGGER"
      - echo "head=$CODEBUILD_WEBHOOK_HEAD_REF base=$CODEBUILD_WEBHOOK_BASE_REF"
      - echo "start=${#CODEBUILD_START_TIME} region=$AWS_REGION"
"""
    webhook = WebhookInfo("PULL_REQUEST_UPDATED", "refs/heads/feature", "refs/heads/main", "pr/7")
    before = int(time.time() * 1000)
    result, log = sandboxed.run(
        text,
        environment={"OVERRIDDEN": "from-caller", "CODEBUILD_BUILD_ID": "forged"},
        webhook=webhook,
        source_version="pr/7",
    )
    assert result.status is S, log
    assert int(result.started_at.timestamp() * 1000) >= before - 1000
    assert output_lines(log) == [
        "literal=$HOME:$(id -u) overridden=from-caller",
        "id=project:build-1 number=1 ok=1",
        "initiator=codepipeline/demo arn=arn:aws:codebuild:us-east-1:123456789012:build/project:1",
        f"resolved={'0123abcd' * 5} version=pr/7",
        "repo=https://git.example/v1/repos/r src=/codebuild/output/src pwd=/codebuild/output/src",
        "event=PULL_REQUEST_UPDATED trigger=pr/7",
        "head=refs/heads/feature base=refs/heads/main",
        "start=13 region=us-east-1",
    ]


def test_first_failing_command_skips_the_rest_then_finally_runs(builds: Builds) -> None:
    result, log = builds.run(
        """
version: 0.2
phases:
  build:
    commands:
      - echo one
      - exit_with() { return $1; }; exit_with 3
      - echo skipped
    finally:
      - echo finally
      - false
      - echo skipped too
"""
    )
    assert result.status is F
    assert output_lines(log) == ["one", "finally"]
    build = result.phase("BUILD")
    assert build is not None and "exit status 3" in build.message


def test_a_failing_finally_fails_the_phase(sandboxed: Builds) -> None:
    result, _ = sandboxed.run(
        "version: 0.2\nphases:\n  build:\n    commands: [true]\n    finally: [false]\n"
    )
    assert result.status is F
    assert ("BUILD", F) in phases(result)


@pytest.mark.parametrize("failing", ["install", "pre_build"])
def test_install_or_pre_build_failure_skips_to_the_end(sandboxed: Builds, failing: str) -> None:
    text = f"""
version: 0.2
phases:
  install:
    commands: [echo install{"; false" if failing == "install" else ""}]
  pre_build:
    commands: [echo pre_build{"; false" if failing == "pre_build" else ""}]
  build:
    commands: [echo build > out.txt]
  post_build:
    commands: [echo post_build]
artifacts:
  files: ['**/*']
"""
    result, log = sandboxed.run(text)
    assert result.status is F
    assert phases(result)[-1] == (failing.upper(), F)
    assert "build" not in output_lines(log) and "post_build" not in output_lines(log)
    assert result.artifacts == () and not sandboxed.artifacts.exists()


def test_build_failure_runs_post_build_not_succeeding_and_uploads(builds: Builds) -> None:
    result, log = builds.run(
        """
version: 0.2
phases:
  build:
    commands:
      - echo built > out.txt
      - echo "during build $CODEBUILD_BUILD_SUCCEEDING"
      - false
  post_build:
    commands:
      - echo "post_build $CODEBUILD_BUILD_SUCCEEDING"
artifacts:
  files: [out.txt]
"""
    )
    assert result.status is F
    assert phases(result) == [
        ("INSTALL", S),
        ("PRE_BUILD", S),
        ("BUILD", F),
        ("POST_BUILD", S),
        ("UPLOAD_ARTIFACTS", S),
    ]
    assert output_lines(log) == ["during build 1", "post_build 0"]
    (artifact,) = result.artifacts
    assert zip_contents(artifact.path) == {"out.txt": b"built\n"}


def test_on_failure_abort_ends_the_build(sandboxed: Builds) -> None:
    result, log = sandboxed.run(
        "version: 0.2\nphases:\n  build:\n    on-failure: ABORT\n    commands: [false]\n"
        "  post_build:\n    commands: [echo post]\nartifacts:\n  files: ['*']\n"
    )
    assert result.status is F
    assert phases(result)[-1] == ("BUILD", F)
    assert output_lines(log) == []


def test_on_failure_continue_goes_on_and_the_build_fails(sandboxed: Builds) -> None:
    result, log = sandboxed.run(
        "version: 0.2\nphases:\n  install:\n    on-failure: CONTINUE\n    commands: [false]\n"
        "  build:\n    commands: [echo build $CODEBUILD_BUILD_SUCCEEDING]\n"
    )
    assert result.status is F
    assert ("BUILD", S) in phases(result)
    assert output_lines(log) == ["build 0"]


def test_on_failure_retry_runs_the_phase_again(sandboxed: Builds) -> None:
    result, log = sandboxed.run(
        """
version: 0.2
phases:
  build:
    on-failure: RETRY-3
    commands:
      - echo x >> attempts
      - test "$(wc -l < attempts)" -ge 3
"""
    )
    assert result.status is S, log
    build = result.phase("BUILD")
    assert build is not None and build.attempts == 3
    assert (sandboxed.workspace / "attempts").read_text() == "x\nx\nx\n"


def test_retry_with_a_pattern_retries_only_matching_failures(sandboxed: Builds) -> None:
    result, _ = sandboxed.run(
        "version: 0.2\nphases:\n  build:\n    on-failure: RETRY-2-flaky\n"
        "    commands: [echo x >> attempts; echo broken; false]\n"
    )
    assert result.status is F
    assert (sandboxed.workspace / "attempts").read_text() == "x\n"


def test_exit_fails_the_command_and_later_phases_get_a_new_shell(sandboxed: Builds) -> None:
    result, log = sandboxed.run(
        "version: 0.2\nphases:\n  build:\n    commands: [export A=1, exit 4, echo skipped]\n"
        "  post_build:\n    commands: [echo post A=$A]\n"
    )
    assert result.status is F
    build = result.phase("BUILD")
    assert build is not None and "exit status 4" in build.message
    assert output_lines(log) == ["post A="]
    assert "new shell" in log


def test_sh_shell(sandboxed: Builds) -> None:
    result, log = sandboxed.run(
        "version: 0.2\nenv:\n  shell: sh\n  exported-variables: [X]\nphases:\n  build:\n"
        "    commands: ['cd /tmp && X=$(pwd)', 'export X', 'echo $X']\n"
    )
    assert result.status is S, log
    assert output_lines(log) == ["/tmp"]
    assert result.exported_variables == {"X": "/tmp"}


def test_secrets_are_masked_and_cannot_be_missing(builds: Builds) -> None:
    text = """
version: 0.2
env:
  secrets-manager:
    TOKEN: prod/token
    MULTI: prod/multi
phases:
  build:
    commands:
      - echo "token=$TOKEN"; echo "$MULTI"
      - echo 'Running echo s3cr3t-value'
"""
    secret = "s3cr3t-value"
    result, log = builds.run(
        text, secrets={"prod/token": secret, "prod/multi": "line-one\nline-two"}
    )
    assert result.status is S
    assert secret not in log and "line-one" not in log and "line-two" not in log
    assert output_lines(log) == ["token=***", "***", "***", "Running echo ***"]
    result, log = builds.run(text, secrets={"prod/token": secret})
    assert result.status is F
    assert phases(result) == [("PROVISIONING", F)]
    assert "prod/multi" in log


def test_exported_variables(sandboxed: Builds) -> None:
    result, _ = sandboxed.run(
        """
version: 0.2
env:
  variables:
    FROM_SPEC: spec
  exported-variables: [VERSION, MULTILINE, FROM_SPEC, EMPTY, NEVER_SET]
phases:
  build:
    commands:
      - export VERSION=1.2.$CODEBUILD_BUILD_NUMBER
      - MULTILINE="$(printf 'a\\nb é')"
      - EMPTY=
"""
    )
    assert result.status is S
    assert result.exported_variables == {
        "VERSION": "1.2.1",
        "MULTILINE": "a\nb é",
        "FROM_SPEC": "spec",
        "EMPTY": "",
    }


def test_artifacts_globs_base_directory_discard_and_excludes(sandboxed: Builds) -> None:
    result, log = sandboxed.run(
        """
version: 0.2
phases:
  build:
    commands:
      - mkdir -p dist/lib/deep docs/api && cd dist
      - echo app > app.js; echo lib > lib/lib.js; echo deep > lib/deep/d.js
      - echo tmp > lib/x.tmp; echo hidden > .hidden
      - echo doc > ../docs/api/index.md
artifacts:
  name: app-$CODEBUILD_BUILD_NUMBER
  base-directory: dist
  files: ['**/*']
  exclude-paths: ['**/*.tmp', '.hidden']
  secondary-artifacts:
    docs:
      files: [docs/**/*]
      discard-paths: yes
    js:
      base-directory: dist
      files: ['lib/*']
"""
    )
    assert result.status is S, log
    primary, docs, js = result.artifacts
    assert (primary.identifier, primary.name, primary.files) == ("primary", "app-1", 3)
    assert zip_contents(primary.path) == {
        "app.js": b"app\n",
        "lib/lib.js": b"lib\n",
        "lib/deep/d.js": b"deep\n",
    }
    assert docs.path == sandboxed.artifacts / "docs.zip"
    assert zip_contents(docs.path) == {"index.md": b"doc\n"}
    assert set(zip_contents(js.path)) == {"lib/lib.js", "lib/x.tmp"}


def test_no_matching_artifact_fails_the_build(sandboxed: Builds) -> None:
    result, _ = sandboxed.run("version: 0.2\nartifacts:\n  files: [missing/*]\n")
    assert result.status is F
    upload = result.phase("UPLOAD_ARTIFACTS")
    assert upload is not None and "no matching artifact paths" in upload.message


def test_an_artifact_feeds_a_later_action(sandboxed: Builds, tmp_path: Path) -> None:
    result, _ = sandboxed.run(
        "version: 0.2\nphases:\n  build:\n    commands: ['mkdir bin; echo tool > bin/t; "
        "chmod 755 bin/t']\nartifacts:\n  files: [bin/*]\n"
    )
    assert result.status is S
    target = tmp_path / "next"
    assert extract_artifact(sandboxed.artifacts, "primary", target) == 1
    assert (target / "bin" / "t").read_text() == "tool\n"
    assert (target / "bin" / "t").stat().st_mode & 0o777 == 0o755
    for name in ("missing", "../src", ""):
        with pytest.raises(ArtifactNotFound):
            extract_artifact(sandboxed.artifacts, name, target)


def test_cache_paths_are_kept_between_builds(sandboxed: Builds, tmp_path: Path) -> None:
    text = """
version: 0.2
phases:
  build:
    commands:
      - test -f deps/lib.txt && echo cached || (mkdir -p deps && echo lib > deps/lib.txt)
cache:
  paths: ['deps/**/*']
"""
    cache_dir = tmp_path / "cache"
    first, log = sandboxed.run(text, cache_dir=cache_dir)
    assert first.status is S and output_lines(log) == []
    (sandboxed.workspace / "deps" / "lib.txt").unlink()
    second, log = sandboxed.run(text, cache_dir=cache_dir)
    assert second.status is S and output_lines(log) == ["cached"]


def test_junit_reports_are_counted(sandboxed: Builds) -> None:
    junit = (
        "<testsuites><testsuite name='s'>"
        "<testcase name='a'/><testcase name='b'><failure/></testcase>"
        "<testcase name='c'><skipped/></testcase><testcase name='d'><error/></testcase>"
        "</testsuite></testsuites>"
    )
    result, _ = sandboxed.run(
        f"version: 0.2\nphases:\n  build:\n    commands:\n"
        f'      - mkdir reports; echo "{junit}" > reports/unit.xml\n'
        "reports:\n  unit:\n    base-directory: reports\n    files: ['**/*.xml']\n"
    )
    (report,) = result.reports
    assert (report.total, report.passed, report.failed, report.skipped) == (4, 1, 2, 1)


def test_the_output_cap_truncates_the_log(sandboxed: Builds) -> None:
    limits = BuildLimits(total_timeout=30, output_cap=10_000)
    result, log = sandboxed.run(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - seq 1 100000\n"
        "      - echo still running > proof\n",
        limits=limits,
    )
    assert result.status is S and result.log_truncated
    assert "Output truncated" in log
    assert len(log.encode()) < 14_000
    assert (sandboxed.workspace / "proof").exists()


def test_a_phase_timeout_kills_the_build(builds: Builds) -> None:
    limits = BuildLimits(total_timeout=30, phase_timeout=0.5)
    started = time.monotonic()
    result, log = builds.run(
        "version: 0.2\nphases:\n  build:\n    commands: [sleep 30]\n"
        "  post_build:\n    commands: [echo post]\n",
        limits=limits,
    )
    assert time.monotonic() - started < 3
    assert result.status is BuildStatus.TIMED_OUT
    assert phases(result)[-1] == ("BUILD", BuildStatus.TIMED_OUT)
    assert "post" not in output_lines(log)


def test_the_total_timeout(sandboxed: Builds) -> None:
    limits = BuildLimits(total_timeout=0.8)
    started = time.monotonic()
    result, _ = sandboxed.run(
        "version: 0.2\nphases:\n  install:\n    commands: [sleep 0.5]\n"
        "  build:\n    commands: [sleep 30]\n",
        limits=limits,
    )
    assert time.monotonic() - started < 3
    assert result.status is BuildStatus.TIMED_OUT
    assert result.message == "BUILD: the build timed out"


def test_the_log_is_written_as_the_build_runs(builds: Builds) -> None:
    request = builds.request()
    spec = parse_buildspec(
        "version: 0.2\nphases:\n  build:\n    commands: [echo first, sleep 30]\n"
    )

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_build(spec, request, builds.executor, stop=stop))
        for _ in range(100):
            await asyncio.sleep(0.05)
            if request.log_path.exists() and "first\n" in request.log_path.read_text():
                break
        else:
            pytest.fail("the log did not show the first command's output")
        stopped = time.monotonic()
        stop.set()
        result = await task
        assert time.monotonic() - stopped < 1
        assert result.status is BuildStatus.STOPPED

    asyncio.run(scenario())


def test_cancelling_the_task_kills_the_build(sandboxed: Builds) -> None:
    request = sandboxed.request()
    spec = parse_buildspec(
        "version: 0.2\nphases:\n  build:\n    commands: ['echo started; sleep 30']\n"
    )

    async def scenario() -> None:
        task = asyncio.create_task(run_build(spec, request, sandboxed.executor))
        for _ in range(100):
            await asyncio.sleep(0.05)
            if request.log_path.exists() and "started" in request.log_path.read_text():
                break
        cancelled = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - cancelled < 1

    asyncio.run(scenario())


def test_export_commit_writes_the_exact_tree(tmp_path: Path) -> None:
    work = tmp_path / "work"
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True, env=env)
    (work / "dir").mkdir()
    (work / "dir" / "buildspec.yml").write_text("version: 0.2\n")
    (work / "run.sh").write_text("echo hi\n")
    (work / "run.sh").chmod(0o755)
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "-C", str(work), "add", "."], check=True, env=env)
    subprocess.run(["git", "-C", str(work), *ident, "commit", "-qm", "one"], check=True, env=env)
    commit = (
        subprocess.run(
            ["git", "-C", str(work), "rev-parse", "HEAD"], check=True, env=env, capture_output=True
        )
        .stdout.decode()
        .strip()
    )
    (work / "run.sh").write_text("changed later\n")
    subprocess.run(["git", "-C", str(work), *ident, "commit", "-qam", "two"], check=True, env=env)
    workspace = tmp_path / "ws"
    asyncio.run(export_commit(Git(tmp_path / "home"), work / ".git", commit, workspace))
    assert (workspace / "run.sh").read_text() == "echo hi\n"
    assert (workspace / "run.sh").stat().st_mode & 0o111
    assert (workspace / "dir" / "buildspec.yml").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tar")) == []
