"""Buildspec 0.2 parsing: every section, and errors that name the YAML path and line."""

from __future__ import annotations

import pytest

from gitserver.errors import InvalidInput
from gitserver.pipelines.buildspec import (
    FailureAction,
    InvalidBuildspec,
    OnFailure,
    PhaseName,
    parse_buildspec,
)

FULL = """\
version: 0.2
run-as: root
env:
  shell: sh
  variables:
    PATH: $PATH:/opt/bin
    DEBUG: yes
    COUNT: 3
  parameter-store:
    DB_USER: /prod/db/user
  secrets-manager:
    DB_PASS: prod/db:password
  exported-variables:
    - VERSION
  git-credential-helper: yes
phases:
  install:
    runtime-versions:
      python: 3.11
    commands:
      - pip install -r requirements.txt
  pre_build:
    on-failure: CONTINUE
    commands: echo one
  build:
    on-failure: RETRY-2
    commands:
      - true
      - |
        make
        make check
    finally:
      - echo done
  post_build:
    commands:
artifacts:
  files:
    - '**/*'
  name: build-$(date +%F)
  base-directory: dist
  discard-paths: yes
  exclude-paths: ['**/*.tmp']
  secondary-artifacts:
    docs:
      files: [docs/**/*]
      discard-paths: no
cache:
  paths:
    - node_modules/**/*
reports:
  unit:
    files: ['**/*.xml']
    base-directory: reports
    file-format: JUNITXML
"""


def test_every_section_parses() -> None:
    spec = parse_buildspec(FULL)
    assert spec.version == "0.2"
    assert spec.run_as == "root"
    assert spec.env.shell == "sh"
    assert dict(spec.env.variables) == {"PATH": "$PATH:/opt/bin", "DEBUG": "yes", "COUNT": "3"}
    assert dict(spec.env.secrets) == {"DB_USER": "/prod/db/user", "DB_PASS": "prod/db:password"}
    assert spec.secret_references() == ("/prod/db/user", "prod/db:password")
    assert spec.env.exported_variables == ("VERSION",)
    assert [p.name for p in spec.phases] == list(PhaseName)
    build = spec.phase(PhaseName.BUILD)
    assert build is not None
    assert build.commands == ("true", "make\nmake check\n")
    assert build.finally_commands == ("echo done",)
    assert build.on_failure == OnFailure(FailureAction.RETRY, 2)
    pre_build = spec.phase(PhaseName.PRE_BUILD)
    assert pre_build is not None and pre_build.commands == ("echo one",)
    assert pre_build.on_failure == OnFailure(FailureAction.CONTINUE)
    post_build = spec.phase(PhaseName.POST_BUILD)
    assert post_build is not None and post_build.commands == ()
    assert spec.artifacts is not None
    assert spec.artifacts.files == ("**/*",)
    assert spec.artifacts.name == "build-$(date +%F)"
    assert spec.artifacts.base_directory == "dist"
    assert spec.artifacts.discard_paths is True
    assert spec.artifacts.exclude_paths == ("**/*.tmp",)
    (docs,) = spec.secondary_artifacts
    assert (docs.identifier, docs.files, docs.discard_paths) == ("docs", ("docs/**/*",), False)
    assert spec.cache is not None and spec.cache.paths == ("node_modules/**/*",)
    (unit,) = spec.reports
    assert (unit.name, unit.files, unit.base_directory) == ("unit", ("**/*.xml",), "reports")


def test_defaults() -> None:
    spec = parse_buildspec("version: 0.2\nphases:\n  build:\n    commands: [make]\n")
    assert spec.env.shell == "bash"
    assert spec.artifacts is None and spec.cache is None and spec.reports == ()
    assert spec.phase(PhaseName.INSTALL) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("ABORT", OnFailure(FailureAction.ABORT), id="abort"),
        pytest.param("CONTINUE", OnFailure(FailureAction.CONTINUE), id="continue"),
        pytest.param("RETRY", OnFailure(FailureAction.RETRY, 3), id="retry-3"),
        pytest.param("RETRY-0", OnFailure(FailureAction.RETRY, 0), id="retry-0"),
        pytest.param("RETRY-100", OnFailure(FailureAction.RETRY, 100), id="retry-100"),
        pytest.param(
            "RETRY-flaky.*", OnFailure(FailureAction.RETRY, 3, "flaky.*"), id="retry-regex"
        ),
        pytest.param(
            "RETRY-2-Timeout", OnFailure(FailureAction.RETRY, 2, "Timeout"), id="retry-n-regex"
        ),
    ],
)
def test_on_failure(value: str, expected: OnFailure) -> None:
    spec = parse_buildspec(
        f"version: 0.2\nphases:\n  build:\n    on-failure: {value}\n    commands: [x]\n"
    )
    build = spec.phase(PhaseName.BUILD)
    assert build is not None and build.on_failure == expected


