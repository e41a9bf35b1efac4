"""The error hierarchy holds: every domain error class is in exactly one category, every
front end's table maps every category, and no condition has two classes (twins)."""

from __future__ import annotations

import importlib
import pkgutil
from collections import Counter
from pathlib import Path

import pytest

from auth import errors as auth_errors
from gitserver import errors as category
from gitserver.api.errors import AWS_TYPE, to_api_error
from gitserver.cli.main import CLI_EXIT, _shown
from gitserver.content import errors as content_errors
from gitserver.pipelines import errors as pipeline_errors
from gitserver.pipelines.buildspec import errors as buildspec_errors
from gitserver.pipelines.definitions import errors as definition_errors
from gitserver.pipelines.statuses import errors as status_errors
from gitserver.protection import errors as protection_errors
from gitserver.pulls import errors as pull_errors
from gitserver.store import errors as store_errors
from gitserver.transport.http import HTTP_STATUS, _refusal
from gitserver.transport.sshcommand import SSH_EXIT, Refused
from triggers import errors as trigger_errors

PACKAGES = ("gitserver", "auth", "triggers")
# Scripts and migrations run when imported; nothing in them defines an error class.
_NOT_IMPORTED = ("gitserver.__main__", "gitserver.db.migrations", "gitserver.transport.hookclient")

PACKAGE_BASES = {
    auth_errors.AuthError,
    store_errors.StoreError,
    store_errors.TagError,
    content_errors.ContentError,
    trigger_errors.TriggerError,
    pull_errors.PullRequestError,
    definition_errors.DefinitionError,
    buildspec_errors.BuildspecError,
    status_errors.CommitStatusError,
    pipeline_errors.PipelineError,
    protection_errors.ProtectionError,
}
"""Never raised themselves, so in no category; their subclasses each pick one."""

NOT_DOMAIN = {
    # Protocol and edge errors: each is rendered by the one front end that raises it.
    "gitserver.api.errors.ApiError",
    "auth.sigv4.SignatureError",
    "gitserver.transport.sshcommand.Refused",
    "gitserver.transport.httpbody.BadBody",
    "gitserver.transport.pktline.ProtocolError",
    "gitserver.transport.relay.SessionTimeout",
    "gitserver.transport.limits.Busy",
    "gitserver.cli.output.CommandError",
    # Operator and process errors: start-up, configuration, the git binary (logged, 500).
    "gitserver.config.ConfigError",
    "gitserver.datadir.DataDirError",
    "gitserver.app.ListenError",
    "gitserver.backup.errors.BackupError",
    "gitserver.gitcmd.GitError",
    "gitserver.gitcmd.UnsafeArgument",
    "gitserver.pipelines.buildspec.errors.SandboxUnavailable",
    # The build runner's control flow: a shell that ended, a deadline or a stop.
    "gitserver.pipelines.buildspec.session.ShellExited",
    "gitserver.pipelines.buildspec.shellrun.Interrupted",
    # A build that cannot start: its message becomes the action's failure summary.
    "gitserver.pipelines.actions.build.Refused",
    # The pack-objects cache's control flow between git's hook client and the server: a
    # failed shared run, no room for a new entry (served uncached), a refused request.
    "gitserver.transport.packcache.PackFailed",
    "gitserver.transport.packcache.CacheUnavailable",
    "gitserver.transport.packobjects.RequestError",
    # The push settle's one-unit path handing over to the one that may run git.
    "gitserver.store.pushes._NeedsGit",
    # The response cache's run that git refused (its answer is passed on, not kept).
    "gitserver.transport.responses.GitExited",
    # Pure rule modules, turned into domain errors where a service calls them.
    "gitserver.tags.TagRuleError",
    "auth.policy.errors.PolicyError",
    "auth.policy.errors.MalformedPolicyDocument",
    "auth.policy.errors.PolicySizeExceeded",
    "auth.policy.validation.DuplicateKey",
    "auth.policy.variables.TemplateSyntaxError",
}
"""Exceptions of our packages that are not domain errors, each on purpose."""


# Services that are one module with one error: the category is their whole hierarchy.
SINGLE_MODULE_SERVICES = {"gitserver.access"}


def _import_all() -> None:
    for package in PACKAGES:
        root = Path(importlib.import_module(package).__file__ or "").parent
        for module in pkgutil.walk_packages([str(root)], prefix=f"{package}."):
            if not module.name.startswith(_NOT_IMPORTED):
                importlib.import_module(module.name)


def _subclasses(cls: type[BaseException]) -> set[type[BaseException]]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def _ours(cls: type) -> bool:
    return cls.__module__.split(".")[0] in PACKAGES


