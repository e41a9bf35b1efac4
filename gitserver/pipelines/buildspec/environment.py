"""The build's environment: system values, the buildspec's, the caller's, CODEBUILD_*.

Precedence, lowest first: the buildspec's `env.variables`, the caller's overrides
(CodeBuild's start-build and project variables), the secrets, then the CODEBUILD_*
values, which nobody may override. Every value is passed as is in the process
environment: `PATH: $PATH:/x` is literally that text, as CodeBuild documents.
"""

from __future__ import annotations

from datetime import datetime

from gitserver.pipelines.buildspec.request import BuildRequest
from gitserver.pipelines.buildspec.sandbox import SEARCH_PATH, Launch
from gitserver.pipelines.buildspec.spec import Buildspec


def missing_secrets(spec: Buildspec, request: BuildRequest) -> list[str]:
    """The secret references the caller did not resolve."""
    return [ref for ref in spec.secret_references() if ref not in request.secrets]


def secret_values(spec: Buildspec, request: BuildRequest) -> dict[str, str]:
    """The secret variables: name -> value (references the caller resolved)."""
    return {name: request.secrets[ref] for name, ref in spec.env.secrets if ref in request.secrets}


def codebuild_variables(request: BuildRequest, launch: Launch, started: datetime) -> dict[str, str]:
    """The CODEBUILD_* variables a buildspec reads (CODEBUILD_BUILD_SUCCEEDING starts at 1).

    https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html
    """
    webhook = request.webhook
    values = {
        "CODEBUILD_BUILD_ID": request.build_id,
        "CODEBUILD_BUILD_NUMBER": str(request.build_number),
        "CODEBUILD_BUILD_ARN": request.build_arn,
        "CODEBUILD_BUILD_IMAGE": "gitserver/host",
        "CODEBUILD_BUILD_SUCCEEDING": "1",
        "CODEBUILD_INITIATOR": request.initiator,
        "CODEBUILD_LOG_PATH": request.build_id,
        "CODEBUILD_PROJECT_ARN": request.project_arn,
        "CODEBUILD_RESOLVED_SOURCE_VERSION": request.source.resolved_version,
        "CODEBUILD_SOURCE_VERSION": request.source.source_version
        or request.source.resolved_version,
        "CODEBUILD_SOURCE_REPO_URL": request.source.repo_url,
        "CODEBUILD_SRC_DIR": launch.src_dir,
        "CODEBUILD_START_TIME": str(int(started.timestamp() * 1000)),
        "CODEBUILD_CI": "true",
    }
    if webhook is not None:
        values |= {
            "CODEBUILD_WEBHOOK_EVENT": webhook.event,
            "CODEBUILD_WEBHOOK_HEAD_REF": webhook.head_ref,
            "CODEBUILD_WEBHOOK_BASE_REF": webhook.base_ref,
            "CODEBUILD_WEBHOOK_TRIGGER": webhook.trigger,
            "CODEBUILD_WEBHOOK_ACTOR_ACCOUNT_ID": webhook.actor_account_id,
            "CODEBUILD_WEBHOOK_MERGE_COMMIT": webhook.merge_commit,
            "CODEBUILD_WEBHOOK_PREV_COMMIT": webhook.prev_commit,
        }
    return values


def build_environment(
    spec: Buildspec, request: BuildRequest, launch: Launch, started: datetime
) -> dict[str, str]:
    """The complete environment of the build's shell; nothing is inherited from the server."""
    env = {
        "PATH": SEARCH_PATH,
        "HOME": launch.home,
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",  # noqa: S108 - inside the build: its own tmpfs
        "AWS_DEFAULT_REGION": request.region,
        "AWS_REGION": request.region,
    }
    env |= dict(spec.env.variables)
    env |= {k: v for k, v in request.environment.items() if not k.startswith("CODEBUILD_")}
    env |= secret_values(spec, request)
    env |= codebuild_variables(request, launch, started)
    return env