@pytest.mark.parametrize(
    ("text", "path", "line", "reason"),
    [
        pytest.param("phases: {}\n", "buildspec", 1, "version is required", id="no-version"),
        pytest.param("version: 0.1\n", "version", 1, "not supported", id="version-0.1"),
        pytest.param("version: 0.2\nphase: {}\n", "phase", 2, "unknown key", id="typo"),
        pytest.param(
            "version: 0.2\nphases:\n  compile:\n    commands: [x]\n",
            "phases.compile",
            3,
            "unknown key",
            id="unknown-phase",
        ),
        pytest.param(
            "version: 0.2\nphases:\n  build:\n    commands:\n      - make\n      - ''\n",
            "phases.build.commands[1]",
            6,
            "cannot be empty",
            id="empty-command",
        ),
        pytest.param(
            "version: 0.2\nphases:\n  build:\n    on-failure: RETRY-101\n",
            "phases.build.on-failure",
            4,
            "at most 100",
            id="retry-101",
        ),
        pytest.param(
            "version: 0.2\nphases:\n  build:\n    on-failure: IGNORE\n",
            "phases.build.on-failure",
            4,
            "must be ABORT",
            id="on-failure",
        ),
        pytest.param(
            "version: 0.2\nenv:\n  shell: zsh\n", "env.shell", 3, "bash or sh", id="shell"
        ),
        pytest.param(
            "version: 0.2\nenv:\n  variables:\n    CODEBUILD_X: y\n",
            "env.variables.CODEBUILD_X",
            4,
            "reserved",
            id="reserved-prefix",
        ),
        pytest.param(
            "version: 0.2\nenv:\n  variables:\n    A-B: y\n",
            "env.variables.A-B",
            4,
            "not a valid",
            id="variable-name",
        ),
        pytest.param(
            "version: 0.2\nenv:\n  secrets-manager:\n    TOKEN: t\n"
            "  exported-variables:\n    - TOKEN\n",
            "env.exported-variables[0]",
            6,
            "secret cannot be exported",
            id="secret-exported",
        ),
        pytest.param(
            "version: 0.2\nartifacts:\n  name: x\n",
            "artifacts",
            3,
            "files is required",
            id="artifact-files",
        ),
        pytest.param(
            "version: 0.2\nartifacts:\n  files: ['*']\n  base-directory: ../up\n",
            "artifacts.base-directory",
            4,
            "inside the source",
            id="base-directory-escapes",
        ),
        pytest.param(
            "version: 0.2\nartifacts:\n  files: ['*']\n  discard-paths: maybe\n",
            "artifacts.discard-paths",
            4,
            "yes or no",
            id="discard-paths",
        ),
        pytest.param(
            "version: 0.2\ncache:\n  key: k\n", "cache", 3, "paths is required", id="cache"
        ),
        pytest.param(
            "version: 0.2\nreports:\n  unit:\n    files: [a]\n    file-format: XML\n",
            "reports.unit.file-format",
            5,
            "unknown format",
            id="report-format",
        ),
        pytest.param(
            "version: 0.2\nphases:\n  build:\n    commands: [x]\n  build:\n    commands: [y]\n",
            "phases.build",
            5,
            "duplicate key",
            id="duplicate",
        ),
        pytest.param("version: 0.2\nphases: [\n", "buildspec", 3, "not valid YAML", id="yaml"),
        pytest.param("", "buildspec", 0, "empty", id="empty"),
        pytest.param("- a\n", "buildspec", 1, "must be a mapping", id="not-a-mapping"),
    ],
)
def test_errors_name_the_path_and_line(text: str, path: str, line: int, reason: str) -> None:
    with pytest.raises(InvalidBuildspec) as caught:
        parse_buildspec(text)
    error = caught.value
    assert isinstance(error, InvalidInput)
    assert (error.path or "buildspec", error.line) == (path, line), str(error)
    assert reason in str(error)
    assert str(error).startswith(path)


def test_python_tags_are_never_constructed() -> None:
    text = "version: 0.2\nenv:\n  variables:\n    X: !!python/object/apply:os.system [id]\n"
    with pytest.raises(InvalidBuildspec, match=r"env.variables.X \(line 4\): must be a string"):
        parse_buildspec(text)