_import_all()
DOMAIN = sorted(
    (
        c
        for c in _subclasses(category.DomainError)
        if _ours(c) and c not in category.CATEGORIES and c not in PACKAGE_BASES
    ),
    key=lambda c: f"{c.__module__}.{c.__qualname__}",
)


def test_the_walk_finds_every_package() -> None:
    modules = {c.__module__ for c in DOMAIN}
    assert {
        "auth.errors",
        "gitserver.store.errors",
        "gitserver.content.errors",
        "triggers.errors",
    } <= modules
    assert len(DOMAIN) > 60


@pytest.mark.parametrize("cls", DOMAIN, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_domain_error_is_in_exactly_one_category(cls: type[category.DomainError]) -> None:
    found = [c.__name__ for c in category.CATEGORIES if issubclass(cls, c)]
    assert len(found) == 1, (cls, found)
    assert category.category_of(cls).__name__ == found[0]
    assert any(issubclass(cls, base) for base in PACKAGE_BASES) or (
        cls.__module__ in SINGLE_MODULE_SERVICES
    ), "inherit its package's base"


def test_package_bases_are_in_no_category() -> None:
    for base in PACKAGE_BASES:
        assert not any(issubclass(base, c) for c in category.CATEGORIES), base


def test_every_exception_of_ours_is_a_domain_error_or_meant_not_to_be() -> None:
    others = {
        f"{c.__module__}.{c.__qualname__}"
        for c in _subclasses(Exception)
        if _ours(c) and not issubclass(c, category.DomainError)
    }
    assert others == NOT_DOMAIN


@pytest.mark.parametrize(
    "table",
    [
        pytest.param(HTTP_STATUS, id="http"),
        pytest.param(SSH_EXIT, id="ssh"),
        pytest.param(AWS_TYPE, id="api"),
        pytest.param(CLI_EXIT, id="cli"),
    ],
)
def test_every_front_end_maps_every_category(
    table: dict[type[category.DomainError], object],
) -> None:
    assert set(table) == set(category.CATEGORIES)


def test_no_condition_has_two_classes() -> None:
    """One class per AWS name: a second would be a twin that catchers miss.
    ObjectsRefused is InvalidPathException on purpose, with git's fsck ids attached."""
    names = Counter(c.aws_type for c in DOMAIN if "aws_type" in vars(c) and c.aws_type)
    names["InvalidPathException"] -= 1
    assert [name for name, count in names.items() if count > 1] == []
    for twin in ("CommitNotFound", "BranchNotFound", "InvalidCommitId"):
        assert not hasattr(content_errors, twin), twin


def _aws(error: Exception) -> tuple[str, int] | None:
    api = to_api_error(error)
    return None if api is None else (api.aws_type, api.status)


def test_the_api_uses_the_instance_then_the_class_then_the_category() -> None:
    get_commit = store_errors.CommitNotFound("x", aws_type="CommitIdDoesNotExistException")
    assert _aws(get_commit) == ("CommitIdDoesNotExistException", 400)
    assert _aws(store_errors.CommitNotFound("x")) == ("CommitDoesNotExistException", 400)
    assert _aws(auth_errors.NotFound("user u does not exist")) == (
        "ResourceNotFoundException",
        400,
    )
    assert _aws(category.AccessDenied("User: u is not authorized")) == (
        "AccessDeniedException",
        400,
    )
    assert _aws(ValueError("a bug")) is None


@pytest.mark.parametrize(
    ("error", "status"),
    [
        pytest.param(store_errors.RepositoryNotFound("repository r does not exist"), 404, id="404"),
        pytest.param(store_errors.InvalidRepositoryName("bad name"), 400, id="400"),
        pytest.param(category.AccessDenied("User: u is not authorized"), 403, id="403"),
        pytest.param(auth_errors.AuthenticationFailed("invalid credentials"), 401, id="401"),
        pytest.param(store_errors.RefMoved("moved"), 409, id="409"),
        pytest.param(store_errors.TooManyTagsException("51 tags"), 400, id="limit-400"),
    ],
)
def test_http_renders_status_and_one_line(error: category.DomainError, status: int) -> None:
    answer = _refusal(error)
    assert answer.status == status
    assert answer.text == f"gitserver: {error}\n"


def test_ssh_renders_one_line_and_exit_1() -> None:
    refused = Refused.of(category.AccessDenied("User: u is not authorized"))
    assert (refused.message, refused.status) == ("gitserver: User: u is not authorized", 1)


def test_cli_says_where_it_looked_for_what_is_not_found() -> None:
    where = "in /data (use --data ...)"
    assert _shown(store_errors.RepositoryNotFound("r does not exist"), where) == (
        f"repository r does not exist {where}"
    )
    assert _shown(auth_errors.NotFound("user u does not exist"), where) == (
        f"user u does not exist {where}"
    )
    assert _shown(auth_errors.AlreadyExists("user u exists"), where) == "user u exists"
